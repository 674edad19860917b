"""Huawei VRP ``display current-configuration`` -> normalized facts.

`VrpFamilyParser` also carries everything VRP and HPE/H3C Comware print alike (sysname, snmp-agent,
info-center, ntp-service, user-interface, vlan, interface basics, VRRP); `hp_comware` subclasses it and
only adds Comware's own commands. Defaults not printed in a VRP config: log timestamps carry the date and
the log buffer is on unless undone; passwords are stored ciphered unless ``simple`` is shown.
"""

from __future__ import annotations

import re
from typing import Any

from .blocks import Node, build_tree, check_vocabulary, last_content_line
from .model import (
    ConfigParseError,
    FactsBuilder,
    ParsedConfig,
    cidr,
    int_or_none,
    new_default_route,
    new_interface,
    new_line,
)

PLATFORM = "huawei_vrp"

COMMON_KNOWN = frozenset(
    [
        "sysname",
        "version",
        "return",
        "interface",
        "vlan",
        "user-interface",
        "line",
        "aaa",
        "snmp-agent",
        "info-center",
        "ntp-service",
        "telnet",
        "ssh",
        "stelnet",
        "http",
        "acl",
        "undo",
        "lldp",
        "stp",
        "dhcp",
        "ip",
        "header",
        "clock",
        "dot1x",
        "sflow",
        "netstream",
        "drop-profile",
        "cpu-defend",
        "diffserv",
        "traffic",
        "port-group",
        "domain",
        "radius-server",
        "hwtacacs-server",
        "super",
        "local-user",
        "authentication-profile",
        "dot1x-access-profile",
        "mac-access-profile",
        "free-rule-template",
        "ftp",
        "sftp",
        "scp",
        "qos",
        "mac-address",
        "loopback-detect",
        "arp",
        "dns",
        "ipv6",
        "vrrp",
        "bfd",
        "ospf",
        "rip",
        "bgp",
        "isis",
        "route-policy",
        "lacp",
        "port-security",
        "user-group",
        "role",
        "password-recovery",
        "password-control",
        "irf",
        "irf-port",
        "radius",
        "hwtacacs",
        "public-key",
        "rsa",
        "ecc",
        "security-policy",
        "storm-constraint",
        "mirroring-group",
        "observe-port",
        "tftp-server",
        "cluster",
        "ndp",
        "ntdp",
        "http-server",
        "web-server",
        "system-view",
        "license",
        "pki",
        "ike",
    ]
)

_PHYSICAL = re.compile(
    r"^(Ethernet|FastEthernet|GigabitEthernet|XGigabitEthernet|Ten-GigabitEthernet|FortyGigE|"
    r"HundredGigE|MultiGE|25GE|40GE|100GE)\d+(/\d+)*$",
    re.I,
)
_LEVEL_OF_V3 = {"privacy": "priv", "authentication": "auth", "noauthentication": "noauth"}


