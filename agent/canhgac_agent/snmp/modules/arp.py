"""IP-MIB ARP/neighbour tables → ArpEntry: ipNetToMediaTable (IPv4), plus ipNetToPhysicalTable if present.

ipNetToMediaTable is indexed (ifIndex, a.b.c.d); ipNetToPhysicalTable (ifIndex, addrType, len, addr…).
Invalid entries (type 2) are dropped; an address seen in both tables is reported once.
"""

from __future__ import annotations

import ipaddress

from canhgac_agent.snmp.modules.base import Module, Session, as_mac, ip_from_index
from canhgac_agent.snmp.results import ArpEntry, DevicePoll
from canhgac_agent.snmp.types import OID

MEDIA_ENTRY: OID = (1, 3, 6, 1, 2, 1, 4, 22, 1)
MEDIA_PHYS = (*MEDIA_ENTRY, 2)
MEDIA_TYPE = (*MEDIA_ENTRY, 4)
PHYS_ENTRY: OID = (1, 3, 6, 1, 2, 1, 4, 35, 1)
PHYS_PHYS = (*PHYS_ENTRY, 4)
PHYS_TYPE = (*PHYS_ENTRY, 6)
INVALID = 2


async def collect(session: Session, poll: DevicePoll) -> None:
    found: dict[tuple[str, int], ArpEntry] = {}
    media = await session.columns([MEDIA_PHYS, MEDIA_TYPE])
    for index, phys in media[MEDIA_PHYS].items():
        ip, mac = ip_from_index(index[1:]), as_mac(phys)
        if ip is None or mac is None or media[MEDIA_TYPE].get(index) == INVALID:
            continue
        found[(ip, index[0])] = ArpEntry(ip=ip, mac=mac, ifIndex=index[0])
    phys_table = await session.columns([PHYS_PHYS, PHYS_TYPE])
    for index, phys in phys_table[PHYS_PHYS].items():
        if len(index) < 3 or index[2] != len(index) - 3:
            continue
        ip, mac = ip_from_index(index[3:]), as_mac(phys)
        if ip is None or mac is None or phys_table[PHYS_TYPE].get(index) == INVALID:
            continue
        found.setdefault((ip, index[0]), ArpEntry(ip=ip, mac=mac, ifIndex=index[0]))
    poll.arp = sorted(found.values(), key=_order)


def _order(entry: ArpEntry) -> tuple[int, int, int]:
    address = ipaddress.ip_address(entry.ip)
    return (entry.ifIndex or 0, address.version, int(address))


PLUGIN = Module("arp", collect)
