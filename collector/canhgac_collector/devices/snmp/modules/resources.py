"""CPU, memory, temperatures, fans and power supplies, read with the device's profile.

The profile is chosen by sysObjectID/sysDescr (devices/profiles/matcher.py, cached) from what the
`system` module found; only the columns that profile declares are walked. HOST-RESOURCES-MIB and
ENTITY-SENSOR-MIB (the generic profile) fill what a vendor profile leaves empty.
"""

from __future__ import annotations

from canhgac_collector.devices.profiles.evaluate import evaluate
from canhgac_collector.devices.profiles.matcher import shipped_matcher
from canhgac_collector.devices.snmp.modules.base import Module, Session
from canhgac_collector.devices.snmp.results import DevicePoll


async def collect(session: Session, poll: DevicePoll) -> None:
    matcher = shipped_matcher()
    system = poll.system
    profile = matcher.match(system.sysObjectID if system else None, system.sysDescr if system else None)
    if profile is None:
        return
    poll.resources = await evaluate(session, profile, matcher.generic)


PLUGIN = Module("resources", collect)
