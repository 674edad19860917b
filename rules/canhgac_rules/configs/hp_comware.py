"""HPE/H3C Comware 5/7 ``display current-configuration`` -> normalized facts.

Comware prints VRP-like blocks, so this module reuses `VrpFamilyParser` and adds only what differs:
``ssh server enable``, ``ip http(s) enable``, ``local-user`` blocks, ``radius scheme``, ``port access vlan``,
``port link-aggregation group``, ``Vlan-interface``/``Bridge-Aggregation`` names and IRF stacking.
"""

from __future__ import annotations

from typing import Any

from .blocks import Node
from .huawei_vrp import COMMON_KNOWN, VrpFamilyParser, parse_family
from .model import ParsedConfig, int_or_none

PLATFORM = "hp_comware"
KNOWN = COMMON_KNOWN


class ComwareParser(VrpFamilyParser):
    """Comware dialect of the VRP-family parser."""

    platform = PLATFORM
    svi_prefix = "vlan-interface"
    lag_prefix = "bridge-aggregation"

    def __init__(self, lines: list[str], source: str) -> None:
        super().__init__(lines, source)
        self.irf_members: set[str] = set()

    def vendor_top(self, node: Node, w: list[str], text: str) -> None:
        f, b, note = self.f, self.b, self.note
        head = w[0].lower()
        toggles = {
            "ssh server enable": ("ssh_enabled", True),
            "undo ssh server enable": ("ssh_enabled", False),
            "ip http enable": ("http_server", True),
            "undo ip http enable": ("http_server", False),
            "ip http shutdown": ("http_server", False),
            "ip https enable": ("https_server", True),
            "undo ip https enable": ("https_server", False),
        }
        if text in toggles:
            key, value = toggles[text]
            f["management"][key] = value
            note(f"management.{key}", node)
        elif head == "local-user" and len(w) > 1:
            name = w[1]
            self.b.item("users", name, lambda: {"name": name, "privilege": None, "secret_kind": None})
            self.note(f"users[{name}]", node)
            for child in node.children:
                self.comware_user(name, child)
        elif head in ("radius", "hwtacacs") and w[1:2] == ["scheme"]:
            f["aaa"]["new_model"] = True
            note("aaa.new_model", node)
            key = "radius_servers" if head == "radius" else "tacacs_servers"
            for child in node.children:
                cw = child.words
                if len(cw) > 2 and cw[0] in ("primary", "secondary") and cw[1] == "authentication":
                    b.add_unique(f"aaa.{key}", cw[2])
                    note(f"aaa.{key}", node)
                    note(f"aaa.{key}", child)
        elif head == "domain" and len(w) > 1:
            for child in node.walk():
                if "radius-scheme" in child.words or "hwtacacs-scheme" in child.words:
                    f["aaa"]["new_model"] = True
                    note("aaa.new_model", child)
        elif head in ("irf", "irf-port"):
            note("redundancy.stacking", node)
            if w[:2] == ["irf", "member"] and len(w) > 2:
                self.irf_members.add(w[2])
            stacked = bool(f["redundancy"]["stacking"]) or head == "irf-port" or len(self.irf_members) >= 2
            f["redundancy"]["stacking"] = stacked

    def comware_user(self, name: str, child: Node) -> None:
        """One attribute line inside a Comware ``local-user`` block."""
        cw = child.words
        user = self.b.item("users", name, dict)  # created by the block header
        self.note(f"users[{name}]", child)
        if cw[0] == "password" and len(cw) > 1:
            user["secret_kind"] = self.secret_kind(cw[1])
        elif cw[0] == "authorization-attribute" and len(cw) > 2:
            if cw[1] == "level":
                user["privilege"] = int_or_none(cw[2])
            elif cw[1] == "user-role":
                role = {"network-admin": 15, "level-15": 15, "network-operator": 1}.get(cw[2])
                if role is not None and (user["privilege"] is None or role > user["privilege"]):
                    user["privilege"] = role

    def interface_defaults(self) -> None:
        for entry in self.f["interfaces"]:  # Comware's default link-type is access, in VLAN 1
            if entry["physical"] and entry["mode"] is None and entry["channel_group"] is None:
                entry["mode"] = "access"
                entry["access_vlan"] = entry["access_vlan"] or 1

    def vendor_interface(self, entry: dict[str, Any], cw: list[str], text: str) -> None:
        if cw[:3] == ["port", "access", "vlan"] and len(cw) > 3:
            entry["access_vlan"] = int_or_none(cw[3])
        elif cw[:3] == ["port", "link-aggregation", "group"] and len(cw) > 3:
            entry["channel_group"] = int_or_none(cw[3])
        elif cw[0] == "port-security" and cw[1:2] in (["port-mode"], ["intrusion-mode"], ["max-mac-count"]):
            entry["port_security"] = True
        elif cw[0] == "mac-authentication" and len(cw) == 1:
            entry["dot1x"] = True


def parse(lines: list[str], source: str) -> ParsedConfig:
    """Parse a Comware running config; ConfigParseError if truncated or not Comware-like."""
    return parse_family(ComwareParser, KNOWN, lines, source)
