"""Cisco IOS / IOS-XE running config -> normalized facts, on our own indented-block tree (`build_ios_tree`).

ciscoconfparse2 built this tree before; it costs 15–30 ms per config against ~0.5 ms for ours, so it is
now only the tests' oracle for the tree's shape (ADR 0005).

IOS defaults that a running config does not print are applied where the security meaning depends on
them: service pad, IP source-route and CDP are on unless ``no ...`` is shown; a vty without
``transport input`` accepts every protocol (``all``) as on the 12.x/15.x Catalyst images common in
communes; a vty without ``login`` asks for the line password, a console without it asks for nothing.
"""

from __future__ import annotations

import re

from .blocks import Node, build_ios_tree, check_vocabulary, last_content_line
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

PLATFORM = "cisco_ios"


KNOWN = frozenset(
    [
        "version",
        "service",
        "hostname",
        "boot",
        "boot-start-marker",
        "boot-end-marker",
        "logging",
        "aaa",
        "enable",
        "username",
        "clock",
        "ip",
        "ipv6",
        "no",
        "vtp",
        "spanning-tree",
        "vlan",
        "interface",
        "line",
        "snmp-server",
        "snmp",
        "ntp",
        "banner",
        "end",
        "radius-server",
        "radius",
        "tacacs-server",
        "tacacs",
        "access-list",
        "crypto",
        "archive",
        "control-plane",
        "errdisable",
        "lldp",
        "cdp",
        "mac",
        "port-channel",
        "system",
        "mls",
        "class-map",
        "policy-map",
        "router",
        "key",
        "dot1x",
        "authentication",
        "device-tracking",
        "udld",
        "license",
        "switch",
        "redundancy",
        "diagnostic",
        "memory",
        "file",
        "call-home",
        "alias",
        "transceiver",
        "monitor",
        "power",
        "vstack",
        "track",
        "login",
        "platform",
        "mac-address-table",
        "sdm",
        "event",
        "privilege",
        "exception",
        "scheduler",
        "default",
        "security",
        "flow",
        "sampler",
        "netconf",
        "restconf",
        "vrf",
        "route-map",
        "hw-module",
        "multilink",
        "building",
        "current",
        "!",
        "exit",
    ]
)

_PHYSICAL = re.compile(
    r"^(Ethernet|FastEthernet|GigabitEthernet|TenGigabitEthernet|TwentyFiveGigE|FortyGigabitEthernet|"
    r"HundredGigE|AppGigabitEthernet|Fa|Gi|Te)\d+(/\d+)*$",
    re.I,
)
_LINE_KIND = {"con": "console", "console": "console", "vty": "vty", "aux": "aux"}


def _secret_kind(words: list[str]) -> str | None:
    """Kind of the secret in ``... secret|password [type] VALUE`` words."""
    for i, word in enumerate(words):
        if word == "nopassword":
            return None
        if word in ("secret", "password") and i + 1 < len(words):
            rest = words[i + 1 :]
            kind = rest[0] if len(rest) > 1 and rest[0].isdigit() else "0"
            if word == "secret":
                return "cleartext" if kind == "0" else "hashed"
            return {"0": "cleartext", "7": "weak"}.get(kind, "hashed")
    return None


