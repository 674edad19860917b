"""Autorun of removable media (`SecurityFacts.removable_media`).

Linux: GNOME's system dconf defaults (other desktops are not read). Windows: the Explorer autorun
machine policies.

Requirement HS-03 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.desktop import (
    NO_GNOME,
    PER_USER,
    gnome_settings,
    gvariant_bool,
    parse_session_policy,
)
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def gnome_removable_media(installed: bool, dconf: dict[str, str]) -> dict[str, Any]:
    """`RemovableMedia` for GNOME: autorun off needs autorun-never=true and automount-open=false (GNOME's
    defaults are false and true: it offers to run, and opens every inserted medium)."""
    if not installed:
        return {"desktop": False, "autorun_disabled": None, "settings": {}, "detail": NO_GNOME}
    keys = (
        "org/gnome/desktop/media-handling/autorun-never",
        "org/gnome/desktop/media-handling/automount-open",
    )
    never = gvariant_bool(dconf.get(keys[0]))
    open_ = gvariant_bool(dconf.get(keys[1]))
    settings = {k.rsplit("/", 1)[-1]: dconf[k] for k in keys if k in dconf}
    disabled = (never if never is not None else False) and not (open_ if open_ is not None else True)
    return {"desktop": True, "autorun_disabled": disabled, "settings": settings, "detail": PER_USER}


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`RemovableMedia` on Linux."""
    return gnome_removable_media(*gnome_settings(host))


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`RemovableMedia` on Windows."""
    return parse_session_policy(host.powershell("session"))[0]


PLUGIN = FactFamily(name="removable_media", linux=read_linux, windows=read_windows)
