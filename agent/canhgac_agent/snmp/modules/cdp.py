"""CISCO-CDP-MIB cdpCacheTable → Neighbor. Indexed (cdpCacheIfIndex, cdpCacheDeviceIndex)."""

from __future__ import annotations

from canhgac_agent.snmp.modules.base import Module, Session, as_text, ip_from_bytes
from canhgac_agent.snmp.results import DevicePoll, Neighbor
from canhgac_agent.snmp.types import OID

CACHE_ENTRY: OID = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)
ADDRESS_TYPE = (*CACHE_ENTRY, 3)  # 1 = ip
ADDRESS = (*CACHE_ENTRY, 4)
VERSION = (*CACHE_ENTRY, 5)
DEVICE_ID = (*CACHE_ENTRY, 6)
DEVICE_PORT = (*CACHE_ENTRY, 7)
PLATFORM = (*CACHE_ENTRY, 8)


async def collect(session: Session, poll: DevicePoll) -> None:
    table = await session.columns([ADDRESS_TYPE, ADDRESS, VERSION, DEVICE_ID, DEVICE_PORT, PLATFORM])
    names = {s.ifIndex: s.ifName or s.ifDescr for s in poll.interfaces}
    rows: set[OID] = set()
    for column in table.values():
        rows.update(i for i in column if len(i) == 2)
    neighbors: list[Neighbor] = []
    for row in sorted(rows):
        if_index = row[0]
        address = (
            ip_from_bytes(table[ADDRESS].get(row)) if table[ADDRESS_TYPE].get(row) in (1, None) else None
        )
        platform = as_text(table[PLATFORM].get(row))
        version = (as_text(table[VERSION].get(row)) or "").splitlines()[0:1]  # first line: the release
        neighbors.append(
            Neighbor(
                protocol="cdp",
                local_ifIndex=if_index,
                local_port=names.get(if_index),
                remote_name=as_text(table[DEVICE_ID].get(row)),
                remote_port=as_text(table[DEVICE_PORT].get(row)),
                remote_chassis_id=None,
                remote_address=address,
                remote_description=" — ".join(p for p in (platform, *version) if p) or None,
            )
        )
    poll.neighbors = [n for n in poll.neighbors if n.protocol != "cdp"] + neighbors


PLUGIN = Module("cdp", collect)