class IosParser:
    """Facts from an IOS-style tree; `ruijie_rgos` subclasses it for RGOS's own commands and defaults."""

    platform = PLATFORM

    def __init__(self, lines: list[str], source: str) -> None:
        self.lines = lines
        self.b = FactsBuilder(self.platform, source)
        self.f = self.b.facts

    def note(self, path: str, node: Node) -> None:
        self.b.note(path, node.lineno, node.raw)

    def defaults(self) -> None:
        """What the platform runs when the config does not say (IOS: PAD, source-route and CDP on)."""
        self.f["services"].update(
            pad=True, source_route=True, small_servers=False, finger=False, cdp=True, lldp=False
        )

    def run(self, tops: list[Node]) -> ParsedConfig:
        self.defaults()
        for node in tops:
            self.top(node, node.words, " ".join(node.words))
        self.finish()
        return self.b.result()

    def top(self, obj: Node, w: list[str], text: str) -> None:
        f, note = self.f, self.note
        head = w[0]
        if head == "hostname" and len(w) > 1:
            f["hostname"] = w[1]
            note("hostname", obj)
        elif head == "interface" and len(w) > 1:
            self.interface(obj, "".join(w[1:]))
        elif head == "line" and len(w) > 2:
            self.line(obj, w)
        elif head == "username" and len(w) > 1:
            user = self.b.item("users", w[1], lambda: {"name": w[1], "privilege": None, "secret_kind": None})
            if "privilege" in w and w.index("privilege") + 1 < len(w):
                user["privilege"] = int_or_none(w[w.index("privilege") + 1])
            kind = _secret_kind(w)
            if kind is not None:
                user["secret_kind"] = kind
            note(f"users[{w[1]}]", obj)
        elif text.startswith("enable secret"):
            f["enable"]["secret_set"] = True
            note("enable.secret_set", obj)
        elif text.startswith("enable password"):
            kind = _secret_kind(w)
            f["enable"]["password_cleartext"] = f["enable"]["password_cleartext"] or kind == "cleartext"
            note("enable.password_cleartext", obj)
        elif text == "aaa new-model":
            f["aaa"]["new_model"] = True
            note("aaa.new_model", obj)
        elif head in ("radius-server", "tacacs-server") and len(w) > 2 and w[1] == "host":
            key = "radius_servers" if head == "radius-server" else "tacacs_servers"
            self.b.add_unique(f"aaa.{key}", w[2])
            note(f"aaa.{key}", obj)
        elif head in ("radius", "tacacs") and len(w) > 2 and w[1] == "server":
            key = "radius_servers" if head == "radius" else "tacacs_servers"
            for child in obj.children:
                cw = child.words
                if len(cw) >= 3 and cw[0] == "address" and cw[1] in ("ipv4", "ipv6"):
                    self.b.add_unique(f"aaa.{key}", cw[2])
                    note(f"aaa.{key}", obj)
                    note(f"aaa.{key}", child)
        elif text == "dot1x system-auth-control":
            f["aaa"]["dot1x_enabled"] = True
            note("aaa.dot1x_enabled", obj)
        elif head == "snmp-server":
            self.snmp(obj, w)
        elif head == "logging":
            self.logging(obj, w)
        elif head == "ntp" and len(w) > 1:
            note("ntp", obj)
            if w[1] in ("server", "peer"):
                addr = w[4] if len(w) > 4 and w[2] == "vrf" else (w[2] if len(w) > 2 else None)
                if addr:
                    self.b.add_unique("ntp.servers", addr)
                    note("ntp.servers", obj)
            elif w[1] == "authenticate":
                f["ntp"]["authenticate"] = True
                note("ntp.authenticate", obj)
        elif head in ("service", "no", "ip", "cdp", "lldp"):
            self.service(obj, w, text)
        elif head == "vlan" and len(w) > 1:
            self.vlans(obj, w[1])
        elif head == "access-list" and len(w) > 1:
            self.b.add_unique("acls", w[1])
            note(f"acls[{w[1]}]", obj)
        elif head == "banner":
            f["banner"] = True
            note("banner", obj)
            for child in obj.children:
                note("banner", child)
        elif head == "switch" and len(w) > 2 and w[2] == "provision":
            note("redundancy.stacking", obj)
        elif head in ("flow", "sampler"):
            if len(w) > 1 and w[1] == "exporter":
                f["services"]["flow_export"] = True
                note("services.flow_export", obj)
        elif head == "sflow" and "destination" in w:
            f["services"]["flow_export"] = True
            note("services.flow_export", obj)

    def service(self, obj: Node, w: list[str], text: str) -> None:
        f, note = self.f, self.note
        neg = w[0] == "no"
        body = " ".join(w[1:] if neg else w)
        s = f["services"]
        toggles = {
            "service password-encryption": "password_encryption",
            "service pad": "pad",
            "ip source-route": "source_route",
            "service tcp-small-servers": "small_servers",
            "service udp-small-servers": "small_servers",
            "ip finger": "finger",
            "service finger": "finger",
            "cdp run": "cdp",
            "lldp run": "lldp",
        }
        if body in toggles:
            key = toggles[body]
            s[key] = not neg
            note(f"services.{key}", obj)
        elif body == "ip dhcp snooping":
            s["dhcp_snooping"] = not neg
            note("services.dhcp_snooping", obj)
        elif body == "ip http server":
            f["management"]["http_server"] = not neg
            note("management.http_server", obj)
        elif body == "ip http secure-server":
            f["management"]["https_server"] = not neg
            note("management.https_server", obj)
        elif body.startswith("ip ssh") and not neg:
            f["management"]["ssh_enabled"] = True
            note("management.ssh_enabled", obj)
            if body.startswith("ip ssh version") and len(w) > 3:
                f["management"]["ssh_version"] = int_or_none(w[3])
                note("management.ssh_version", obj)
        elif body.startswith("ip route ") and not neg:
            self.default_route(obj, w)
        elif body.startswith("ip flow-export destination") and not neg:
            s["flow_export"] = True
            note("services.flow_export", obj)
        elif body.startswith("ip access-list") and not neg and len(w) > 3:
            self.b.add_unique("acls", w[3])
            note(f"acls[{w[3]}]", obj)
        elif text.startswith("service timestamps log datetime"):
            f["logging"]["timestamps_datetime"] = True
            note("logging", obj)
            note("logging.timestamps_datetime", obj)

    def default_route(self, obj: Node, w: list[str]) -> None:
        """``ip route [vrf X] 0.0.0.0 0.0.0.0 {IF [ADDR] | ADDR} [DISTANCE] …``: a static default route."""
        rest = w[4:] if w[2:3] == ["vrf"] else w[2:]
        if rest[:2] != ["0.0.0.0", "0.0.0.0"] or len(rest) < 3:
            return
        hops = [rest[2]]
        if len(rest) > 3 and cidr(rest[2]) is None and cidr(rest[3]) is not None:
            hops.append(rest[3])  # an exit interface followed by the next-hop address
        after = rest[2 + len(hops) :]
        distance = int_or_none(after[0]) if after else None
        next_hop = " ".join(hops)
        self.b.item("default_routes", next_hop, lambda: new_default_route(next_hop, distance))
        self.note(f"default_routes[{next_hop}]", obj)
        self.note("default_routes", obj)

    def snmp(self, obj: Node, w: list[str]) -> None:
        f, note, b = self.f, self.note, self.b
        note("snmp", obj)
        sub = w[1] if len(w) > 1 else ""
        if sub == "community" and len(w) > 2:
            rest = w[3:]
            if rest[:1] == ["view"]:
                rest = rest[2:]
            access = "rw" if rest[:1] and rest[0].upper() == "RW" else "ro"
            acl = rest[1] if len(rest) > 1 and rest[0].upper() in ("RO", "RW") else None
            if rest and rest[0].upper() not in ("RO", "RW"):
                acl = rest[0]
            comm = b.item("snmp.communities", w[2], lambda: {"name": w[2], "access": access, "acl": acl})
            comm.update(access=access, acl=acl)
            note(f"snmp.communities[{w[2]}]", obj)
        elif sub == "group" and len(w) > 3 and w[3] == "v3":
            level = {"priv": "priv", "auth": "auth"}.get(w[4] if len(w) > 4 else "", "noauth")
            b.item("snmp.v3_groups", w[2], lambda: {"name": w[2], "level": level})["level"] = level
            note(f"snmp.v3_groups[{w[2]}]", obj)
        elif sub == "user" and len(w) > 4 and "v3" in w:
            level = "priv" if "priv" in w else ("auth" if "auth" in w else "noauth")
            b.item("snmp.v3_users", w[2], lambda: {"name": w[2], "group": w[3], "level": level})
            note(f"snmp.v3_users[{w[2]}]", obj)
        elif sub == "host" and len(w) > 2:
            b.add_unique("snmp.trap_hosts", w[2])
            note("snmp.trap_hosts", obj)
        elif sub in ("contact", "location") and len(w) > 2:
            f["snmp"][sub] = " ".join(w[2:])
            note(f"snmp.{sub}", obj)

    def logging(self, obj: Node, w: list[str]) -> None:
        f, note = self.f, self.note
        note("logging", obj)
        sub = w[1] if len(w) > 1 else ""
        if sub == "host" and len(w) > 2:
            host = w[4] if w[2] == "vrf" and len(w) > 4 else w[2]
            self.b.add_unique("logging.hosts", host)
            note("logging.hosts", obj)
        elif cidr(sub) is not None:
            self.b.add_unique("logging.hosts", sub)
            note("logging.hosts", obj)
        elif sub == "trap" and len(w) > 2:
            f["logging"]["trap_level"] = w[2]
            note("logging.trap_level", obj)
        elif sub == "buffered":
            f["logging"]["buffered"] = True
            note("logging.buffered", obj)

    def line(self, obj: Node, w: list[str]) -> None:
        kind = _LINE_KIND.get(w[1].lower())
        if kind is None:
            return
        name = f"{kind} {' '.join(w[2:])}"
        path = f"lines[{name}]"
        entry = self.b.item("lines", name, lambda: new_line(name, kind))
        self.note(path, obj)
        login: str | None = None
        has_password = False
        for child in obj.children:
            cw = child.words
            ctext = " ".join(cw)
            self.note(path, child)
            if ctext == "no login":
                login = "none"
            elif ctext == "login local":
                login = "local"
            elif ctext.startswith("login authentication"):
                login = "aaa"
            elif ctext == "login":
                login = "password"
            elif cw[0] == "password":
                has_password = True
            elif cw[0] == "exec-timeout" and len(cw) > 1:
                minutes, seconds = int_or_none(cw[1]), int_or_none(cw[2]) if len(cw) > 2 else 0
                if minutes is not None and seconds is not None:
                    entry["exec_timeout_s"] = minutes * 60 + seconds
            elif ctext == "no exec":
                entry["transport_input"] = ["none"]
            elif cw[0] == "access-class" and len(cw) > 2 and "in" in cw[2:]:
                entry["access_class"] = cw[1]
            elif cw[:2] == ["transport", "input"]:
                entry["transport_input"] = cw[2:]
        if login is None:
            if self.f["aaa"]["new_model"]:
                login = "aaa"
            elif kind == "vty" or has_password:
                login = "password"
            else:
                login = "none"
        entry["login"] = login
        if kind == "vty" and not entry["transport_input"]:
            entry["transport_input"] = ["all"]

    def interface(self, obj: Node, name: str) -> None:
        m = re.fullmatch(r"(?i)vlan(\d+)", name)
        svi = int(m.group(1)) if m else None
        entry = self.b.item(
            "interfaces",
            name,
            lambda: new_interface(name, physical=bool(_PHYSICAL.match(name)), svi_vlan=svi),
        )
        path = f"interfaces[{name}]"
        self.note(path, obj)
        if name.lower().startswith("port-channel"):
            self.f["redundancy"]["port_channels"] += 1
            self.note("redundancy.port_channels", obj)
        hsrp: set[str] = set()
        vrrp: set[str] = set()
        for child in obj.children:
            cw = child.words
            ctext = " ".join(cw)
            self.note(path, child)
            if cw[0] == "description":
                entry["description"] = ctext[len("description ") :]
            elif ctext == "shutdown":
                entry["shutdown"] = True
            elif ctext == "no shutdown":
                entry["shutdown"] = False
            elif cw[:2] == ["switchport", "mode"] and len(cw) > 2:
                entry["mode"] = {"access": "access", "trunk": "trunk"}.get(cw[2])
            elif cw[:3] == ["switchport", "access", "vlan"] and len(cw) > 3:
                entry["access_vlan"] = int_or_none(cw[3])
            elif ctext == "no switchport":
                entry["mode"] = "routed"
            elif ctext == "switchport port-security":
                entry["port_security"] = True
            elif ctext in (
                "dot1x pae authenticator",
                "authentication port-control auto",
                "dot1x port-control auto",
            ):
                entry["dot1x"] = True
            elif cw[0] == "channel-group" and len(cw) > 1:
                entry["channel_group"] = int_or_none(cw[1])
            elif cw[:2] == ["ip", "access-group"] and len(cw) > 3 and cw[3] in ("in", "out"):
                entry[f"acl_{cw[3]}"] = cw[2]
            elif cw[:2] == ["ip", "address"] and len(cw) > 3:
                address = cidr(cw[2], cw[3])
                if address:
                    entry["ip_addresses"].append(address)
            elif cw[0] == "standby" and "ip" in cw:
                hsrp.add(cw[1] if cw[1] != "ip" else "0")
                self.note("redundancy.hsrp_groups", child)
            elif cw[0] == "vrrp" and len(cw) > 2 and cw[2] in ("ip", "address"):
                vrrp.add(cw[1])
                self.note("redundancy.vrrp_groups", child)
        if entry["mode"] == "access" and entry["access_vlan"] is None:
            entry["access_vlan"] = 1
        if entry["ip_addresses"] and entry["mode"] is None:
            entry["mode"] = "routed"
        self.f["redundancy"]["hsrp_groups"] += len(hsrp)
        self.f["redundancy"]["vrrp_groups"] += len(vrrp)

    def vlans(self, obj: Node, spec: str) -> None:
        ids: list[int] = []
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            a, z = int_or_none(lo), int_or_none(hi or lo)
            if a is not None and z is not None and 0 < a <= z <= 4094:
                ids.extend(range(a, z + 1))
        name = next(
            (c.text.split(None, 1)[1] for c in obj.children if c.words[:1] == ["name"] and len(c.words) > 1),
            None,
        )
        for vid in ids:
            self.b.item("vlans", str(vid), lambda v=vid: {"id": v, "name": None})["name"] = name
            self.note(f"vlans[{vid}]", obj)
            for child in obj.children:
                self.note(f"vlans[{vid}]", child)

    def finish(self) -> None:
        f = self.f
        stack_lines = self.b.prov.get("redundancy.stacking", [])
        if stack_lines:
            f["redundancy"]["stacking"] = len(stack_lines) >= 2
        vty = [ln for ln in f["lines"] if ln["kind"] == "vty"]
        for ln in vty:
            if {"ssh", "all"} & set(ln["transport_input"]):
                f["management"]["ssh_enabled"] = f["management"]["ssh_enabled"] or ln["login"] != "none"
            if {"telnet", "all"} & set(ln["transport_input"]):
                f["management"]["telnet_enabled"] = True
                for entry in self.b.prov.get(f"lines[{ln['name']}]", []):
                    self.b.note("management.telnet_enabled", *entry)
        f["snmp"]["v1_v2c_enabled"] = bool(f["snmp"]["communities"])


