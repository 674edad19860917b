"""MIB modules, in the order the poller runs them. `system` is first: it is the liveness check.

`interfaces` runs before `lldp`/`cdp`/`fdb`, which name local ports from the interfaces it found.
"""

from __future__ import annotations

from canhgac_agent.plugins import registry
from canhgac_agent.snmp.modules import arp, cdp, fdb, interfaces, lldp, resources, system
from canhgac_agent.snmp.modules.base import Module, Session

# Registration: one line per module, in poll order.
MODULES: dict[str, Module] = registry(
    system.PLUGIN,
    interfaces.PLUGIN,
    lldp.PLUGIN,
    cdp.PLUGIN,
    fdb.PLUGIN,
    arp.PLUGIN,
    resources.PLUGIN,
)

__all__ = ["MODULES", "Module", "Session"]
