"""Juniper Junos config (curly-brace ``show configuration`` or ``| display set``) -> normalized facts.

Both forms are first reduced to set-style statements (token lists with their line number), so one set of
rules reads both. ``inactive:`` / ``deactivate`` statements are ignored, as Junos ignores them.
Junos has no IOS-style lines: the console is reported as ``console 0`` and remote sessions (SSH/Telnet
services) as ``vty``; their idle timeout is the login classes' ``idle-timeout`` and 0 (never, the Junos
default) when a user's class sets none; their source ACL is the lo0 input filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .blocks import check_vocabulary
from .model import (
    ConfigParseError,
    FactsBuilder,
    ParsedConfig,
    int_or_none,
    new_default_route,
    new_interface,
    new_line,
)

PLATFORM = "juniper_junos"

KNOWN = frozenset(
    [
        "version",
        "system",
        "chassis",
        "interfaces",
        "snmp",
        "routing-options",
        "protocols",
        "policy-options",
        "firewall",
        "vlans",
        "ethernet-switching-options",
        "switch-options",
        "security",
        "poe",
        "virtual-chassis",
        "class-of-service",
        "forwarding-options",
        "groups",
        "apply-groups",
        "services",
        "access",
        "routing-instances",
        "event-options",
        "bridge-domains",
        "multi-chassis",
        "applications",
        "access-profile",
        "schedulers",
        "set",
        "deactivate",
        "delete",
        "activate",
    ]
)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[{};\[\]]|[^\s{};\[\]"]+')
_PHYSICAL = re.compile(r"^(ge|xe|et|fe|mge|xle|fte)-\d+/\d+/\d+$")
_HASHED, _CLEARTEXT = "hashed", "cleartext"  # secret kinds (named so they do not read as passwords)
_PRIVILEGE = {"super-user": 15, "operator": 5, "read-only": 1, "unauthorized": 0}


@dataclass
class Stmt:
    """One set-style statement: full token path, its 1-based line number and that line as written."""

    lineno: int
    raw: str
    toks: list[str]

    def starts(self, *prefix: str) -> bool:
        return self.toks[: len(prefix)] == list(prefix)


def _tokens(line: str) -> list[str]:
    """Words of one line, up to a ``#`` comment; quotes removed (an unterminated quote runs to line end)."""
    words: list[str] = []
    for tok in _TOKEN.findall(line):
        if tok.startswith("#"):
            break
        words.append(tok[1:-1] if len(tok) > 1 and tok[0] == tok[-1] == '"' else tok.strip('"'))
    return words


def _strip_comments(lines: list[str]) -> Iterator[tuple[int, str, str]]:
    """(number, line as written, line without comments) for each line; handles /* */ across lines."""
    in_block = False
    for number, raw in enumerate(lines, start=1):
        text = raw
        out = ""
        while text:
            if in_block:
                end = text.find("*/")
                if end < 0:
                    text = ""
                    break
                text, in_block = text[end + 2 :], False
            else:
                start = text.find("/*")
                if start < 0:
                    out += text
                    break
                out, text, in_block = out + text[:start], text[start + 2 :], True
        if out.strip().startswith("#"):
            out = ""
        yield number, raw, out


def statements(lines: list[str], source: str) -> tuple[list[Stmt], list[tuple[int, str]]]:
    """Set-style statements of a brace or set config, and the (line, first word) of top-level commands."""
    cleaned = list(_strip_comments(lines))
    set_form = not any(c.rstrip().endswith("{") for _, _, c in cleaned) and any(
        c.strip().startswith("set ") for _, _, c in cleaned
    )
    return _set_statements(cleaned) if set_form else _brace_statements(cleaned, source)


def _set_statements(cleaned: list[tuple[int, str, str]]) -> tuple[list[Stmt], list[tuple[int, str]]]:
    out: list[Stmt] = []
    tops: list[tuple[int, str]] = []
    inactive: list[list[str]] = []
    for number, raw, text in cleaned:
        toks = _tokens(text)
        if not toks:
            continue
        tops.append((number, toks[0]))
        if toks[0] == "set" and len(toks) > 1:
            tops[-1] = (number, toks[1])
            out.append(Stmt(number, raw, [t for t in toks[1:] if t not in ("[", "]")]))
        elif toks[0] == "deactivate":
            inactive.append(toks[1:])
    if inactive:
        out = [s for s in out if not any(s.toks[: len(p)] == p for p in inactive)]
    return out, tops