def parse_ios_family(
    parser_cls: type[IosParser], known: frozenset[str], lines: list[str], source: str
) -> ParsedConfig:
    """Shared IOS/RGOS flow: vocabulary check, truncation check (final ``end``), then facts."""
    tops, unclosed = build_ios_tree(lines)
    check_vocabulary(((node.lineno, node.words[0]) for node in tops), known, parser_cls.platform, source)
    number, last = last_content_line(lines, ("!",))
    if last != "end":
        raise ConfigParseError(
            source,
            number,
            "cấu hình bị cắt: thiếu dòng `end` cuối cùng / truncated config: no final `end` line",
        )
    if unclosed is not None:
        # Without its closing line the text would swallow every command after it, `end` included.
        raise ConfigParseError(
            source,
            unclosed.lineno,
            f"khối văn bản `{unclosed.text}` không có dòng đóng, nuốt hết cấu hình phía sau / "
            f"`{unclosed.text}` is never closed: it would swallow the rest of the config",
        )
    # aaa new-model changes how lines authenticate, wherever it appears: read it first.
    parser = parser_cls(lines, source)
    if any(node.text == "aaa new-model" for node in tops):
        parser.f["aaa"]["new_model"] = True
    return parser.run(tops)


def parse(lines: list[str], source: str) -> ParsedConfig:
    """Parse IOS running-config `lines`; ConfigParseError if truncated or not IOS."""
    return parse_ios_family(IosParser, KNOWN, lines, source)
