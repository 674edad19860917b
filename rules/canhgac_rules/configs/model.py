"""The parsed-config contract: ParsedConfig, ConfigParseError and the normalized facts skeleton.

Every parser fills the same skeleton (`new_facts` and the `new_*` item builders: every key always
present) and records, per dotted fact path, the config lines that decided it, so a finding can quote its
evidence with line numbers.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

PLATFORMS: tuple[str, ...] = (
    "cisco_ios",
    "huawei_vrp",
    "hp_comware",
    "juniper_junos",
    "tplink_jetstream",
    "mikrotik_routeros",
    "ruijie_rgos",
)

Facts = dict[str, Any]
Provenance = dict[str, list[tuple[int, str]]]


class ConfigParseError(ValueError):
    """A text that is not a usable config of the platform; str() is ``<source>:<line>: <reason>``."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(f"{source}:{line}: {reason}")


def _path_prefixes(path: str) -> list[str]:
    """``a.b[x.y].c`` -> [``a.b[x.y].c``, ``a.b[x.y]``, ``a.b``, ``a``]; dots inside [] are not separators."""
    cuts: list[int] = []
    depth = 0
    for i, ch in enumerate(path):
        if ch == "[":
            if depth == 0 and i > 0:
                cuts.append(i)
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == "." and depth == 0:
            cuts.append(i)
    return [path] + [path[:i] for i in reversed(cuts)]


@dataclass(frozen=True)
class ParsedConfig:
    """One device config reduced to normalized facts, with the config lines behind each fact path."""

    platform: str
    source: str
    facts: dict[str, Any]
    provenance: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def lines_for(self, path: str) -> list[tuple[int, str]]:
        """Config lines behind `path` (longest recorded prefix of the dotted path); [] if none."""
        for prefix in _path_prefixes(path):
            if prefix in self.provenance:
                return list(self.provenance[prefix])
        return []


def new_facts() -> Facts:
    """The facts skeleton with every key present and the 'nothing configured' value."""
    return {
        "hostname": None,
        "management": {
            "ssh_enabled": False,
            "ssh_version": None,
            "telnet_enabled": False,
            "http_server": False,
            "https_server": False,
        },
        "lines": [],
        "users": [],
        "enable": {"secret_set": False, "password_cleartext": False},
        "aaa": {"new_model": False, "radius_servers": [], "tacacs_servers": [], "dot1x_enabled": False},
        "snmp": {
            "communities": [],
            "v3_users": [],
            "v3_groups": [],
            "trap_hosts": [],
            "contact": None,
            "location": None,
            "v1_v2c_enabled": False,
        },
        "logging": {"hosts": [], "trap_level": None, "timestamps_datetime": False, "buffered": False},
        "ntp": {"servers": [], "authenticate": False},
        "services": {
            "password_encryption": False,
            "pad": None,
            "source_route": None,
            "small_servers": None,
            "finger": None,
            "cdp": None,
            "lldp": None,
            "dhcp_snooping": False,
            "flow_export": False,
        },
        "interfaces": [],
        "vlans": [],
        "acls": [],
        "default_routes": [],
        "redundancy": {"vrrp_groups": 0, "hsrp_groups": 0, "port_channels": 0, "stacking": None},
        "banner": False,
    }


def new_line(name: str, kind: str) -> dict[str, Any]:
    """A management line (console/vty/aux) with nothing configured yet."""
    return {
        "name": name,
        "kind": kind,
        "login": "none",
        "exec_timeout_s": None,
        "access_class": None,
        "transport_input": [],
    }


def new_interface(name: str, *, physical: bool, svi_vlan: int | None = None) -> dict[str, Any]:
    """An interface with nothing configured yet (up, no mode, no addresses)."""
    return {
        "name": name,
        "description": None,
        "shutdown": False,
        "mode": None,
        "access_vlan": None,
        "port_security": False,
        "dot1x": False,
        "channel_group": None,
        "ip_addresses": [],
        "svi_vlan": svi_vlan,
        "physical": physical,
        "acl_in": None,
        "acl_out": None,
        "vlan_name": None,
    }


def new_default_route(next_hop: str, distance: int | None = None) -> dict[str, Any]:
    """A static default route (0.0.0.0/0) via `next_hop` (an address, an interface, or both)."""
    return {"next_hop": next_hop, "distance": distance}


def cidr(address: str, mask: str | None = None) -> str | None:
    """``10.0.0.1`` + ``255.255.255.0`` (or ``10.0.0.1/24``) -> ``10.0.0.1/24``; None if malformed."""
    try:
        iface = ipaddress.IPv4Interface(f"{address}/{mask}" if mask else address)
    except ValueError:
        return None
    return f"{iface.ip}/{iface.network.prefixlen}"


def int_or_none(word: str | None) -> int | None:
    """``"10"`` -> 10; anything that is not a plain decimal -> None."""
    return int(word) if word is not None and word.isdigit() and len(word) < 10 else None


class FactsBuilder:
    """Mutable facts plus provenance while one config is parsed; `result()` freezes it."""

    def __init__(self, platform: str, source: str) -> None:
        self.platform = platform
        self.source = source
        self.facts = new_facts()
        self.prov: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
        self._by_key: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    def note(self, path: str, lineno: int, text: str) -> None:
        """Record that config line `lineno` (1-based, as written) supports fact `path`."""
        entry = (lineno, text)
        if entry not in self.prov[path]:
            self.prov[path].append(entry)

    def item(self, listname: str, key: str, make: Any) -> dict[str, Any]:
        """Get-or-create the list item `key` of the dotted list `listname` (e.g. ``snmp.communities``)."""
        known = self._by_key[listname]
        if key not in known:
            item = make()
            known[key] = item
            target: Any = self.facts
            for part in listname.split("."):
                target = target[part]
            target.append(item)
        return known[key]

    def has_item(self, listname: str, key: str) -> bool:
        """Whether list item `key` of `listname` exists."""
        return key in self._by_key[listname]

    def add_unique(self, path: str, value: Any) -> None:
        """Append `value` to the dotted list `path` unless already there."""
        target: Any = self.facts
        for part in path.split("."):
            target = target[part]
        if value not in target:
            target.append(value)

    def link_vlan_names(self) -> None:
        """Give each access port and SVI the name of its VLAN (`vlan_name`), quoting the VLAN's lines, so
        a rule can tell a wireless VLAN's ports from a user VLAN's by name."""
        names = {str(vlan["id"]): vlan["name"] for vlan in self.facts["vlans"]}
        for entry in self.facts["interfaces"]:
            vid = entry["svi_vlan"]
            if vid is None and entry["mode"] == "access":
                vid = entry["access_vlan"]
            if vid is None or names.get(str(vid)) is None:
                continue
            entry["vlan_name"] = names[str(vid)]
            path = f"interfaces[{entry['name']}]"
            for line in self.prov.get(f"vlans[{vid}]", []) + self.prov.get(path, []):
                self.note(f"{path}.vlan_name", *line)

    def result(self) -> ParsedConfig:
        """The finished, JSON-ready ParsedConfig."""
        self.link_vlan_names()
        return ParsedConfig(self.platform, self.source, self.facts, dict(self.prov))
