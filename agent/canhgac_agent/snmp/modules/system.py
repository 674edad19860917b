"""SNMPv2-MIB system group: who the device is, and sysUpTime for reboot detection."""

from __future__ import annotations

import contextlib

from canhgac_agent.snmp.errors import SnmpProtocolError
from canhgac_agent.snmp.modules.base import Module, Session, as_int, as_text, oid_str
from canhgac_agent.snmp.results import DevicePoll, SystemInfo
from canhgac_agent.snmp.vendors import vendor_from_sysobjectid

SYSTEM: tuple[int, ...] = (1, 3, 6, 1, 2, 1, 1)
SYS_DESCR = (*SYSTEM, 1, 0)
SYS_OBJECT_ID = (*SYSTEM, 2, 0)
SYS_UPTIME = (*SYSTEM, 3, 0)
SYS_CONTACT = (*SYSTEM, 4, 0)
SYS_NAME = (*SYSTEM, 5, 0)
SYS_LOCATION = (*SYSTEM, 6, 0)
OIDS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION)


async def collect(session: Session, poll: DevicePoll) -> None:
    """One GET of the six scalars. It is the poll's liveness check: its failure is the device's state."""
    try:
        values = await session.get(OIDS)
    except SnmpProtocolError:
        if session.creds.version != "1":
            raise
        # SNMPv1 fails a whole GET for one missing object (noSuchName): ask one by one, keep what answers.
        values = {}
        for oid in OIDS:
            with contextlib.suppress(SnmpProtocolError):
                values.update(await session.get([oid]))
        if not values:
            raise
    object_id = oid_str(values.get(SYS_OBJECT_ID))
    poll.system = SystemInfo(
        sysDescr=as_text(values.get(SYS_DESCR)),
        sysObjectID=object_id,
        sysName=as_text(values.get(SYS_NAME)),
        sysUpTime=as_int(values.get(SYS_UPTIME)),
        sysContact=as_text(values.get(SYS_CONTACT)),
        sysLocation=as_text(values.get(SYS_LOCATION)),
        vendor=vendor_from_sysobjectid(object_id),
    )


PLUGIN = Module("system", collect)