def _brace_statements(
    cleaned: list[tuple[int, str, str]], source: str
) -> tuple[list[Stmt], list[tuple[int, str]]]:
    out: list[Stmt] = []
    tops: list[tuple[int, str]] = []
    stack: list[tuple[list[str], int, bool]] = []  # (path, line opened, inactive)
    pending: list[str] = []
    start = (0, "")
    in_list = False
    listed: list[str] = []
    for number, raw, text in cleaned:
        for tok in _tokens(text):
            if not pending and tok not in "{};[]":
                start = (number, raw)
                if not stack:
                    tops.append((number, tok.removeprefix("inactive:")))
            if tok == "[":
                in_list = True
            elif tok == "]":
                in_list = False
            elif in_list:
                listed.append(tok)
            elif tok == "{":
                path = stack[-1][0] if stack else []
                inactive = bool(stack and stack[-1][2]) or any(t == "inactive:" for t in pending)
                words = [t for t in pending if t not in ("inactive:", "protect:")]
                stack.append((path + words, number, inactive))
                if not inactive and words:
                    out.append(Stmt(start[0], start[1], path + words))
                pending = []
            elif tok == "}":
                if not stack:
                    raise ConfigParseError(
                        source, number, "dấu `}` thừa / unbalanced braces: `}` closes no block"
                    )
                stack.pop()
                pending = []
            elif tok == ";":
                inactive = bool(stack and stack[-1][2]) or "inactive:" in pending
                words = [t for t in pending if t not in ("inactive:", "protect:")]
                path = stack[-1][0] if stack else []
                if not inactive and words:
                    tails = [[item] for item in listed] or [[]]
                    out.extend(Stmt(start[0], start[1], path + words + tail) for tail in tails)
                pending, listed = [], []
            else:
                pending.append(tok)
    if stack:
        path, opened, _ = stack[-1]
        raise ConfigParseError(
            source,
            opened,
            f"cấu hình bị cắt: khối `{' '.join(path[-2:])} {{` không được đóng / truncated config: "
            "unbalanced braces, the block opened here is never closed",
        )
    if pending:
        raise ConfigParseError(source, start[0], "cấu hình bị cắt: lệnh thiếu `;` / truncated config: no `;`")
    return out, tops


