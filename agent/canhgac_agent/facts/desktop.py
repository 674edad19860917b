"""Desktop policies read for both `removable_media` and `screen_lock`: GNOME's system dconf defaults on
Linux, the Explorer, System and screen-saver machine policies on Windows."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import Any

from canhgac_agent.facts.common import clip, read_text, to_int
from canhgac_agent.facts.linux import LinuxHost

# The desktop itself, not its settings schemas: gsettings-desktop-schemas comes with many server packages.
GNOME_SHELL = "/usr/bin/gnome-shell"
PER_USER = "system dconf defaults; a user may change them unless /etc/dconf/db/*.d/locks lock the keys"
NO_GNOME = "no GNOME desktop installed (other desktops are not read)"


def parse_dconf_keyfiles(texts: Iterable[str]) -> dict[str, str]:
    """dconf keyfiles ([org/gnome/...] sections, key=GVariant text), later files overriding earlier."""
    values: dict[str, str] = {}
    for text in texts:
        section = ""
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip().strip("/")
            elif "=" in line and section:
                key, _, value = line.partition("=")
                values[f"{section}/{key.strip()}"] = clip(value.strip(), 2048)
    return values


def gvariant_bool(text: str | None) -> bool | None:
    """A GVariant boolean's text as a bool, None when it is not one."""
    return {"true": True, "false": False}.get((text or "").strip().lower())


def gvariant_uint(text: str | None) -> int | None:
    """A GVariant integer's text (`uint32 300` or `300`) as a non-negative int, else None."""
    value = (text or "").strip()
    for prefix in ("uint32 ", "int32 ", "uint64 "):
        value = value.removeprefix(prefix)
    return to_int(value, minimum=0)


def gnome_settings(host: LinuxHost) -> tuple[bool, dict[str, str]]:
    """(GNOME installed, the system dconf keyfile values as "section/key" → text)."""
    installed = os.path.exists(host.path(GNOME_SHELL))
    files = sorted(glob.glob(host.path("/etc/dconf/db/*.d/*")))
    return installed, parse_dconf_keyfiles((read_text(f) or "") for f in files if os.path.isfile(f))


def _policy_int(policy: dict[str, Any], name: str) -> int | None:
    """A registry policy value as an int (REG_DWORD arrives as a number, REG_SZ values as text)."""
    value = policy.get(name)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    return to_int(str(value))


def parse_session_policy(policy: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`RemovableMedia`, `ScreenLock`) from the script's machine policy values (missing: not set)."""
    if not isinstance(policy, dict):
        raise ValueError(f"the session policies gave {type(policy).__name__}, not an object")
    autorun = {n: str(policy[n]) for n in ("NoDriveTypeAutoRun", "NoAutorun") if policy.get(n) is not None}
    no_drive = _policy_int(policy, "NoDriveTypeAutoRun")
    removable = {
        "desktop": True,
        # 255 (0xFF): no drive type autoruns; NoAutorun=1: autorun.inf is never executed
        "autorun_disabled": no_drive is not None
        and no_drive & 0xFF == 0xFF
        and _policy_int(policy, "NoAutorun") == 1,
        "settings": autorun,
        "detail": None if autorun else "no autorun policy set (Windows' default autoplays)",
    }
    lock_names = ("InactivityTimeoutSecs", "ScreenSaveActive", "ScreenSaverIsSecure", "ScreenSaveTimeOut")
    lock = {n: str(policy[n]) for n in lock_names if policy.get(n) is not None}
    limits = []
    inactivity = _policy_int(policy, "InactivityTimeoutSecs")
    if inactivity:
        limits.append(inactivity)
    timeout = _policy_int(policy, "ScreenSaveTimeOut")
    if (
        _policy_int(policy, "ScreenSaveActive") == 1
        and _policy_int(policy, "ScreenSaverIsSecure") == 1
        and timeout
    ):
        limits.append(timeout)
    screen = {
        "desktop": True,
        "lock_after_s": min(limits) if limits else None,
        "settings": lock,
        "detail": None if lock else "no inactivity or screen-saver policy set",
    }
    return removable, screen
