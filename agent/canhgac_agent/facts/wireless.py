"""Wi-Fi connections and their security (`SecurityFacts.wireless`).

Linux: NetworkManager's `nmcli` when the host has a wireless interface. Windows: `netsh wlan show
interfaces`, recognised by layout and authentication names (its labels are localised).

Requirement NW-28 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import glob
import os
import re
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import clip, run_command
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

_ENTERPRISE = re.compile(r"(?i)enterprise|802\.1x|\beap\b")
_INSECURE = re.compile(r"(?i)^(open|shared|wep|none|--)?$|\bwep\b")


def wifi_connection(ssid: str | None, authentication: str | None, interface: str | None) -> dict[str, Any]:
    """One `WifiConnection`, classified from the OS's authentication name."""
    auth = (authentication or "").strip()
    return {
        "ssid": clip(ssid) if ssid else None,
        "authentication": clip(auth) if auth else None,
        "enterprise": bool(_ENTERPRISE.search(auth)),
        "insecure": bool(_INSECURE.search(auth)) and not _ENTERPRISE.search(auth),
        "interface": clip(interface) if interface else None,
    }


def _nmcli_fields(line: str) -> list[str]:
    """One `nmcli -t` line split on unescaped colons (an SSID may contain `\\:`)."""
    fields, current, escaped = [], [], False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def parse_nmcli_wifi(text: str) -> dict[str, Any]:
    """`Wireless` from `nmcli -t -f ACTIVE,SSID,SECURITY,DEVICE device wifi list`: the active networks
    (SECURITY "" or "--" is open; "WPA2 802.1X" is enterprise)."""
    connections = []
    for line in text.splitlines():
        fields = _nmcli_fields(line)
        if len(fields) >= 4 and fields[0] == "yes":
            connections.append(wifi_connection(fields[1] or None, fields[2] or "--", fields[3] or None))
    return {"connected": bool(connections), "connections": connections[:16], "detail": None}


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`Wireless` on Linux."""
    interfaces = sorted(
        os.path.basename(os.path.dirname(p)) for p in glob.glob(host.path("/sys/class/net/*/wireless"))
    )
    if not interfaces:
        return {"connected": False, "connections": [], "detail": "no wireless interface"}
    res = run_command(
        ["nmcli", "-t", "-f", "ACTIVE,SSID,SECURITY,DEVICE", "device", "wifi", "list", "--rescan", "no"]
    )
    if res is None:
        raise RuntimeError(f"wireless interface {interfaces[0]} but no nmcli (NetworkManager) to ask")
    if res.returncode != 0:
        raise RuntimeError(f"nmcli exit {res.returncode}: {res.stderr.strip()[-300:]}")
    return parse_nmcli_wifi(res.stdout)


# netsh labels are localised; the SSID label and the authentication values are not.
_WLAN_AUTH = re.compile(r"(?i)^(open|shared|owe|wpa\d?(-personal|-enterprise|-psk)?\b.*)$")


def parse_netsh_wlan(text: str) -> dict[str, Any]:
    """`Wireless` from `netsh wlan show interfaces`: per interface block, the SSID line and the first line
    whose value is an authentication name (the cipher follows it; WEP shows as Open/Shared + WEP)."""
    connections = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    for block in blocks:
        pairs = [
            (k.strip(), v.strip())
            for k, sep, v in (line.partition(":") for line in block.splitlines())
            if sep
        ]
        ssid = next((v for k, v in pairs if k == "SSID"), None)
        if ssid is None:
            continue  # not connected
        auth_at = next((i for i, (_k, v) in enumerate(pairs) if _WLAN_AUTH.match(v)), None)
        auth = pairs[auth_at][1] if auth_at is not None else None
        cipher = pairs[auth_at + 1][1] if auth_at is not None and auth_at + 1 < len(pairs) else ""
        if auth and cipher.upper() == "WEP":
            auth = f"{auth} (WEP)"
        name = pairs[0][1] if pairs else None  # the Name line comes first
        connections.append(wifi_connection(ssid or None, auth, name))
    return {"connected": bool(connections), "connections": connections[:16], "detail": None}


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`Wireless` on Windows."""
    res = run_command(["netsh", "wlan", "show", "interfaces"])
    if res is None:
        raise RuntimeError("netsh not found")
    if res.returncode != 0:  # no WLAN AutoConfig service: a PC without Wi-Fi
        return {
            "connected": False,
            "connections": [],
            "detail": clip(res.stdout.strip() or res.stderr.strip(), 2048),
        }
    return parse_netsh_wlan(res.stdout)


PLUGIN = FactFamily(name="wireless", linux=read_linux, windows=read_windows)
