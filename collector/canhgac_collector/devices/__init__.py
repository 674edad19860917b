"""Switches and routers: SNMP polling (`snmp/`), what is stored of them (`store.py`: interfaces, LLDP/CDP
neighbours, FDB/ARP sightings, poll state) and the queries the API's device, topology and locate views use."""
