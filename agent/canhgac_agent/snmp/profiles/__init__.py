"""Device health by vendor: YAML profiles (data/) naming the MIB columns of CPU, memory, temperatures,
fans and power supplies; the loader/checker, the matcher and the evaluator the SNMP poller runs."""
