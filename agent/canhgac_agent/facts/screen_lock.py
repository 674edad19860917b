"""Screen lock after inactivity (`SecurityFacts.screen_lock`).

Linux: GNOME's system dconf defaults (idle delay, lock enabled, lock delay). Windows: the inactivity
and screen-saver machine policies.

Requirement HS-09 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.desktop import (
    NO_GNOME,
    PER_USER,
    gnome_settings,
    gvariant_bool,
    gvariant_uint,
    parse_session_policy,
)
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def gnome_screen_lock(installed: bool, dconf: dict[str, str]) -> dict[str, Any]:
    """`ScreenLock` for GNOME from idle-delay (default 300 s; 0 = never idle), lock-enabled (default true)
    and lock-delay (default 0 s)."""
    if not installed:
        return {"desktop": False, "lock_after_s": None, "settings": {}, "detail": NO_GNOME}
    keys = {
        "idle-delay": "org/gnome/desktop/session/idle-delay",
        "lock-enabled": "org/gnome/desktop/screensaver/lock-enabled",
        "lock-delay": "org/gnome/desktop/screensaver/lock-delay",
    }
    idle = gvariant_uint(dconf.get(keys["idle-delay"])) if keys["idle-delay"] in dconf else 300
    enabled = gvariant_bool(dconf.get(keys["lock-enabled"])) if keys["lock-enabled"] in dconf else True
    delay = gvariant_uint(dconf.get(keys["lock-delay"])) if keys["lock-delay"] in dconf else 0
    settings = {name: dconf[key] for name, key in keys.items() if key in dconf}
    notes = [PER_USER]
    if idle is None or enabled is None or delay is None:
        notes.append("unreadable value in " + ", ".join(f"{n}={v}" for n, v in settings.items()))
    lock_after = idle + delay if idle and enabled and delay is not None else None
    return {"desktop": True, "lock_after_s": lock_after, "settings": settings, "detail": "; ".join(notes)}


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`ScreenLock` on Linux."""
    return gnome_screen_lock(*gnome_settings(host))


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`ScreenLock` on Windows."""
    return parse_session_policy(host.powershell("session"))[1]


PLUGIN = FactFamily(name="screen_lock", linux=read_linux, windows=read_windows)