class _JunosParser:
    def __init__(self, stmts: list[Stmt], source: str) -> None:
        self.stmts = stmts
        self.b = FactsBuilder(PLATFORM, source)
        self.f = self.b.facts
        self.aggregates: set[str] = set()

    def note(self, path: str, s: Stmt) -> None:
        self.b.note(path, s.lineno, s.raw)

    def iface(self, name: str) -> dict[str, Any]:
        physical = bool(_PHYSICAL.match(name))
        return self.b.item("interfaces", name, lambda: new_interface(name, physical=physical))

    def run(self) -> ParsedConfig:
        f, b, note = self.f, self.b, self.note
        f["services"].update(password_encryption=True, finger=False, lldp=False)
        f["logging"]["timestamps_datetime"] = True
        classes: dict[str, int] = {}
        full_classes: set[str] = set()  # custom login classes with `permissions all` (= privilege 15)
        user_class: dict[str, str] = {}
        auth_order: list[str] = []
        lo0_filter: Stmt | None = None
        vlan_ids: dict[str, int] = {}
        l3_map: dict[str, str] = {}
        vrrp: set[tuple[str, str]] = set()
        members: dict[str, str] = {}
        vc_members: set[str] = set()
        mac_limit: list[tuple[str, Stmt]] = []
        dot1x_ifs: list[tuple[str, Stmt]] = []
        for s in self.stmts:
            t = s.toks
            n = len(t)
            if s.starts("system", "host-name") and n > 2:
                f["hostname"] = t[2]
                note("hostname", s)
            elif s.starts("system", "services") and n > 2:
                svc = t[2]
                m = f["management"]
                if svc == "ssh":
                    m["ssh_enabled"] = True
                    note("management.ssh_enabled", s)
                    if "protocol-version" in t:
                        versions = t[t.index("protocol-version") + 1 :]
                        m["ssh_version"] = 1 if "v1" in versions else 2
                        note("management.ssh_version", s)
                elif svc == "telnet":
                    m["telnet_enabled"] = True
                    note("management.telnet_enabled", s)
                elif svc == "web-management" and n > 3 and t[3] in ("http", "https"):
                    key = "http_server" if t[3] == "http" else "https_server"
                    m[key] = True
                    note(f"management.{key}", s)
                elif svc == "finger":
                    f["services"]["finger"] = True
                    note("services.finger", s)
            elif s.starts("system", "login", "class") and n > 5 and t[4] in ("idle-timeout", "permissions"):
                if t[4] == "idle-timeout" and (minutes := int_or_none(t[5])) is not None:
                    classes[t[3]] = minutes * 60
                elif t[5] == "all":
                    full_classes.add(t[3])
                note(f"login_class[{t[3]}]", s)
            elif s.starts("system", "login", "user") and n > 3:
                name = t[3]
                user = b.item(
                    "users", name, lambda un=name: {"name": un, "privilege": None, "secret_kind": None}
                )
                note(f"users[{name}]", s)
                if n > 5 and t[4] == "class":
                    user_class[name] = t[5]
                    user["privilege"] = 15 if t[5] in full_classes else _PRIVILEGE.get(t[5])
                elif "encrypted-password" in t:
                    user["secret_kind"] = _HASHED
                elif "plain-text-password" in t:
                    user["secret_kind"] = _CLEARTEXT
            elif s.starts("system", "login") and n > 2 and t[2] in ("message", "announcement"):
                f["banner"] = True
                note("banner", s)
            elif s.starts("system", "root-authentication") and n > 2:
                root = b.item("users", "root", lambda: {"name": "root", "privilege": 15, "secret_kind": None})
                if t[2] == "encrypted-password":
                    root["secret_kind"] = _HASHED
                    f["enable"]["secret_set"] = True
                    note("enable.secret_set", s)
                note("users[root]", s)
            elif s.starts("system", "authentication-order"):
                auth_order.extend(t[2:])
                note("aaa.new_model", s)
            elif (s.starts("system", "radius-server") or s.starts("access", "radius-server")) and n > 2:
                b.add_unique("aaa.radius_servers", t[2])
                note("aaa.radius_servers", s)
            elif s.starts("system", "tacplus-server") and n > 2:
                b.add_unique("aaa.tacacs_servers", t[2])
                note("aaa.tacacs_servers", s)
            elif s.starts("system", "syslog"):
                note("logging", s)
                if n > 3 and t[2] == "host":
                    b.add_unique("logging.hosts", t[3])
                    note("logging.hosts", s)
                    if n > 5 and t[4] == "any" and f["logging"]["trap_level"] is None:
                        f["logging"]["trap_level"] = t[5]
                        note("logging.trap_level", s)
                elif n > 2 and t[2] == "file":
                    f["logging"]["buffered"] = True
                    note("logging.buffered", s)
            elif s.starts("system", "ntp"):
                note("ntp", s)
                if n > 3 and t[2] == "server":
                    b.add_unique("ntp.servers", t[3])
                    note("ntp.servers", s)
                elif n > 2 and t[2] == "trusted-key":
                    f["ntp"]["authenticate"] = True
                    note("ntp.authenticate", s)
            elif s.starts("snmp"):
                self.snmp(s, t)
            elif s.starts("interfaces") and n > 1:
                self.interface(s, t, vrrp, members)
                if t[1] == "lo0" and "filter" in t and "input" in t and t.index("input") + 1 < n:
                    lo0_filter = s
            elif s.starts("vlans") and n > 3 and t[2] in ("vlan-id", "l3-interface"):
                if t[2] == "vlan-id" and (vid := int_or_none(t[3])) is not None:
                    vlan_ids[t[1]] = vid
                    b.item("vlans", t[1], lambda v=vid, vn=t[1]: {"id": v, "name": vn})
                    note(f"vlans[{vid}]", s)
                else:
                    l3_map[t[3]] = t[1]
            elif s.starts("routing-options", "static", "route") and n > 4 and t[3] in ("0.0.0.0/0", "0/0"):
                self.default_route(s, t[4:])
            elif s.starts("protocols", "dot1x"):
                f["aaa"]["dot1x_enabled"] = True
                note("aaa.dot1x_enabled", s)
                if "interface" in t and t.index("interface") + 1 < n:
                    dot1x_ifs.append((t[t.index("interface") + 1], s))
            elif s.starts("protocols", "lldp"):
                f["services"]["lldp"] = "disable" not in t
                note("services.lldp", s)
            elif "mac-limit" in t or "interface-mac-limit" in t:
                if "interface" in t and t.index("interface") + 1 < n:
                    mac_limit.append((t[t.index("interface") + 1], s))
            elif s.starts("firewall") and "filter" in t and t.index("filter") + 1 < n:
                name = t[t.index("filter") + 1]
                b.add_unique("acls", name)
                note(f"acls[{name}]", s)
            elif s.starts("virtual-chassis"):
                note("redundancy.stacking", s)
                if n > 2 and t[1] == "member":
                    vc_members.add(t[2])
                f["redundancy"]["stacking"] = len(vc_members) >= 2
            if "dhcp-security" in t or "examine-dhcp" in t:
                f["services"]["dhcp_snooping"] = True
                note("services.dhcp_snooping", s)
            sflow = s.starts("protocols", "sflow") and "collector" in t
            if sflow or s.starts("services", "flow-monitoring") or "flow-server" in t:
                f["services"]["flow_export"] = True
                note("services.flow_export", s)
        self.finish(classes, user_class, auth_order, lo0_filter, vlan_ids, l3_map, vrrp, members)
        for name, s in mac_limit:
            self.apply_port_feature("port_security", name, s)
        for name, s in dot1x_ifs:
            self.apply_port_feature("dot1x", name, s)
        return b.result()

    def default_route(self, s: Stmt, rest: list[str]) -> None:
        """``… static route 0.0.0.0/0 next-hop [ A B ]`` or ``qualified-next-hop A preference N``: one
        item per next hop."""
        if not rest or rest[0] not in ("next-hop", "qualified-next-hop"):
            return
        hops = [h for h in rest[1:] if h not in ("[", "]")]
        distance = None
        if rest[0] == "qualified-next-hop" and "preference" in hops:
            at = hops.index("preference")
            distance = int_or_none(hops[at + 1]) if at + 1 < len(hops) else None
            hops = hops[:at]
        for hop in hops[:1] if rest[0] == "qualified-next-hop" else hops:
            route = self.b.item("default_routes", hop, lambda h=hop: new_default_route(h))
            route["distance"] = distance if distance is not None else route["distance"]
            self.note(f"default_routes[{hop}]", s)
            self.note("default_routes", s)

    def apply_port_feature(self, key: str, name: str, s: Stmt) -> None:
        """Set port_security/dot1x on interface `name` (``all`` = every access port)."""
        base = name.split(".", maxsplit=1)[0]
        for entry in self.f["interfaces"]:
            if entry["name"] == base or (base == "all" and entry["mode"] == "access"):
                entry[key] = True
                self.note(f"interfaces[{entry['name']}]", s)

    def snmp(self, s: Stmt, t: list[str]) -> None:
        f, b, note = self.f, self.b, self.note
        n = len(t)
        note("snmp", s)
        if n < 2:
            return
        if t[1] == "community" and n > 2:
            name = t[2]
            comm = b.item("snmp.communities", name, lambda: {"name": name, "access": "ro", "acl": None})
            if n > 4 and t[3] == "authorization":
                comm["access"] = "rw" if t[4] == "read-write" else "ro"
            elif n > 4 and t[3] in ("client-list-name", "clients") and not t[4].endswith("restrict"):
                keep = comm["acl"] is not None and t[3] == "clients"
                comm["acl"] = f"{comm['acl']},{t[4]}" if keep else t[4]
            note(f"snmp.communities[{name}]", s)
        elif t[1] in ("contact", "location") and n > 2:
            f["snmp"][t[1]] = " ".join(t[2:])
            note(f"snmp.{t[1]}", s)
        elif t[1] == "trap-group" and "targets" in t and t.index("targets") + 1 < n:
            b.add_unique("snmp.trap_hosts", t[t.index("targets") + 1])
            note("snmp.trap_hosts", s)
        elif t[1:3] == ["v3", "target-address"] and "address" in t[3:] and t.index("address", 3) + 1 < n:
            b.add_unique("snmp.trap_hosts", t[t.index("address", 3) + 1])
            note("snmp.trap_hosts", s)
        elif t[1:3] == ["v3", "usm"] and "user" in t and t.index("user") + 1 < n:
            name = t[t.index("user") + 1]
            user = b.item("snmp.v3_users", name, lambda: {"name": name, "group": None, "level": "noauth"})
            rest = t[t.index("user") + 2 :]
            if rest and rest[0].startswith("privacy-") and rest[0] != "privacy-none":
                user["level"] = "priv"
            elif rest and rest[0].startswith("authentication-") and rest[0] != "authentication-none":
                user["level"] = "auth" if user["level"] == "noauth" else user["level"]
            note(f"snmp.v3_users[{name}]", s)
        elif t[1:4] == ["v3", "vacm", "security-to-group"] and "security-name" in t and "group" in t:
            name, group = t[t.index("security-name") + 1], t[-1]
            user = b.item("snmp.v3_users", name, lambda: {"name": name, "group": None, "level": "noauth"})
            user["group"] = group
            note(f"snmp.v3_users[{name}]", s)
        elif t[1:4] == ["v3", "vacm", "access"] and n > 5 and t[4] == "group" and "security-level" in t:
            word = t[t.index("security-level") + 1] if t.index("security-level") + 1 < n else ""
            level = {"privacy": "priv", "authentication": "auth"}.get(word, "noauth")
            b.item("snmp.v3_groups", t[5], lambda g=t[5], lv=level: {"name": g, "level": lv})["level"] = level
            note(f"snmp.v3_groups[{t[5]}]", s)

    def interface(self, s: Stmt, t: list[str], vrrp: set[tuple[str, str]], members: dict[str, str]) -> None:
        ifd = t[1]
        if ifd in ("interface-range", "apply-groups"):
            return
        unit = t[3] if len(t) > 3 and t[2] == "unit" else None
        name = f"{ifd}.{unit}" if unit is not None and ifd in ("irb", "vlan", "lo0") else ifd
        if ifd in ("irb", "vlan", "lo0") and unit is None:
            return
        entry = self.iface(name)
        if ifd.startswith("ae") and ifd[2:].isdigit() and ifd not in self.aggregates:
            self.aggregates.add(ifd)
            self.f["redundancy"]["port_channels"] = len(self.aggregates)
            self.note("redundancy.port_channels", s)
        if ifd in ("irb", "vlan") and unit is not None:
            entry["svi_vlan"] = int_or_none(unit)
        self.note(f"interfaces[{name}]", s)
        rest = t[4:] if unit is not None else t[2:]
        if not rest:
            return
        if rest[0] == "description" and len(rest) > 1:
            entry["description"] = " ".join(rest[1:])
        elif rest == ["disable"]:
            entry["shutdown"] = True
        elif rest[0] in ("ether-options", "gigether-options") and "802.3ad" in rest:
            i = rest.index("802.3ad") + 1
            if i < len(rest) and rest[i].startswith("ae"):
                entry["channel_group"] = int_or_none(rest[i][2:])
        elif rest[:2] == ["family", "ethernet-switching"]:
            if entry["mode"] is None:
                entry["mode"] = "access"
            if len(rest) > 3 and rest[2] in ("interface-mode", "port-mode"):
                entry["mode"] = "trunk" if rest[3] == "trunk" else "access"
            elif len(rest) > 3 and rest[2] == "vlan" and rest[3] == "members" and len(rest) > 4:
                members.setdefault(name, rest[4])
        elif rest[:3] == ["family", "inet", "filter"] and len(rest) > 4 and rest[3] in ("input", "output"):
            entry["acl_in" if rest[3] == "input" else "acl_out"] = rest[4]
        elif rest[:2] == ["family", "inet"] and len(rest) > 3 and rest[2] == "address":
            if rest[3] not in entry["ip_addresses"]:
                entry["ip_addresses"].append(rest[3])
            entry["mode"] = "routed"
            if "vrrp-group" in rest and rest.index("vrrp-group") + 1 < len(rest):
                vrrp.add((name, rest[rest.index("vrrp-group") + 1]))
                self.note("redundancy.vrrp_groups", s)

    def finish(
        self,
        classes: dict[str, int],
        user_class: dict[str, str],
        auth_order: list[str],
        lo0_filter: Stmt | None,
        vlan_ids: dict[str, int],
        l3_map: dict[str, str],
        vrrp: set[tuple[str, str]],
        members: dict[str, str],
    ) -> None:
        f = self.f
        f["aaa"]["new_model"] = bool({"radius", "tacplus"} & set(auth_order))
        login = "aaa" if f["aaa"]["new_model"] else "local"
        timeouts = [classes.get(c, 0) for c in user_class.values()]
        timeout = max(timeouts) if timeouts and 0 not in timeouts else 0
        m = f["management"]
        transports = [p for p, on in (("ssh", m["ssh_enabled"]), ("telnet", m["telnet_enabled"])) if on]
        console = self.b.item("lines", "console 0", lambda: new_line("console 0", "console"))
        console.update(login=login, exec_timeout_s=timeout)
        vty = self.b.item("lines", "vty", lambda: new_line("vty", "vty"))
        vty.update(login=login, exec_timeout_s=timeout, transport_input=transports)
        for key in ("management.ssh_enabled", "management.telnet_enabled", "aaa.new_model"):
            for line in self.b.prov.get(key, []):
                self.b.note("lines[vty]", *line)
        for name in user_class.values():
            for line in self.b.prov.get(f"login_class[{name}]", []):
                self.b.note("lines[vty]", *line)
                self.b.note("lines[console 0]", *line)
        if lo0_filter is not None:
            vty["access_class"] = lo0_filter.toks[lo0_filter.toks.index("input") + 1]
            self.note("lines[vty]", lo0_filter)
        for entry in f["interfaces"]:
            if entry["name"] in l3_map and l3_map[entry["name"]] in vlan_ids:
                entry["svi_vlan"] = vlan_ids[l3_map[entry["name"]]]
            member = members.get(entry["name"])
            if member is not None and entry["mode"] == "access":
                entry["access_vlan"] = int_or_none(member) or vlan_ids.get(member)
        f["redundancy"]["vrrp_groups"] = len(vrrp)
        f["snmp"]["v1_v2c_enabled"] = bool(f["snmp"]["communities"])


def parse(lines: list[str], source: str) -> ParsedConfig:
    """Parse a Junos config in brace or set form; ConfigParseError if braces are unbalanced or not Junos."""
    cleaned = list(_strip_comments(lines))
    if not any(c.strip() for _, _, c in cleaned):
        raise ConfigParseError(source, 1, "không có lệnh cấu hình nào / no configuration statements")
    # vocabulary first, so another vendor's text is named as such rather than as "truncated"
    rough: list[tuple[int, str]] = []
    for number, _, text in cleaned:
        words = text.split()
        if not words or text[:1].isspace() or words[0] == "}":
            continue
        if words[0] in ("set", "inactive:") and len(words) > 1:
            words = words[1:]
        rough.append((number, words[0]))
    check_vocabulary(rough, KNOWN, PLATFORM, source)
    stmts, _ = statements(lines, source)
    return _JunosParser(stmts, source).run()
