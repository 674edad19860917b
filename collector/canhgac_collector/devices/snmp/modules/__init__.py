"""MIB modules, in the order the poller runs them. `system` is first: it is the liveness check.

`interfaces` runs before `lldp`/`cdp`/`fdb`, which name local ports from the interfaces it found.
"""

from __future__ import annotations

from canhgac_collector.devices.snmp.modules import arp, cdp, fdb, interfaces, lldp, resources, system
from canhgac_collector.devices.snmp.modules.base import Module, Session

MODULES: list[Module] = [
    system.MODULE,
    interfaces.MODULE,
    lldp.MODULE,
    cdp.MODULE,
    fdb.MODULE,
    arp.MODULE,
    resources.MODULE,
]

__all__ = ["MODULES", "Module", "Session"]