class VrpFamilyParser:
    """Facts from a ``#``-separated, one-space-indented config (VRP; Comware through a subclass)."""

    platform = PLATFORM
    svi_prefix = "vlanif"
    lag_prefix = "eth-trunk"

    def __init__(self, lines: list[str], source: str) -> None:
        self.lines = lines
        self.b = FactsBuilder(self.platform, source)
        self.f = self.b.facts
        self.ssh_v1: bool | None = None
        self.cleartext_seen = False

    def note(self, path: str, node: Node) -> None:
        self.b.note(path, node.lineno, node.raw)

    def note_tree(self, path: str, node: Node) -> None:
        self.note(path, node)
        for child in node.walk():
            self.note(path, child)

    def run(self, roots: list[Node]) -> ParsedConfig:
        f = self.f
        f["logging"].update(timestamps_datetime=True, buffered=True)
        for node in roots:
            self.top(node, node.words, " ".join(node.words))
        if self.ssh_v1 is not None:
            f["management"]["ssh_version"] = 1 if self.ssh_v1 else 2
        f["services"]["password_encryption"] = not self.cleartext_seen
        f["snmp"]["v1_v2c_enabled"] = f["snmp"]["v1_v2c_enabled"] or bool(f["snmp"]["communities"])
        for ln in f["lines"]:
            if ln["kind"] == "vty" and {"telnet", "all"} & set(ln["transport_input"]):
                f["management"]["telnet_enabled"] = True
                self.b.prov["management.telnet_enabled"].extend(self.b.prov.get(f"lines[{ln['name']}]", []))
        if self.b.prov.get("management.telnet_disabled"):
            f["management"]["telnet_enabled"] = False
            self.b.prov.pop("management.telnet_disabled")
        self.interface_defaults()
        return self.b.result()

    def interface_defaults(self) -> None:
        """Dialect defaults a running config does not print (none on VRP)."""

    # -- top-level commands -------------------------------------------------------------------------
    def top(self, node: Node, w: list[str], text: str) -> None:
        f, b, note = self.f, self.b, self.note
        head = w[0].lower()
        if head == "sysname" and len(w) > 1:
            f["hostname"] = w[1]
            note("hostname", node)
        elif head == "interface" and len(w) > 1:
            self.interface(node, "".join(w[1:]))
        elif head in ("user-interface", "line") and len(w) > 2:
            self.line(node, w)
        elif text == "telnet server enable":
            f["management"]["telnet_enabled"] = True
            note("management.telnet_enabled", node)
        elif text == "undo telnet server enable":
            note("management.telnet_disabled", node)
        elif text in ("ssh server compatible-ssh1x enable", "ssh server compatible-ssh1x"):
            self.ssh_v1 = True
            note("management.ssh_version", node)
        elif text.startswith("undo ssh server compatible-ssh1x"):
            self.ssh_v1 = False
            note("management.ssh_version", node)
        elif head == "snmp-agent":
            self.snmp(node, w)
        elif head == "info-center" or text in ("undo info-center enable", "undo info-center logbuffer"):
            self.info_center(node, w, text)
        elif head == "ntp-service" and len(w) > 1:
            note("ntp", node)
            if w[1] in ("unicast-server", "unicast-peer") and len(w) > 2:
                addr = w[3] if w[2] in ("ipv6", "-a") and len(w) > 3 else w[2]
                b.add_unique("ntp.servers", addr)
                note("ntp.servers", node)
            elif w[1:3] == ["authentication", "enable"]:
                f["ntp"]["authenticate"] = True
                note("ntp.authenticate", node)
        elif head == "vlan" and len(w) > 1:
            self.vlans(node, w)
        elif head == "acl" and len(w) > 1:
            rest = [x for x in w[1:] if x not in ("number", "name", "basic", "advanced", "mac", "ipv6")]
            if rest and rest[0] not in ("match-order", "step"):
                b.add_unique("acls", rest[0])
                note(f"acls[{rest[0]}]", node)
        elif head == "header" and len(w) > 1:
            f["banner"] = True
            note("banner", node)
        elif text in ("lldp enable", "lldp global enable"):
            f["services"]["lldp"] = True
            note("services.lldp", node)
        elif text in ("undo lldp enable", "undo lldp global enable"):
            f["services"]["lldp"] = False
            note("services.lldp", node)
        elif text in ("dhcp snooping enable", "dhcp-snooping", "dhcp snooping"):
            f["services"]["dhcp_snooping"] = True
            note("services.dhcp_snooping", node)
        elif head == "ip" and w[1:2] == ["route-static"]:
            self.default_route(node, w)
        elif head in ("sflow", "netstream", "ip") and ("collector" in w or ("export" in w and "host" in w)):
            f["services"]["flow_export"] = True
            note("services.flow_export", node)
        elif head == "super" and "password" in w:
            f["enable"]["secret_set"] = True
            note("enable.secret_set", node)
            if "simple" in w:
                f["enable"]["password_cleartext"] = True
                self.cleartext_seen = True
                note("enable.password_cleartext", node)
        elif head == "dot1x" and (len(w) == 1 or w[1] == "enable"):
            f["aaa"]["dot1x_enabled"] = True
            note("aaa.dot1x_enabled", node)
        else:
            self.vendor_top(node, w, text)

    def default_route(self, node: Node, w: list[str]) -> None:
        """``ip route-static [vpn-instance X] 0.0.0.0 {0|0.0.0.0} {IF [ADDR] | ADDR} [preference N]``."""
        rest = w[4:] if w[2:3] == ["vpn-instance"] else w[2:]
        if len(rest) < 3 or rest[0] != "0.0.0.0" or rest[1] not in ("0", "0.0.0.0"):
            return
        hops = [rest[2]]
        if len(rest) > 3 and cidr(rest[2]) is None and cidr(rest[3]) is not None:
            hops.append(rest[3])  # an exit interface followed by the next-hop address
        after = rest[2 + len(hops) :]
        distance = int_or_none(after[1]) if after[:1] == ["preference"] and len(after) > 1 else None
        next_hop = " ".join(hops)
        self.b.item("default_routes", next_hop, lambda: new_default_route(next_hop, distance))
        self.note(f"default_routes[{next_hop}]", node)
        self.note("default_routes", node)

    def vendor_top(self, node: Node, w: list[str], text: str) -> None:
        """VRP-only top-level commands."""
        f, note = self.f, self.note
        head = w[0].lower()
        if text == "stelnet server enable":
            f["management"]["ssh_enabled"] = True
            note("management.ssh_enabled", node)
        elif text == "http server enable":
            f["management"]["http_server"] = True
            note("management.http_server", node)
        elif text == "http secure-server enable":
            f["management"]["https_server"] = True
            note("management.https_server", node)
        elif head == "aaa":
            f["aaa"]["new_model"] = True
            note("aaa.new_model", node)
            for child in node.children:
                cw = child.words
                if cw[0] == "local-user" and len(cw) > 2:
                    self.user_words(cw[1], cw[2:], child)
        elif head in ("radius-server", "hwtacacs-server") and w[1:2] == ["template"]:
            key = "radius_servers" if head == "radius-server" else "tacacs_servers"
            for child in node.children:
                cw = child.words
                if len(cw) > 2 and cw[0] == head and cw[1] == "authentication":
                    self.b.add_unique(f"aaa.{key}", cw[2])
                    note(f"aaa.{key}", node)
                    note(f"aaa.{key}", child)
        elif head == "stack" or text.startswith("stack member"):
            note("redundancy.stacking", node)
            self.f["redundancy"]["stacking"] = True

    # -- users -----------------------------------------------------------------------------------------
    def user_words(self, name: str, cw: list[str], node: Node) -> None:
        """One ``local-user NAME ...`` statement (VRP puts each attribute on its own line)."""
        user = self.b.item("users", name, lambda: {"name": name, "privilege": None, "secret_kind": None})
        self.note(f"users[{name}]", node)
        if cw[:2] == ["privilege", "level"] and len(cw) > 2:
            user["privilege"] = int_or_none(cw[2])
        elif cw[0] == "password" and len(cw) > 1:
            user["secret_kind"] = self.secret_kind(cw[1])

    def secret_kind(self, word: str) -> str | None:
        kinds = {"simple": "cleartext", "cipher": "weak", "irreversible-cipher": "hashed", "hash": "hashed"}
        kind = kinds.get(word)
        if kind == "cleartext":
            self.cleartext_seen = True
        return kind

    # -- SNMP and logging ----------------------------------------------------------------------------
    def snmp(self, node: Node, w: list[str]) -> None:
        f, b, note = self.f, self.b, self.note
        note("snmp", node)
        sub = w[1] if len(w) > 1 else ""
        if sub == "community" and len(w) > 3:
            access = "rw" if w[2] == "write" else "ro"
            rest = w[3:]
            if rest[0] in ("cipher", "simple") and len(rest) > 1:
                rest = rest[1:]
            name = rest[0]
            acl = rest[rest.index("acl") + 1] if "acl" in rest and rest.index("acl") + 1 < len(rest) else None
            b.item("snmp.communities", name, lambda: {"name": name, "access": access, "acl": acl}).update(
                access=access, acl=acl
            )
            note(f"snmp.communities[{name}]", node)
        elif sub == "sys-info" and len(w) > 2:
            if w[2] in ("contact", "location") and len(w) > 3:
                f["snmp"][w[2]] = " ".join(w[3:])
                note(f"snmp.{w[2]}", node)
            elif w[2] == "version":
                versions = set(w[3:])
                f["snmp"]["v1_v2c_enabled"] = bool(versions & {"v1", "v2c", "all"})
                note("snmp.v1_v2c_enabled", node)
        elif sub == "group" and len(w) > 3 and w[2] == "v3":
            level = _LEVEL_OF_V3.get(w[4] if len(w) > 4 else "", "noauth")
            b.item("snmp.v3_groups", w[3], lambda: {"name": w[3], "level": level})["level"] = level
            note(f"snmp.v3_groups[{w[3]}]", node)
        elif sub == "usm-user" and len(w) > 3 and w[2] == "v3":
            name = w[3]
            user = b.item("snmp.v3_users", name, lambda: {"name": name, "group": None, "level": "noauth"})
            rest = w[4:]
            if rest[:1] == ["group"] and len(rest) > 1:
                user["group"] = rest[1]
            elif rest and not rest[0].endswith("-mode") and rest[0] not in ("cipher", "simple"):
                user["group"] = rest[0]
            if "privacy-mode" in rest:
                user["level"] = "priv"
            elif "authentication-mode" in rest and user["level"] != "priv":
                user["level"] = "auth"
            note(f"snmp.v3_users[{name}]", node)
        elif sub == "target-host" and "address" in w:
            i = w.index("address") + 1
            if i < len(w) and w[i] == "udp-domain":
                i += 1
            if i < len(w):
                b.add_unique("snmp.trap_hosts", w[i])
                note("snmp.trap_hosts", node)

    def info_center(self, node: Node, w: list[str], text: str) -> None:
        f, note = self.f, self.note
        note("logging", node)
        if len(w) > 2 and w[1] == "loghost" and w[2] != "source":
            host = w[3] if w[2] in ("ipv6", "vpn-instance") and len(w) > 3 else w[2]
            self.b.add_unique("logging.hosts", host)
            note("logging.hosts", node)
        elif w[1:3] == ["source", "default"] and "level" in w and w.index("level") + 1 < len(w):
            if "loghost" in w:
                f["logging"]["trap_level"] = w[w.index("level") + 1]
                note("logging.trap_level", node)
        elif w[1:3] == ["timestamp", "log"] and len(w) > 3:
            f["logging"]["timestamps_datetime"] = w[3] not in ("boot", "none")
            note("logging.timestamps_datetime", node)
        elif text in ("undo info-center enable", "undo info-center logbuffer"):
            f["logging"]["buffered"] = False
            note("logging.buffered", node)

    # -- lines, interfaces, VLANs ----------------------------------------------------------------------
    def line(self, node: Node, w: list[str]) -> None:
        kind = {"con": "console", "console": "console", "vty": "vty", "aux": "aux"}.get(w[1].lower())
        if kind is None:
            return
        name = f"{kind} {' '.join(w[2:])}"
        path = f"lines[{name}]"
        entry = self.b.item("lines", name, lambda: new_line(name, kind))
        self.note_tree(path, node)
        for child in node.children:
            cw = child.words
            if cw[0] == "authentication-mode" and len(cw) > 1:
                entry["login"] = {"aaa": "aaa", "scheme": "aaa", "password": "password"}.get(cw[1], "none")
            elif cw[0] == "idle-timeout" and len(cw) > 1:
                minutes, seconds = int_or_none(cw[1]), int_or_none(cw[2]) if len(cw) > 2 else 0
                if minutes is not None and seconds is not None:
                    entry["exec_timeout_s"] = minutes * 60 + seconds
            elif cw[0] == "acl" and len(cw) > 2 and cw[-1] == "inbound":
                entry["access_class"] = cw[-2]
            elif cw[:2] == ["protocol", "inbound"] and len(cw) > 2:
                entry["transport_input"] = cw[2:]
            elif cw[:2] == ["set", "authentication"] and "simple" in cw:
                self.cleartext_seen = True

    def interface(self, node: Node, name: str) -> None:
        low = name.lower()
        svi = int_or_none(low[len(self.svi_prefix) :]) if low.startswith(self.svi_prefix) else None
        entry = self.b.item(
            "interfaces",
            name,
            lambda: new_interface(name, physical=bool(_PHYSICAL.match(name)), svi_vlan=svi),
        )
        path = f"interfaces[{name}]"
        self.note_tree(path, node)
        if low.startswith(self.lag_prefix):
            self.f["redundancy"]["port_channels"] += 1
            self.note("redundancy.port_channels", node)
        vrrp: set[str] = set()
        for child in node.children:
            cw = child.words
            text = " ".join(cw)
            if cw[0] == "description":
                entry["description"] = child.text[len("description") :].strip()
            elif text == "shutdown":
                entry["shutdown"] = True
            elif text == "undo shutdown":
                entry["shutdown"] = False
            elif cw[:2] == ["port", "link-type"] and len(cw) > 2:
                entry["mode"] = {"access": "access", "trunk": "trunk"}.get(cw[2])
            elif cw[:2] == ["ip", "address"] and len(cw) > 3:
                address = cidr(cw[2], cw[3])
                if address:
                    entry["ip_addresses"].append(address)
            elif cw[:2] == ["vrrp", "vrid"] and len(cw) > 3 and cw[3] == "virtual-ip":
                vrrp.add(cw[2])
                self.note("redundancy.vrrp_groups", child)
            elif text == "port-security enable":
                entry["port_security"] = True
            elif text in ("dot1x enable", "dot1x") or cw[0] == "authentication-profile":
                entry["dot1x"] = True
            elif cw[0] in ("traffic-filter", "packet-filter") and ("inbound" in cw or "outbound" in cw):
                direction = "in" if "inbound" in cw else "out"
                entry[f"acl_{direction}"] = _filter_acl(cw)
            else:
                self.vendor_interface(entry, cw, text)
        if entry["mode"] == "access" and entry["access_vlan"] is None:
            entry["access_vlan"] = 1
        if entry["ip_addresses"] and entry["mode"] is None:
            entry["mode"] = "routed"
        self.f["redundancy"]["vrrp_groups"] += len(vrrp)

    def vendor_interface(self, entry: dict[str, Any], cw: list[str], text: str) -> None:
        """VRP-only interface sub-commands."""
        if cw[:3] == ["port", "default", "vlan"] and len(cw) > 3:
            entry["access_vlan"] = int_or_none(cw[3])
        elif cw[0] == "eth-trunk" and len(cw) > 1:
            entry["channel_group"] = int_or_none(cw[1])

    def vlans(self, node: Node, w: list[str]) -> None:
        ids: list[int] = []
        words = w[2:] if w[1] == "batch" else w[1:]
        i = 0
        while i < len(words):
            start = int_or_none(words[i])
            if start is not None and i + 2 < len(words) and words[i + 1] == "to":
                end = int_or_none(words[i + 2])
                if end is not None and 0 < start <= end <= 4094:
                    ids.extend(range(start, end + 1))
                i += 3
                continue
            if start is not None and 0 < start <= 4094:
                ids.append(start)
            i += 1
        name = next(
            (
                c.text.split(None, 1)[1]
                for c in node.children
                if c.words[0] in ("name", "description") and len(c.words) > 1
            ),
            None,
        )
        for vid in ids:
            item = self.b.item("vlans", str(vid), lambda v=vid: {"id": v, "name": None})
            if name is not None:
                item["name"] = name
            self.note_tree(f"vlans[{vid}]", node)


