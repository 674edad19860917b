"""The host's IPv4 default gateway (probed by ICMP as kind `gateway`): from /proc/net/route on Linux,
`route print` on Windows."""

from __future__ import annotations

import socket
import struct
import sys

from canhgac_agent.probes.common import is_ip_literal

_RTF_UP_GATEWAY = 0x0003


def parse_proc_net_route(text: str) -> str | None:
    """The IPv4 default gateway from /proc/net/route text (lowest metric wins), or None."""
    best: tuple[int, str] | None = None
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 7:
            continue
        try:
            destination, gateway, flags = int(fields[1], 16), int(fields[2], 16), int(fields[3], 16)
            metric = int(fields[6])
            mask = int(fields[7], 16) if len(fields) > 7 else 0
        except ValueError:
            continue
        if destination != 0 or mask != 0 or flags & _RTF_UP_GATEWAY != _RTF_UP_GATEWAY or gateway == 0:
            continue
        address = socket.inet_ntoa(struct.pack("<I", gateway & 0xFFFFFFFF))  # the kernel prints host order
        if best is None or metric < best[0]:
            best = (metric, address)
    return None if best is None else best[1]


def parse_route_print(text: str) -> str | None:
    """The IPv4 default gateway from Windows `route print -4 0.0.0.0` text (lowest metric), or None."""
    best: tuple[int, str] | None = None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] != "0.0.0.0" or fields[1] != "0.0.0.0":
            continue
        gateway = fields[2]
        if is_ip_literal(gateway) != socket.AF_INET:  # "On-link" has no gateway
            continue
        try:
            metric = int(fields[-1])
        except ValueError:
            continue
        if best is None or metric < best[0]:
            best = (metric, gateway)
    return None if best is None else best[1]


def default_gateway() -> str | None:
    """The host's IPv4 default gateway, or None when there is none or it cannot be read."""
    if sys.platform == "win32":
        return _windows_default_gateway()
    try:
        with open("/proc/net/route", encoding="ascii", errors="replace") as f:
            return parse_proc_net_route(f.read())
    except OSError:
        return None


def _windows_default_gateway() -> str | None:
    """`route print -4 0.0.0.0` (no PowerShell start-up cost); language-independent column layout."""
    if sys.platform == "win32":
        import subprocess

        try:
            out = subprocess.run(
                ["route", "print", "-4", "0.0.0.0"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
                creationflags=subprocess.CREATE_NO_WINDOW,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return parse_route_print(out)
    return None
