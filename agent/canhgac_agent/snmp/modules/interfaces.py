"""IF-MIB ifTable + ifXTable → InterfaceSample, 64-bit (HC) counters preferred.

The first walk takes ifXTable and the ifTable columns HC counters do not replace; the 32-bit octet and
unicast counters are walked only when some interface lacks its HC twin (old or minimal agents).
"""

from __future__ import annotations

from canhgac_agent.snmp.modules.base import Module, Session, as_int, as_mac, as_text
from canhgac_agent.snmp.results import DevicePoll, InterfaceSample
from canhgac_agent.snmp.types import OID, Value

IF_ENTRY: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY: OID = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)

IF_COLUMNS: dict[str, int] = {
    "ifDescr": 2,
    "ifType": 3,
    "ifMtu": 4,
    "ifSpeed": 5,
    "ifPhysAddress": 6,
    "ifAdminStatus": 7,
    "ifOperStatus": 8,
    "ifLastChange": 9,
    "ifInDiscards": 13,
    "ifInErrors": 14,
    "ifInUnknownProtos": 15,
    "ifOutDiscards": 19,
    "ifOutErrors": 20,
}
IF_COUNTERS_32: dict[str, int] = {
    "ifInOctets": 10,
    "ifInUcastPkts": 11,
    "ifOutOctets": 16,
    "ifOutUcastPkts": 17,
}
IFX_COLUMNS: dict[str, int] = {
    "ifName": 1,
    "ifInMulticastPkts": 2,
    "ifInBroadcastPkts": 3,
    "ifOutMulticastPkts": 4,
    "ifOutBroadcastPkts": 5,
    "ifHCInOctets": 6,
    "ifHCInUcastPkts": 7,
    "ifHCInMulticastPkts": 8,
    "ifHCInBroadcastPkts": 9,
    "ifHCOutOctets": 10,
    "ifHCOutUcastPkts": 11,
    "ifHCOutMulticastPkts": 12,
    "ifHCOutBroadcastPkts": 13,
    "ifHighSpeed": 15,
    "ifAlias": 18,
    "ifCounterDiscontinuityTime": 19,
}
COUNTER_NAMES = frozenset(
    {"ifInDiscards", "ifInErrors", "ifInUnknownProtos", "ifOutDiscards", "ifOutErrors"}
    | set(IF_COUNTERS_32)
    | {n for n in IFX_COLUMNS if n.endswith("Pkts") or n.endswith("Octets")}
)
# The HC counter that supersedes each 32-bit one.
HC_TWIN = {
    "ifInOctets": "ifHCInOctets",
    "ifInUcastPkts": "ifHCInUcastPkts",
    "ifOutOctets": "ifHCOutOctets",
    "ifOutUcastPkts": "ifHCOutUcastPkts",
}
ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}


TIMETICKS_WRAP = 1 << 32


def last_change_time(polled_at: float, sys_uptime: int | None, if_last_change: int | None) -> float | None:
    """ifLastChange (sysUpTime at the port's last state change) as unix time: poll time less the
    ticks since. 0 means "before the agent's last restart": the boot time stands in (the port has been
    in this state at least that long). A change ahead of sysUpTime means sysUpTime wrapped (every
    ~497 days) since: count modulo 2^32. None when either value is missing."""
    if sys_uptime is None or if_last_change is None or sys_uptime < 0 or if_last_change < 0:
        return None
    ticks = sys_uptime if if_last_change == 0 else (sys_uptime - if_last_change) % TIMETICKS_WRAP
    return polled_at - ticks / 100


def _by_name(
    table: dict[OID, dict[OID, Value]], entry: OID, columns: dict[str, int]
) -> dict[str, dict[int, Value]]:
    """column name → {ifIndex: value}, for single-integer indexes."""
    out: dict[str, dict[int, Value]] = {}
    for name, number in columns.items():
        rows = table.get((*entry, number), {})
        out[name] = {index[0]: value for index, value in rows.items() if len(index) == 1}
    return out


async def collect(session: Session, poll: DevicePoll) -> None:
    """Fill `poll.interfaces`, one sample per ifIndex, sorted."""
    wanted = [(*IF_ENTRY, n) for n in IF_COLUMNS.values()] + [(*IFX_ENTRY, n) for n in IFX_COLUMNS.values()]
    table = await session.columns(wanted)
    cols = _by_name(table, IF_ENTRY, IF_COLUMNS) | _by_name(table, IFX_ENTRY, IFX_COLUMNS)
    indexes: set[int] = set()
    for rows in cols.values():
        indexes.update(rows)
    lacking_hc = any(i not in cols["ifHCInOctets"] or i not in cols["ifHCOutOctets"] for i in indexes)
    if lacking_hc:
        extra = await session.columns([(*IF_ENTRY, n) for n in IF_COUNTERS_32.values()])
        for name, rows in _by_name(extra, IF_ENTRY, IF_COUNTERS_32).items():
            twin = cols[HC_TWIN[name]]
            cols[name] = {i: v for i, v in rows.items() if i not in twin}
            indexes.update(rows)
    samples: list[InterfaceSample] = []
    for index in sorted(indexes):

        def get(name: str, index: int = index) -> Value:
            return cols.get(name, {}).get(index)

        admin, oper = as_int(get("ifAdminStatus")), as_int(get("ifOperStatus"))
        samples.append(
            InterfaceSample(
                ifIndex=index,
                ifName=as_text(get("ifName")),
                ifDescr=as_text(get("ifDescr")),
                ifAlias=as_text(get("ifAlias")),
                ifType=as_int(get("ifType")),
                ifMtu=as_int(get("ifMtu")),
                ifSpeed=as_int(get("ifSpeed")),
                ifHighSpeed=as_int(get("ifHighSpeed")),
                ifPhysAddress=as_mac(get("ifPhysAddress")),
                ifAdminStatus=None if admin is None else ADMIN_STATUS.get(admin, str(admin)),
                ifOperStatus=None if oper is None else OPER_STATUS.get(oper, str(oper)),
                ifLastChange=as_int(get("ifLastChange")),
                ifCounterDiscontinuityTime=as_int(get("ifCounterDiscontinuityTime")),
                counters={
                    name: value
                    for name in sorted(COUNTER_NAMES)
                    if isinstance(value := cols.get(name, {}).get(index), int)
                },
            )
        )
    poll.interfaces = samples


PLUGIN = Module("interfaces", collect)