def _filter_acl(cw: list[str]) -> str | None:
    """The ACL of ``traffic-filter inbound acl [name] X`` (VRP) or ``packet-filter [name] X inbound``
    (Comware); None for a form not understood."""
    words = [x for x in cw[1:] if x not in ("inbound", "outbound", "acl", "name", "ipv6", "mac")]
    return words[0] if words else None


def parse_family(
    parser_cls: type[VrpFamilyParser],
    known: frozenset[str],
    lines: list[str],
    source: str,
) -> ParsedConfig:
    """Shared VRP/Comware flow: vocabulary check, truncation check (final ``return``), then facts."""
    platform = parser_cls.platform
    roots = build_tree(lines)
    check_vocabulary(((n.lineno, n.words[0]) for n in roots), known, platform, source)
    number, last = last_content_line(lines, ("#",))
    if last != "return":
        raise ConfigParseError(
            source,
            number,
            "cấu hình bị cắt: thiếu dòng `return` cuối cùng / truncated config: no final `return` line",
        )
    return parser_cls(lines, source).run(roots)


def parse(lines: list[str], source: str) -> ParsedConfig:
    """Parse a VRP running config; ConfigParseError if truncated or not VRP."""
    return parse_family(VrpFamilyParser, COMMON_KNOWN, lines, source)
