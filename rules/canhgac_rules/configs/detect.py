"""Vendor detection from config content, so an auditor's folder of saved configs needs no --platform.

Each platform scores its marker lines; VRP and Comware share most syntax, so they are told apart by the
markers only one of them has (Vlanif/Eth-Trunk/stelnet vs Vlan-interface/Bridge-Aggregation/scheme).
JetStream and RGOS borrow IOS commands (``hostname``, ``line vty``, ``end``), so their own lines weigh
more: JetStream's ``!MODEL`` header, ``user name … privilege``, ``system-time ntp``, lower-case
``gigabitEthernet 1/0/1``; RGOS's ``enable service …-server``, ``version …RGOS``, ``AggregatePort``,
spaced ``GigabitEthernet 0/1``. A RouterOS export is recognised by its header and ``/menu`` lines.
"""

from __future__ import annotations

import itertools
import re

_MARKERS: dict[str, list[tuple[re.Pattern[str], int]]] = {
    "tplink_jetstream": [
        (re.compile(r"\A\s*!(T\d{4}G|TL-S[GXL]|SG\d|SX\d|S\d{4})\S*\s*$", re.M), 30),
        (re.compile(r"^user name \S+ privilege (admin|operator|power_user|user|guest) ", re.M), 10),
        (re.compile(r"^system-time (ntp|manual) ", re.M), 10),
        (re.compile(r"^logging host index \d+ ", re.M), 10),
        (re.compile(r"^interface (fast|gigabit|two-gigabit|ten-gigabit)Ethernet \d+/\d+/\d+\s*$", re.M), 4),
        (re.compile(r"^ip management-vlan \d+", re.M), 5),
        (re.compile(r'^snmp-server community "[^"]*" read-(only|write)', re.M), 5),
        (re.compile(r"^\s*switchport general allowed vlan ", re.M), 2),
        (re.compile(r"^contact-info ", re.M), 5),
    ],
    "ruijie_rgos": [
        (re.compile(r"^version \S*RGOS|^version (S\d+_)?RGOS ", re.M), 30),
        (re.compile(r"^(no )?enable service (ssh-server|telnet-server|web-server)", re.M), 10),
        (
            re.compile(
                r"^interface (GigabitEthernet|FastEthernet|TenGigabitEthernet|AggregatePort) \d+(/\d+)*\s*$",
                re.M,
            ),
            4,
        ),
        (re.compile(r"^interface AggregatePort \d+", re.M), 10),
        (re.compile(r"^(nfpp|install \d+ |sysmac |cwmp|webmaster )", re.M), 8),
        (re.compile(r"^logging server \S+", re.M), 4),
        (re.compile(r"^sntp (server|enable)", re.M), 4),
        (re.compile(r"^interface VLAN \d+", re.M), 4),
    ],
    "mikrotik_routeros": [
        (re.compile(r"^# .* by RouterOS \d", re.M), 30),
        (re.compile(r"^/(ip|interface|system|snmp|routing|tool|user|queue|ppp|ipv6) ", re.M), 5),
        (re.compile(r"^set \[ find default-name=", re.M), 5),
    ],
    "juniper_junos": [
        (re.compile(r"^set (system|interfaces|protocols|vlans|snmp|routing-options|chassis) ", re.M), 3),
        (re.compile(r"^(system|interfaces|protocols|vlans|snmp|routing-options|chassis) \{\s*$", re.M), 5),
        (re.compile(r"^version \d+\.\d+\S*;\s*$", re.M), 5),
        (re.compile(r"^\s+host-name \S+;\s*$", re.M), 3),
    ],
    "cisco_ios": [
        (re.compile(r"^version 1\d\.\d+\s*$", re.M), 5),
        (re.compile(r"^hostname \S+", re.M), 2),
        (re.compile(r"^line (vty|con|console|aux) \d", re.M), 4),
        (re.compile(r"^interface (Gigabit|Fast|TenGigabit|TwentyFiveGig)Ethernet\d+/\d+", re.M), 2),
        (re.compile(r"^(service|ip|no ip) [a-z-]+", re.M), 1),
        (re.compile(r"^ switchport ", re.M), 1),
        (re.compile(r"^end\s*$", re.M), 3),
        (re.compile(r"^!\s*$", re.M), 1),
    ],
    "huawei_vrp": [
        (re.compile(r"^interface (Vlanif|Eth-Trunk|XGigabitEthernet|MEth|40GE|100GE)\S*", re.M), 3),
        (re.compile(r"^ port default vlan \d+", re.M), 2),
        (re.compile(r"^stelnet server enable", re.M), 3),
        (re.compile(r"^ authentication-mode aaa", re.M), 3),
        (re.compile(r"^vlan batch ", re.M), 3),
        (re.compile(r"^ eth-trunk \d+", re.M), 2),
        (re.compile(r"^(radius-server|hwtacacs-server) template ", re.M), 3),
        (re.compile(r"password irreversible-cipher ", re.M), 2),
        (re.compile(r"^!Software Version V\d{3}R", re.M), 5),
        (re.compile(r"^ vrrp vrid \d+ virtual-ip ", re.M), 1),
    ],
    "hp_comware": [
        (re.compile(r"^ version [57]\.\d+", re.M), 6),
        (
            re.compile(r"^interface (Vlan-interface|Bridge-Aggregation|M-GigabitEthernet|Ten-Gigabit)", re.M),
            3,
        ),
        (re.compile(r"^ port access vlan \d+", re.M), 2),
        (re.compile(r"^ port link-aggregation group \d+", re.M), 2),
        (re.compile(r"^ authentication-mode scheme", re.M), 3),
        (re.compile(r"^(radius|hwtacacs) scheme ", re.M), 3),
        (re.compile(r"^irf ", re.M), 2),
        (re.compile(r"^local-user \S+ class (manage|network)", re.M), 3),
        (re.compile(r"^ip https? enable", re.M), 2),
        (re.compile(r"^ssh server enable", re.M), 2),
        (re.compile(r"^line (vty|class|aux|con)", re.M), 2),
        (re.compile(r"^ port-isolate enable", re.M), 2),
    ],
}

# VRP and Comware configs both need these structural markers before their own markers count.
_BLOCK_STYLE = re.compile(r"^( ?sysname \S+|return|#)\s*$", re.M)


def _score(pattern: re.Pattern[str], weight: int, text: str) -> int:
    return sum(1 for _ in itertools.islice(pattern.finditer(text), 10)) * weight


def detect_platform(text: str) -> str | None:
    """The platform of a config text (one of PLATFORMS), or None when no vendor's markers are found."""
    if not isinstance(text, str) or not text.strip():
        return None
    scores: dict[str, int] = {}
    for platform, markers in _MARKERS.items():
        scores[platform] = sum(_score(p, w, text) for p, w in markers)
    if not _BLOCK_STYLE.search(text):
        scores["huawei_vrp"] = scores["hp_comware"] = 0
    best = max(scores, key=lambda p: scores[p])
    return best if scores[best] >= 5 else None
