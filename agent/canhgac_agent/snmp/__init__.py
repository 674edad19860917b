"""SNMP polling shared by the server and the agent's edge poller: a lean BER codec, USM, an asyncio client,
the MIB modules and the poller. Standard library only, so a commune PC's base install can poll v1/v2c and
v3 with authentication; v3 privacy (`cryptography`) and the vendor profiles (`pydantic`, `pyyaml`) come
with the `edge` extra and are imported only when used."""
