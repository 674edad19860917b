"""Inputs: what the collector pulls from the network (SNMP now; SSH configs and LAN guard later)."""
