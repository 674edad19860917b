"""Normalising a pulled running config so that only real changes make a new version: line endings and
trailing blanks evened out, and the lines a device rewrites on every display dropped (timestamps of the
last change or save, NTP clock drift, uptime, crypto blobs that re-render), per platform."""

from __future__ import annotations

import hashlib
import re

_CISCO_LIKE = (
    r"^! Last configuration change at ",
    r"^! NVRAM config last updated at ",
    r"^! No configuration change since last restart",
    r"^ntp clock-period \d+",
    r"^Building configuration\.\.\.",
    r"^Current configuration ?: ?\d+ bytes",
)
_VOLATILE: dict[str, tuple[str, ...]] = {
    "cisco_ios": _CISCO_LIKE,
    "cisco_xe": _CISCO_LIKE,
    "ruijie_os": _CISCO_LIKE,
    "tplink_jetstream": (r"^Building configuration\.\.\.", r"^Current configuration ?: ?\d+ bytes"),
    "huawei": (r"^!Last configuration was (updated|saved) at ", r"^!Time of last (update|save):? "),
    "hp_comware": (r"^#?\s*Last (configuration|saved) .*\d{2}:\d{2}:\d{2}",),
    "juniper_junos": (r"^## Last (commit|changed): ",),
    # "# jan/02/2024 10:00:00 by RouterOS 6.48.6" (v6) or "# 2024-01-02 10:00:00 by RouterOS 7.12" (v7)
    "mikrotik_routeros": (r"^# .*\d{1,2}:\d{2}:\d{2} by RouterOS ",),
}
# Any platform: a comment line stating the uptime.
_ANY = (r"^\s*[!#]+.*\buptime\b",)
_PATTERNS = {
    platform: re.compile("|".join((*patterns, *_ANY)), re.IGNORECASE)
    for platform, patterns in _VOLATILE.items()
}
_DEFAULT = re.compile("|".join(_ANY), re.IGNORECASE)

# Cisco-style certificate bodies: " certificate self-signed 01" then hex lines up to "\tquit".
_CERT_START = re.compile(r"^\s*certificate( self-signed| ca)? [0-9A-Fa-f]+\s*$")
_CERT_END = re.compile(r"^\s*quit\s*$")
_CERT_PLATFORMS = frozenset({"cisco_ios", "cisco_xe", "ruijie_os"})


def normalise(text: str, platform: str | None) -> str:
    """`text` without what changes on every pull; comparing two of these tells a real change."""
    volatile = _PATTERNS.get(platform or "", _DEFAULT)
    out: list[str] = []
    in_cert = False
    for each in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = each.rstrip()
        if in_cert:
            if _CERT_END.match(line):
                in_cert = False
                out.append(line)
            continue  # the certificate's hex, re-rendered by the device
        if volatile.search(line):
            continue
        if platform in _CERT_PLATFORMS and _CERT_START.match(line):
            in_cert = True
        out.append(line)
    while out and not out[-1]:
        out.pop()
    while out and not out[0]:
        out.pop(0)
    return "\n".join(out) + "\n"


def content_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()
