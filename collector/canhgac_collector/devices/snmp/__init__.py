"""SNMP input: a lean BER codec and asyncio client for the hot path, MIB modules, and the poller."""
