"""Masking secrets in a device config for display (every role but admin): passwords, enable secrets,
SNMP communities and v3 keys, TACACS+/RADIUS keys, routing-protocol and key-chain keys, IKE pre-shared
keys, WireGuard/Wi-Fi keys. Only the secret token is replaced, so the line keeps its structure and a diff
of masked texts still shows which line changed ("snmp-server community ****** RO").

Syntaxes, per platform: Cisco IOS/IOS-XE, Ruijie RGOS and TP-Link JetStream (`password 7 X`,
`secret 5 X`, `key 7 X`, `key-string X`, `snmp-server community X`, `snmp-server host A version 2c X`,
`snmp-server user U G v3 auth sha X priv aes 128 X`, `md5 X`); Huawei VRP and HPE/H3C Comware
(`… cipher X`, `… simple X`, `… irreversible-cipher X`, `… hash X`, `snmp-agent community read X`,
`authentication-mode sha X privacy-mode aes128 X`); Junos (`"…"; ## SECRET-DATA`, `encrypted-password`,
`authentication-key`, `pre-shared-key ascii-text`, `community NAME` under `snmp`); MikroTik RouterOS
(`password=`, `secret=`, `*-pre-shared-key=`, `private-key=`, `name=` under `/snmp community`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "******"

_VALUE = r'(?:"(?:[^"\\]|\\.)*"|\S+)'  # a quoted string (with escapes) or one word
# Words that may sit between a secret keyword and the secret: encryption types and value formats.
_OPTS = (
    r"(?:\s+(?:[05-9]|level\s+\d+|cipher|simple|hash|irreversible-cipher|plain|plaintext|ascii|hex|ascii-text|"
    r"hexadecimal|encrypted|unencrypted|read|write|ro|rw|read-only|read-write)(?=\s))*+"
)
# After `key`, these words start a command that holds no secret (crypto key generate, key chain NAME…).
_NOT_A_KEY = r"(?!(?:chain|generate|zeroize|config-key|pubkey-chain|storage|exchange|label|import|export)\b)"
# What follows a secret keyword without being the secret: an address, a level or role, a sub-command,
# or a key number followed by its algorithm or type ("authentication-key 1 md5 X", "md5 1 cipher X").
_NOT_THE_VALUE = (
    r"(?:address|hostname|level|role|authentication|accounting|complexity-check|view|acl|mib-view|"
    r"authentication-mode|privacy-mode|\*{6}|\d+\s+(?:md5|sha\w*|cipher|simple|hash|key)|\d+\s*$)(?:\s|$)"
)
_KEYWORDS = (
    r"password|secret|key-string|pre-shared-key|preshared-key|authentication-key|shared-key|"
    r"auth-password|privacy-password|priv-password|encrypted-password|wpa-psk|community|md5|cpwd|epwd|"
    r"key-id\s+\d+\s+key|key"
)
_KEYWORD_SECRET = re.compile(
    rf"(?P<lead>(?<![\w-])(?:{_KEYWORDS}){_OPTS}\s+){_NOT_A_KEY}"
    rf"(?!{_NOT_THE_VALUE})(?P<secret>{_VALUE})"
)
# VRP/Comware: the word after cipher/simple/hash is the secret, wherever the line's keyword was.
_TYPED_SECRET = re.compile(
    rf"(?P<lead>(?<![\w-])(?:cipher|simple|hash|irreversible-cipher)\s+)(?!{_NOT_THE_VALUE})(?P<secret>{_VALUE})"
)
# SNMPv3 user keys: "auth sha X", "priv aes 128 X", "authentication-mode sha [cipher] X", …
_V3_KEY = re.compile(
    r"(?P<lead>(?<![\w-])(?:auth|priv|authentication-mode|privacy-mode|auth-mode)\s+"
    r"(?:md5|sha\d*|des\d*|3des|aes\d*)(?:\s+\d+)?" + _OPTS + r"\s+)"
    rf"(?P<secret>{_VALUE})"
)
# Cisco-style trap receivers carry the community in clear: snmp-server host A [traps|informs]
# [version 1|2c|3 auth|noauth|priv] COMMUNITY [udp-port N] …
_SNMP_HOST = re.compile(
    r"(?P<lead>^\s*snmp-server host \S+(?:\s+\d+)?(?:\s+(?:traps|informs))?"
    r"(?:\s+version\s+(?:1|2c|3\s+(?:auth|noauth|priv)))?\s+)(?!version\b)(?P<secret>\S+)"
)
_JUNOS_SECRET_DATA = re.compile(r'(?P<lead>)(?P<secret>"(?:[^"\\]|\\.)*")(?=;?\s*## SECRET-DATA)')
_JUNOS_QUOTED = re.compile(
    r"(?P<lead>(?<![\w-])(?:encrypted-password|authentication-key|secret|simple-password|"
    r"pre-shared-key\s+(?:ascii-text|hexadecimal)|authentication-password|privacy-password|"
    r"key)\s+)(?P<secret>" + _VALUE + ")"
)
_JUNOS_COMMUNITY = re.compile(r"(?P<lead>(?<![\w-])community\s+)(?P<secret>" + _VALUE + ")")
_ROS_KEY_VALUE = re.compile(
    r"(?P<lead>(?<![\w-])(?:password|secret|passphrase|pre-shared-key|preshared-key|"
    r"wpa-pre-shared-key|wpa2-pre-shared-key|private-key|authentication-password|encryption-password|"
    r"auth-key|trap-community|key)=)(?P<secret>" + _VALUE + ")"
)
_ROS_COMMUNITY_NAME = re.compile(r"(?P<lead>(?<![\w-])name=)(?P<secret>" + _VALUE + ")")


def _sub(pattern: re.Pattern[str], line: str) -> str:
    return pattern.sub(lambda m: m.group("lead") + MASK, line)


def _mask_cisco_like(line: str) -> str:
    line = _sub(_SNMP_HOST, line)
    line = _sub(_V3_KEY, line)
    return _sub(_KEYWORD_SECRET, line)


def _mask_vrp_like(line: str) -> str:
    line = _sub(_V3_KEY, line)
    line = _sub(_TYPED_SECRET, line)
    return _sub(_KEYWORD_SECRET, line)


def _mask_junos(lines: list[str]) -> list[str]:
    out = []
    depth = 0
    snmp_depth: int | None = None  # brace depth inside "snmp {", else None
    for line in lines:
        stripped = line.strip()
        in_snmp = snmp_depth is not None or stripped.startswith(("set snmp ", "deactivate snmp "))
        masked = _sub(_JUNOS_SECRET_DATA, line)
        if masked == line:
            masked = _sub(_JUNOS_QUOTED, line)
        if in_snmp:
            masked = _sub(_JUNOS_COMMUNITY, masked)
        out.append(masked)
        if snmp_depth is None and re.match(r"^snmp\s*\{", stripped):
            snmp_depth = depth
        depth += stripped.count("{") - stripped.count("}")
        if snmp_depth is not None and depth <= snmp_depth:
            snmp_depth = None
    return out


def _mask_routeros(lines: list[str]) -> list[str]:
    out = []
    section = ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("/"):
            section = stripped.split(" add ")[0].split(" set ")[0]
        masked = _sub(_ROS_KEY_VALUE, line)
        if section.startswith("/snmp community") or " /snmp community " in f" {stripped} ":
            masked = _sub(_ROS_COMMUNITY_NAME, masked)
        out.append(masked)
    return out


def _per_line(mask: Callable[[str], str]) -> Callable[[list[str]], list[str]]:
    return lambda lines: [mask(line) for line in lines]


_MASKERS: dict[str, Callable[[list[str]], list[str]]] = {
    "cisco_ios": _per_line(_mask_cisco_like),
    "cisco_xe": _per_line(_mask_cisco_like),
    "ruijie_os": _per_line(_mask_cisco_like),
    "tplink_jetstream": _per_line(_mask_cisco_like),
    "huawei": _per_line(_mask_vrp_like),
    "hp_comware": _per_line(_mask_vrp_like),
    "juniper_junos": _mask_junos,
    "mikrotik_routeros": _mask_routeros,
}


def mask_config(text: str, platform: str | None) -> str:
    """`text` with every secret token replaced by `MASK`; an unknown platform gets every masker, since
    over-masking is safe and a leak is not."""
    lines = text.split("\n")
    masker = _MASKERS.get(platform or "")
    if masker is not None:
        return "\n".join(masker(lines))
    for each in (_per_line(_mask_cisco_like), _mask_junos, _mask_routeros):
        lines = each(lines)
    return "\n".join(lines)
