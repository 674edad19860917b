"""Forwarding database: which MAC sits behind which port (and VLAN).

Q-BRIDGE-MIB dot1qTpFdbTable (indexed by FDB id + MAC, so it carries the VLAN) when the switch has it,
else BRIDGE-MIB dot1dTpFdbTable; bridge ports map to ifIndex through dot1dBasePortIfIndex. Cisco IOS
has one bridge table per VLAN behind community@vlan (v3: context vlan-N), listed by CISCO-VTP-MIB.
"""

from __future__ import annotations

import logging
import time

from canhgac_agent.snmp.errors import SnmpTimeout
from canhgac_agent.snmp.modules.base import Module, Session, as_int, mac_from_index
from canhgac_agent.snmp.results import DevicePoll, FdbEntry
from canhgac_agent.snmp.types import OID, Credentials

log = logging.getLogger(__name__)
# (host, port, community, v3 user) of agents without per-VLAN contexts → when to try again (monotonic).
_no_vlan_contexts: dict[tuple[str, int, bytes, bytes], float] = {}

BRIDGE = (1, 3, 6, 1, 2, 1, 17)
BASE_PORT_IF_INDEX: OID = (*BRIDGE, 1, 4, 1, 2)  # dot1dBasePortIfIndex
TP_FDB_PORT: OID = (*BRIDGE, 4, 3, 1, 2)  # dot1dTpFdbPort, index = MAC
TP_FDB_STATUS: OID = (*BRIDGE, 4, 3, 1, 3)
Q_FDB_PORT: OID = (*BRIDGE, 7, 1, 2, 2, 1, 2)  # dot1qTpFdbPort, index = (fdbId, MAC)
Q_FDB_STATUS: OID = (*BRIDGE, 7, 1, 2, 2, 1, 3)
Q_VLAN_FDB_ID: OID = (*BRIDGE, 7, 1, 4, 2, 1, 3)  # dot1qVlanFdbId, index = (timeMark, vlan)
VTP_VLAN_STATE: OID = (1, 3, 6, 1, 4, 1, 9, 9, 46, 1, 3, 1, 1, 2)  # CISCO-VTP-MIB, index (domain, vlan)
CISCO_RESERVED_VLANS = frozenset({1002, 1003, 1004, 1005})  # FDDI/Token Ring defaults: no bridge table
MAX_VLAN_CONTEXTS = 64  # per poll; a switch with more VLANs reports the first 64
CONTEXT_RETRY_S = 3600.0
MAX_VLAN = 4094
STATUS = {1: "other", 2: "invalid", 3: "learned", 4: "self", 5: "mgmt"}


async def collect(session: Session, poll: DevicePoll) -> None:
    q = await session.columns([Q_FDB_PORT, Q_FDB_STATUS])
    if q[Q_FDB_PORT]:
        vlan_of_fdb: dict[int, int] = {}
        for index, fdb_id in (await session.columns([Q_VLAN_FDB_ID]))[Q_VLAN_FDB_ID].items():
            if len(index) == 2 and isinstance(fdb_id, int):
                vlan_of_fdb.setdefault(fdb_id, index[1])
        entries: list[_Entry] = []
        for index, port in q[Q_FDB_PORT].items():
            mac = mac_from_index(index[1:])
            if mac is None:
                continue
            status = as_int(q[Q_FDB_STATUS].get(index))
            # Many switches use the VLAN id as the FDB id and leave dot1qVlanCurrentTable empty.
            vlan = vlan_of_fdb.get(index[0], index[0] if 1 <= index[0] <= MAX_VLAN else None)
            entries.append((mac, vlan, as_int(port), _status(status)))
        fdb = await _resolve(session, entries)
    else:
        fdb = await _dot1d(session, None)
        if poll.system is not None and poll.system.vendor == "cisco":
            per_vlan = await _cisco_per_vlan(session)
            if per_vlan is not None:
                fdb = per_vlan
    poll.fdb = sorted(fdb, key=lambda e: (e.vlan or 0, e.mac, e.ifIndex or 0))


_Entry = tuple[str, int | None, int | None, str | None]  # mac, vlan, bridge port, status


async def _resolve(session: Session, entries: list[_Entry]) -> list[FdbEntry]:
    """Bridge ports → ifIndex (dot1dBasePortIfIndex); invalid entries dropped."""
    if not entries:
        return []
    base = (await session.columns([BASE_PORT_IF_INDEX]))[BASE_PORT_IF_INDEX]
    if_of_port = {i[0]: v for i, v in base.items() if len(i) == 1 and isinstance(v, int) and v > 0}
    return [
        FdbEntry(
            mac=mac,
            vlan=vlan,
            bridge_port=port,
            ifIndex=if_of_port.get(port) if port else None,
            status=status,
        )
        for mac, vlan, port, status in entries
        if status != "invalid"
    ]


async def _dot1d(session: Session, vlan: int | None) -> list[FdbEntry]:
    d = await session.columns([TP_FDB_PORT, TP_FDB_STATUS])
    entries: list[_Entry] = []
    for index, port in d[TP_FDB_PORT].items():
        mac = mac_from_index(index)
        if mac is not None:
            entries.append((mac, vlan, as_int(port), _status(as_int(d[TP_FDB_STATUS].get(index)))))
    return await _resolve(session, entries)


def _vlan_credentials(creds: Credentials, vlan: int) -> Credentials:
    """Cisco community string indexing (community@vlan); with SNMPv3 the context vlan-N."""
    if creds.version == "3":
        return creds._replace(context_name=f"vlan-{vlan}".encode())
    return creds._replace(community=creds.community + f"@{vlan}".encode())


async def _cisco_per_vlan(session: Session) -> list[FdbEntry] | None:
    """Cisco IOS keeps one bridge table per VLAN, reachable only through per-VLAN community/context.

    Returns None when the device lists no VTP VLANs or does not answer the first VLAN's context
    (remembered for CONTEXT_RETRY_S, so such a device costs one timeout an hour, not one per poll).
    """
    key = (session.target.host, session.target.port, session.creds.community, session.creds.user)
    if _no_vlan_contexts.get(key, 0.0) > time.monotonic():
        return None
    states = (await session.columns([VTP_VLAN_STATE]))[VTP_VLAN_STATE]
    vlans = sorted(
        {
            i[1]
            for i, state in states.items()
            if len(i) == 2 and state == 1 and i[1] not in CISCO_RESERVED_VLANS
        }
    )[:MAX_VLAN_CONTEXTS]
    if not vlans:
        return None
    out: list[FdbEntry] = []
    for n, vlan in enumerate(vlans):
        sub = Session(
            session.engine, session.target, _vlan_credentials(session.creds, vlan), session.max_repetitions
        )
        try:
            out += await _dot1d(sub, vlan)
        except SnmpTimeout:
            if n > 0:
                raise
            _no_vlan_contexts[key] = time.monotonic() + CONTEXT_RETRY_S
            log.info(
                "no per-VLAN bridge tables (community@vlan / vlan-N context) at %s:%d; using the plain one",
                session.target.host,
                session.target.port,
            )
            return None
        finally:
            session.varbinds += sub.varbinds
    return out


def _status(value: int | None) -> str | None:
    return None if value is None else STATUS.get(value, str(value))


PLUGIN = Module("fdb", collect)
