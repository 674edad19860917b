"""LLDP-MIB (IEEE 802.1AB) lldpRemTable + lldpLocPortTable (+ lldpRemManAddrTable) → Neighbor.

lldpRemTable is indexed (lldpRemTimeMark, lldpRemLocalPortNum, lldpRemIndex). The local port number is
not always an ifIndex: it is matched to an interface by the local port's id/description (ifName, ifDescr)
first, then taken as an ifIndex when one exists with that number.
"""

from __future__ import annotations

from canhgac_agent.snmp.modules.base import (
    Module,
    Session,
    as_text,
    ip_from_index,
    printable_or_mac,
)
from canhgac_agent.snmp.results import DevicePoll, Neighbor
from canhgac_agent.snmp.types import OID

LLDP = (1, 0, 8802, 1, 1, 2, 1)
LOC_PORT_ENTRY: OID = (*LLDP, 3, 7, 1)  # lldpLocPortTable
REM_ENTRY: OID = (*LLDP, 4, 1, 1)  # lldpRemTable
REM_MAN_ADDR_ENTRY: OID = (*LLDP, 4, 2, 1)  # lldpRemManAddrTable

LOC_PORT_ID = (*LOC_PORT_ENTRY, 3)
LOC_PORT_DESC = (*LOC_PORT_ENTRY, 4)
REM_CHASSIS_ID = (*REM_ENTRY, 5)
REM_PORT_ID = (*REM_ENTRY, 7)
REM_PORT_DESC = (*REM_ENTRY, 8)
REM_SYS_NAME = (*REM_ENTRY, 9)
REM_SYS_DESC = (*REM_ENTRY, 10)
REM_MAN_ADDR_IF_SUBTYPE = (*REM_MAN_ADDR_ENTRY, 3)
ADDR_IPV4, ADDR_IPV6 = 1, 2


def local_port_map(
    poll: DevicePoll, ids: dict[int, str | None], descs: dict[int, str | None]
) -> dict[int, int]:
    """lldpLocPortNum → ifIndex, using the interfaces already in the poll."""
    by_name: dict[str, int] = {}
    for sample in poll.interfaces:
        for name in (sample.ifDescr, sample.ifName):  # ifName wins over ifDescr on a clash
            if name:
                by_name[name] = sample.ifIndex
    known = {s.ifIndex for s in poll.interfaces}
    out: dict[int, int] = {}
    for num in set(ids) | set(descs):
        for label in (ids.get(num), descs.get(num)):
            if label and label in by_name:
                out[num] = by_name[label]
                break
        else:
            if num in known:
                out[num] = num
    return out


async def collect(session: Session, poll: DevicePoll) -> None:
    rem = await session.columns([REM_CHASSIS_ID, REM_PORT_ID, REM_PORT_DESC, REM_SYS_NAME, REM_SYS_DESC])
    if not any(rem.values()):
        poll.neighbors = [n for n in poll.neighbors if n.protocol != "lldp"]
        return
    loc = await session.columns([LOC_PORT_ID, LOC_PORT_DESC])
    ids = {i[0]: printable_or_mac(v) for i, v in loc[LOC_PORT_ID].items() if len(i) == 1}
    descs = {i[0]: as_text(v) for i, v in loc[LOC_PORT_DESC].items() if len(i) == 1}
    port_map = local_port_map(poll, ids, descs)
    addresses: dict[OID, str] = {}
    for index in (await session.columns([REM_MAN_ADDR_IF_SUBTYPE]))[REM_MAN_ADDR_IF_SUBTYPE]:
        # (timemark, localport, remindex, addrSubtype, addrLen, addr…)
        if len(index) >= 5 and index[3] in (ADDR_IPV4, ADDR_IPV6):
            address = ip_from_index(index[5 : 5 + index[4]])
            if address is not None:
                addresses.setdefault(index[:3], address)
    rows: set[OID] = set()
    for column in rem.values():
        rows.update(i for i in column if len(i) == 3)
    neighbors: list[Neighbor] = []
    for row in sorted(rows, key=lambda r: (r[1], r[2], r[0])):
        local_num = row[1]
        port_desc = as_text(rem[REM_PORT_DESC].get(row))
        neighbors.append(
            Neighbor(
                protocol="lldp",
                local_ifIndex=port_map.get(local_num),
                local_port=_port_name(poll, port_map.get(local_num))
                or ids.get(local_num)
                or descs.get(local_num)
                or str(local_num),
                remote_name=as_text(rem[REM_SYS_NAME].get(row)),
                remote_port=printable_or_mac(rem[REM_PORT_ID].get(row)) or port_desc,
                remote_chassis_id=printable_or_mac(rem[REM_CHASSIS_ID].get(row)),
                remote_address=addresses.get(row),
                remote_description=as_text(rem[REM_SYS_DESC].get(row)),
            )
        )
    poll.neighbors = [n for n in poll.neighbors if n.protocol != "lldp"] + neighbors


def _port_name(poll: DevicePoll, if_index: int | None) -> str | None:
    if if_index is None:
        return None
    sample = next((s for s in poll.interfaces if s.ifIndex == if_index), None)
    return None if sample is None else sample.ifName or sample.ifDescr


PLUGIN = Module("lldp", collect)
