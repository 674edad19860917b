"""Server-side SNMP polling: the scheduler and service that poll the inventory's devices with the shared
codec and modules (`canhgac_agent.snmp`), and the one-shot `canhgac poll` command."""
