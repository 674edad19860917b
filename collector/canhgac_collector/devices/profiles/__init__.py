"""`canhgac profiles check`: the operator's command over the vendor profiles, which live with the shared
SNMP code in `canhgac_agent.snmp.profiles` (the agent's edge poller runs them too)."""
