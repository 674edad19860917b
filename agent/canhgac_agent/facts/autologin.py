"""Automatic login (`SecurityFacts.autologin`).

Linux: the display managers' configuration (GDM, LightDM, SDDM) and getty units with `--autologin`.
Windows: Winlogon's AutoAdminLogon and DefaultUserName.

Requirement HS-08 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import clip, parse_ini, read_text
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def display_manager_autologin(kind: str, text: str) -> str | None:
    """The user a display manager logs in automatically per its config text, "" when automatic login
    is on without a named user, None when off. `kind`: gdm, lightdm or sddm."""
    ini = parse_ini(text)
    if kind == "gdm":
        daemon = ini.get("daemon", {})
        for enable, user in (("AutomaticLoginEnable", "AutomaticLogin"), ("TimedLoginEnable", "TimedLogin")):
            if _truthy(daemon.get(enable)):
                return daemon.get(user, "")
        return None
    if kind == "lightdm":
        for name, section in ini.items():
            if name.startswith("seat") and section.get("autologin-user"):
                return section["autologin-user"]
        return None
    sddm_user = ini.get("autologin", {}).get("User")
    return sddm_user or None


def getty_autologin(text: str) -> str | None:
    """The user of `agetty --autologin USER` / `-a USER` in a getty unit or drop-in, else None."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("ExecStart=") or "getty" not in line:
            continue
        match = re.search(r"(?:--autologin|\s-a)(?:\s+|=)(\S+)", line)
        if match:
            return match.group(1)
    return None


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`Autologin` on Linux."""
    entries: list[dict[str, Any]] = []
    sources = (
        ("gdm", ("/etc/gdm3/custom.conf", "/etc/gdm3/daemon.conf", "/etc/gdm/custom.conf")),
        ("lightdm", ("/usr/share/lightdm/lightdm.conf.d/*.conf", "/etc/lightdm/lightdm.conf",
                     "/etc/lightdm/lightdm.conf.d/*.conf")),
        ("sddm", ("/usr/lib/sddm/sddm.conf.d/*.conf", "/etc/sddm.conf", "/etc/sddm.conf.d/*.conf")),
    )  # fmt: skip
    for kind, patterns in sources:
        # Files are read in the display manager's own order, and later ones override earlier ones.
        merged = "\n".join(read_text(p) or "" for pattern in patterns for p in host.glob(pattern))
        user = display_manager_autologin(kind, merged) if merged.strip() else None
        if user is not None:
            entries.append({"source": kind, "user": clip(user) or None})
    for path in host.glob("/etc/systemd/system/*getty@*.service.d/*.conf") + host.glob(
        "/etc/systemd/system/*getty@*.service"
    ):
        user = getty_autologin(read_text(path) or "")
        if user is not None:
            entries.append(
                {"source": clip(f"getty {os.path.basename(os.path.dirname(path))}"), "user": clip(user)}
            )
    return {"enabled": bool(entries), "entries": entries[:64]}


def parse_winlogon(winlogon: Any) -> dict[str, Any]:
    """`Autologin` from Winlogon AutoAdminLogon ("1" = on) and DefaultUserName."""
    if not isinstance(winlogon, dict):
        return {"enabled": None, "entries": []}
    if str(winlogon.get("AutoAdminLogon", "")).strip() != "1":
        return {"enabled": False, "entries": []}
    user = winlogon.get("DefaultUserName")
    return {"enabled": True, "entries": [{"source": "winlogon", "user": clip(user) if user else None}]}


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`Autologin` on Windows."""
    return parse_winlogon(host.powershell("winlogon"))


PLUGIN = FactFamily(name="autologin", linux=read_linux, windows=read_windows)
