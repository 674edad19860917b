"""CPU, memory, temperatures, fans and power supplies, read with the device's profile.

The profile is chosen by sysObjectID/sysDescr (snmp/profiles/matcher.py, cached) from what the
`system` module found; only the columns that profile declares are walked. HOST-RESOURCES-MIB and
ENTITY-SENSOR-MIB (the generic profile) fill what a vendor profile leaves empty. The profiles need
`pydantic` and `pyyaml` (the server has them; an agent gets them with the `edge` extra): without them the
poll says so in `module_errors` and every other module still runs.
"""

from __future__ import annotations

from canhgac_agent.snmp.modules.base import Module, Session
from canhgac_agent.snmp.results import DevicePoll

PROFILES_MISSING = "skipped: the vendor profiles need pydantic and pyyaml: pip install 'canhgac[edge]'"


async def collect(session: Session, poll: DevicePoll) -> None:
    try:
        from canhgac_agent.snmp.profiles.evaluate import evaluate
        from canhgac_agent.snmp.profiles.matcher import shipped_matcher
    except ImportError:
        poll.module_errors["resources"] = PROFILES_MISSING
        return
    matcher = shipped_matcher()
    system = poll.system
    profile = matcher.match(system.sysObjectID if system else None, system.sysDescr if system else None)
    if profile is None:
        return
    poll.resources = await evaluate(session, profile, matcher.generic)


PLUGIN = Module("resources", collect)
