"""TP-Link JetStream (T1600G/T2600G/T2700G, TL-SG2xxx/3xxx) ``show running-config`` -> normalized facts.

A JetStream config opens with ``!MODEL``, separates blocks with ``#`` lines and closes with ``end``. A
block header (``interface …``, ``vlan N``, ``line …``) owns every line up to the next ``#``, indented or
not (firmware prints ``vlan 20`` / ``name "x"`` flush left, interface lines with two spaces).

Defaults a running config does not print, judged here: Telnet and the HTTP and HTTPS web servers are on
unless ``telnet disable`` / ``no ip http server`` / ``no ip http secure-server`` is shown; the SSH server
is off unless ``ip ssh server``; a port is an untagged member of VLAN 1 (PVID 1) until configured; log
entries carry the system time and the log buffer is on; passwords are shown as written (type 0) unless
``service password-encryption`` is on. Management access lists (``user access-control ip-based``) stand
in for a vty access-class. There is no login banner, PAD, finger or small servers on these switches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import check_vocabulary, last_content_line
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

PLATFORM = "tplink_jetstream"

KNOWN = frozenset(
    [
        "vlan",
        "hostname",
        "location",
        "contact-info",
        "mac",
        "logging",
        "enable",
        "service",
        "system-time",
        "sntp",
        "ntp",
        "spanning-tree",
        "user",
        "ip",
        "ipv6",
        "no",
        "snmp-server",
        "interface",
        "line",
        "end",
        "telnet",
        "lldp",
        "dot1x",
        "radius-server",
        "tacacs-server",
        "aaa",
        "access-list",
        "port-security",
        "loopback-detection",
        "lacp",
        "port-channel",
        "qos",
        "igmp-snooping",
        "sdm",
        "serial_port",
        "power",
        "poe",
        "time-range",
        "voice",
        "arp",
        "monitor",
        "storm-control",
        "sflow",
        "clock",
        "mld",
        "gvrp",
        "controller",
        "dhcp",
        "system",
        "stack",
    ]
)

_PHYSICAL = re.compile(
    r"^(fast|gigabit|two-gigabit|ten-gigabit|twentyfive-gigabit)ethernet\d+/\d+/\d+$", re.I
)
_BLOCK_HEADS = ("interface", "line")
_PRIVILEGE = {"admin": 15, "operator": 7, "power_user": 5, "user": 1, "guest": 1}
_TELNET_OFF = {"telnet disable", "no telnet enable", "no ip telnet server", "no telnet server"}
_TELNET_ON = {"telnet enable", "ip telnet server", "telnet server"}


@dataclass
class Block:
    """One top-level command with the lines it owns (up to the next ``#``)."""

    lineno: int
    raw: str
    words: list[str]
    children: list[tuple[int, str, list[str]]] = field(default_factory=list)


def _words(text: str) -> list[str]:
    """Words of a line, quoted strings kept whole and unquoted (``name "Phong ke toan"``)."""
    return [a if a else b for a, b in re.findall(r'"([^"]*)"|(\S+)', text)]


def build_blocks(lines: list[str]) -> list[Block]:
    """Top-level commands; block headers (interface, line, ``vlan N``) take the lines up to the next ``#``."""
    blocks: list[Block] = []
    current: Block | None = None
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("!"):
            continue
        if stripped.startswith("#"):
            current = None
            continue
        words = _words(stripped)
        if not words:
            continue
        if current is not None and (
            raw[:1] in (" ", "\t") or words[0].lower() not in KNOWN or _is_child(words)
        ):
            current.children.append((number, raw, words))
            continue
        block = Block(number, raw, words)
        blocks.append(block)
        head = words[0].lower()
        is_vlan_block = head == "vlan" and len(words) == 2 and words[1].isdigit()
        current = block if head in _BLOCK_HEADS or is_vlan_block else None
    return blocks


def _is_child(words: list[str]) -> bool:
    """Flush-left lines that only make sense inside a block (``name``, ``login``, ``ip address``…)."""
    head = words[0].lower()
    return head in ("name", "password", "login", "exec-timeout", "description", "shutdown") or (
        head in ("ip", "no", "switchport")
        and len(words) > 1
        and words[1] in ("address", "shutdown", "general")
    )


class JetStreamParser:
    """Facts from JetStream blocks."""

    def __init__(self, source: str) -> None:
        self.b = FactsBuilder(PLATFORM, source)
        self.f = self.b.facts
        self.telnet_off: tuple[int, str] | None = None
        self.http_off: tuple[int, str] | None = None
        self.https_off: tuple[int, str] | None = None
        self.mgmt_acl: list[tuple[int, str, list[str]]] = []

    def note(self, path: str, number: int, raw: str) -> None:
        self.b.note(path, number, raw)

    def run(self, blocks: list[Block]) -> ParsedConfig:
        f = self.f
        f["management"].update(telnet_enabled=True, http_server=True, https_server=True)
        f["logging"].update(timestamps_datetime=True, buffered=True)
        for block in blocks:
            self.top(block, [w.lower() for w in block.words[:3]] + block.words[3:], " ".join(block.words))
        self.finish()
        return self.b.result()

    def top(self, block: Block, w: list[str], text: str) -> None:
        f, note = self.f, self.note
        at = (block.lineno, block.raw)
        head = w[0]
        low = text.lower()
        if head == "hostname" and len(w) > 1:
            f["hostname"] = block.words[1]
            note("hostname", *at)
        elif head in ("location", "contact-info") and len(w) > 1:
            key = "location" if head == "location" else "contact"
            f["snmp"][key] = " ".join(block.words[1:])
            note(f"snmp.{key}", *at)
        elif head == "interface" and len(w) > 1:
            self.interface(block)
        elif head == "line" and len(w) > 2:
            self.line(block)
        elif head == "vlan" and len(w) > 1:
            self.vlans(block)
        elif head == "user" and w[1:2] == ["name"] and len(w) > 2:
            self.user(block)
        elif head == "enable" and len(w) > 1 and w[1] in ("password", "secret"):
            kind = _secret_kind(block.words[1:])
            if w[1] == "secret":
                f["enable"]["secret_set"] = True
                note("enable.secret_set", *at)
            f["enable"]["password_cleartext"] = f["enable"]["password_cleartext"] or kind == "cleartext"
            note("enable.password_cleartext", *at)
        elif low in ("service password-encryption", "no service password-encryption"):
            f["services"]["password_encryption"] = head == "service"
            note("services.password_encryption", *at)
        elif low in _TELNET_OFF:
            self.telnet_off = at
        elif low in _TELNET_ON:
            self.telnet_off = None
            note("management.telnet_enabled", *at)
        elif low == "ip ssh server":
            f["management"]["ssh_enabled"] = True
            note("management.ssh_enabled", *at)
        elif low == "no ip ssh server":
            f["management"]["ssh_enabled"] = False
            note("management.ssh_enabled", *at)
        elif low.startswith(("ip ssh version", "no ip ssh version")):
            self.ssh_version(block, low)
        elif low == "no ip http server":
            self.http_off = at
        elif low == "no ip http secure-server":
            self.https_off = at
        elif low in ("ip http server", "ip http secure-server"):
            note("management.https_server" if "secure" in low else "management.http_server", *at)
        elif head == "snmp-server":
            self.snmp(block)
        elif head == "logging":
            self.logging(block, w)
        elif head in ("system-time", "sntp", "ntp"):
            self.ntp(block, w)
        elif head == "user" and w[1:3] == ["access-control", "ip-based"]:
            self.mgmt_acl.append((block.lineno, block.raw, block.words))
        elif head in ("radius-server", "tacacs-server") and w[1:2] == ["host"] and len(w) > 2:
            key = "radius_servers" if head == "radius-server" else "tacacs_servers"
            self.b.add_unique(f"aaa.{key}", block.words[2])
            note(f"aaa.{key}", *at)
        elif head == "aaa" and len(w) > 1:
            f["aaa"]["new_model"] = True
            note("aaa.new_model", *at)
        elif low == "dot1x system-auth-control":
            f["aaa"]["dot1x_enabled"] = True
            note("aaa.dot1x_enabled", *at)
        elif low == "ip dhcp snooping":
            f["services"]["dhcp_snooping"] = True
            note("services.dhcp_snooping", *at)
        elif head == "lldp" and len(w) == 1:
            f["services"]["lldp"] = True
            note("services.lldp", *at)
        elif head == "sflow" and ("collector" in w or "destination" in w):
            f["services"]["flow_export"] = True
            note("services.flow_export", *at)
        elif head == "ip" and w[1:2] == ["route"] and block.words[2:4] == ["0.0.0.0", "0.0.0.0"]:
            if len(block.words) > 4:
                hop = block.words[4]
                distance = int_or_none(block.words[5]) if len(block.words) > 5 else None
                self.b.item("default_routes", hop, lambda: new_default_route(hop, distance))
                note(f"default_routes[{hop}]", *at)
                note("default_routes", *at)
        elif head == "access-list" and w[1:2] == ["create"] and len(w) > 2:
            self.b.add_unique("acls", block.words[2])
            note(f"acls[{block.words[2]}]", *at)
        elif head == "access-list" and w[1:2] == ["bind"] and len(block.words) > 4:
            self.acl_bind(block)

    def ssh_version(self, block: Block, low: str) -> None:
        """``no ip ssh version v1`` leaves SSHv2 only; ``ip ssh version v1`` allows SSHv1."""
        if low == "ip ssh version v1":
            self.f["management"]["ssh_version"] = 1
        elif low == "no ip ssh version v1":
            self.f["management"]["ssh_version"] = 2
        self.note("management.ssh_version", block.lineno, block.raw)

    def user(self, block: Block) -> None:
        words = block.words
        name = words[2]
        user = self.b.item("users", name, lambda: {"name": name, "privilege": None, "secret_kind": None})
        if "privilege" in words and words.index("privilege") + 1 < len(words):
            user["privilege"] = _PRIVILEGE.get(words[words.index("privilege") + 1].lower())
        kind = _secret_kind(words[3:])
        if kind is not None:
            user["secret_kind"] = kind
        self.note(f"users[{name}]", block.lineno, block.raw)

    def snmp(self, block: Block) -> None:
        words, at = block.words, (block.lineno, block.raw)
        self.note("snmp", *at)
        sub = words[1].lower() if len(words) > 1 else ""
        if sub == "community" and len(words) > 2:
            name = words[2]
            access = "rw" if any(w.lower() == "read-write" for w in words[3:]) else "ro"
            comm = self.b.item(
                "snmp.communities", name, lambda: {"name": name, "access": access, "acl": None}
            )
            comm["access"] = access
            self.note(f"snmp.communities[{name}]", *at)
        elif sub == "host" and len(words) > 2:
            self.b.add_unique("snmp.trap_hosts", words[2])
            self.note("snmp.trap_hosts", *at)
        elif sub == "user" and len(words) > 2:
            low = [w.lower() for w in words]
            level = "noauth"
            if "smode" in low and low.index("smode") + 1 < len(low) and low[low.index("smode") + 1] == "v3":
                slev = (
                    low[low.index("slev") + 1] if "slev" in low and low.index("slev") + 1 < len(low) else ""
                )
                level = {"authpriv": "priv", "authnopriv": "auth"}.get(slev, "noauth")
            group = words[4] if len(words) > 4 and low[3] in ("local", "remote") else None
            self.b.item("snmp.v3_users", words[2], lambda: {"name": words[2], "group": group, "level": level})
            self.note(f"snmp.v3_users[{words[2]}]", *at)
        elif sub == "group" and len(words) > 2:
            low = [w.lower() for w in words]
            slev = low[low.index("slev") + 1] if "slev" in low and low.index("slev") + 1 < len(low) else ""
            level = {"authpriv": "priv", "authnopriv": "auth"}.get(slev, "noauth")
            self.b.item("snmp.v3_groups", words[2], lambda: {"name": words[2], "level": level})
            self.note(f"snmp.v3_groups[{words[2]}]", *at)
        elif sub in ("location", "contact-info", "contact") and len(words) > 2:
            key = "location" if sub == "location" else "contact"
            self.f["snmp"][key] = " ".join(words[2:])
            self.note(f"snmp.{key}", *at)

    def logging(self, block: Block, w: list[str]) -> None:
        words, at = block.words, (block.lineno, block.raw)
        self.note("logging", *at)
        if w[1:3] == ["host", "index"] and len(words) > 4:
            self.b.add_unique("logging.hosts", words[4])
            self.note("logging.hosts", *at)
            if len(words) > 5:
                self.f["logging"]["trap_level"] = words[5]
                self.note("logging.trap_level", *at)
        elif w[1:2] == ["host"] and len(words) > 2 and cidr(words[2]) is not None:
            self.b.add_unique("logging.hosts", words[2])
            self.note("logging.hosts", *at)
        elif w[1:2] == ["buffer"]:
            self.f["logging"]["buffered"] = True
            self.note("logging.buffered", *at)

    def ntp(self, block: Block, w: list[str]) -> None:
        """``system-time ntp ZONE PRIMARY SECONDARY HOURS``, ``sntp server [ip] ADDR``, ``ntp server X``."""
        words, at = block.words, (block.lineno, block.raw)
        servers: list[str] = []
        if w[:2] == ["system-time", "ntp"] and len(words) > 3:
            servers = [
                x for x in words[3:5] if cidr(x) is not None or re.fullmatch(r"[A-Za-z0-9.-]+\.[a-z]+", x)
            ]
        elif w[1:2] == ["server"] and len(words) > 2:
            servers = [words[3] if words[2].lower() in ("ip", "ipv6") and len(words) > 3 else words[2]]
        if servers:
            self.note("ntp", *at)
            for server in servers:
                self.b.add_unique("ntp.servers", server)
            self.note("ntp.servers", *at)

    def line(self, block: Block) -> None:
        words = block.words
        kind = {"con": "console", "console": "console", "vty": "vty"}.get(words[1].lower())
        if kind is None:
            return
        name = f"{kind} {' '.join(words[2:])}"
        path = f"lines[{name}]"
        entry = self.b.item("lines", name, lambda: new_line(name, kind))
        self.note(path, block.lineno, block.raw)
        login = "local" if kind == "vty" else "none"  # vty logins use the local user table by default
        for number, raw, cw in block.children:
            self.note(path, number, raw)
            low = " ".join(cw).lower()
            if low == "login local":
                login = "local"
            elif low == "login":
                login = "password"
            elif low == "no login":
                login = "none"
            elif low.startswith("login authentication"):
                login = "aaa"
            elif cw[0] == "exec-timeout" and len(cw) > 1:
                minutes, seconds = int_or_none(cw[1]), int_or_none(cw[2]) if len(cw) > 2 else 0
                if minutes is not None and seconds is not None:
                    entry["exec_timeout_s"] = minutes * 60 + seconds
            elif cw[:2] == ["transport", "input"]:
                entry["transport_input"] = [x.lower() for x in cw[2:]]
        entry["login"] = login

    def interface(self, block: Block) -> None:
        name = "".join(block.words[1:])
        low = name.lower()
        svi = int_or_none(low[4:]) if low.startswith("vlan") else None
        entry = self.b.item(
            "interfaces",
            name,
            lambda: new_interface(name, physical=bool(_PHYSICAL.match(name)), svi_vlan=svi),
        )
        path = f"interfaces[{name}]"
        self.note(path, block.lineno, block.raw)
        if low.startswith("port-channel"):
            self.f["redundancy"]["port_channels"] += 1
            self.note("redundancy.port_channels", block.lineno, block.raw)
        untagged: list[int] = []
        tagged = False
        pvid: int | None = None
        for number, raw, cw in block.children:
            self.note(path, number, raw)
            lw = [x.lower() for x in cw]
            text = " ".join(lw)
            if lw[0] == "description" and len(cw) > 1:
                entry["description"] = " ".join(cw[1:])
            elif text == "shutdown":
                entry["shutdown"] = True
            elif text == "no shutdown":
                entry["shutdown"] = False
            elif lw[:4] == ["switchport", "general", "allowed", "vlan"] and len(lw) > 4:
                if lw[-1] == "tagged":
                    tagged = True
                else:
                    untagged.extend(_vlan_ids(lw[4]))
            elif lw[:2] == ["switchport", "pvid"] and len(lw) > 2:
                pvid = int_or_none(lw[2])
            elif lw[:2] == ["switchport", "mode"] and len(lw) > 2:
                entry["mode"] = {"access": "access", "trunk": "trunk"}.get(lw[2])
            elif lw[:3] == ["switchport", "access", "vlan"] and len(lw) > 3:
                entry["mode"] = entry["mode"] or "access"
                entry["access_vlan"] = int_or_none(lw[3])
            elif lw[0] == "port-security" or lw[:3] == ["mac", "address-table", "max-mac-count"]:
                entry["port_security"] = True
            elif text in ("dot1x", "dot1x enable") or (lw[:2] == ["dot1x", "port-control"] and "auto" in lw):
                entry["dot1x"] = True
            elif lw[0] == "channel-group" and len(lw) > 1:
                entry["channel_group"] = int_or_none(lw[1])
            elif lw[:2] == ["ip", "address"] and len(cw) > 3:
                address = cidr(cw[2], cw[3])
                if address:
                    entry["ip_addresses"].append(address)
            elif lw[:2] == ["access-list", "bind"] and len(cw) > 2:
                entry["acl_in"] = cw[2]
        if entry["physical"]:
            if entry["mode"] is None:
                entry["mode"] = "trunk" if tagged else "access"
            if entry["mode"] == "access" and entry["access_vlan"] is None:
                # general mode: the PVID names the untagged VLAN; a fresh port is VLAN 1
                entry["access_vlan"] = pvid or (untagged[0] if len(untagged) == 1 else None) or 1
        elif entry["ip_addresses"]:
            entry["mode"] = "routed"

    def acl_bind(self, block: Block) -> None:
        """``access-list bind ACL interface vlan N`` (a global binding on some firmwares)."""
        words = block.words
        target = "".join(words[4:]) if words[3].lower() == "interface" else None
        if target is None:
            return
        for entry in self.f["interfaces"]:
            if entry["name"].lower() == target.lower():
                entry["acl_in"] = words[2]
                self.note(f"interfaces[{entry['name']}]", block.lineno, block.raw)

    def vlans(self, block: Block) -> None:
        ids = _vlan_ids(block.words[1])
        name = next((cw[1] for _, _, cw in block.children if cw[0].lower() == "name" and len(cw) > 1), None)
        for vid in ids:
            item = self.b.item("vlans", str(vid), lambda v=vid: {"id": v, "name": None})
            if name is not None:
                item["name"] = name
            self.note(f"vlans[{vid}]", block.lineno, block.raw)
            for number, raw, _ in block.children:
                self.note(f"vlans[{vid}]", number, raw)

    def finish(self) -> None:
        f, b = self.f, self.b
        for key, off in (
            ("telnet_enabled", self.telnet_off),
            ("http_server", self.http_off),
            ("https_server", self.https_off),
        ):
            if off is not None:
                f["management"][key] = False
                self.note(f"management.{key}", *off)
        if self.mgmt_acl:
            acl = ",".join(f"{w[3]}/{w[4]}" if len(w) > 4 else w[-1] for _, _, w in self.mgmt_acl)
            covers_snmp = any(x.lower() in ("snmp", "all") for _, _, w in self.mgmt_acl for x in w[5:])
            for entry in f["lines"]:
                if entry["kind"] == "vty":
                    entry["access_class"] = acl
                    for number, raw, _ in self.mgmt_acl:
                        self.note(f"lines[{entry['name']}]", number, raw)
            if covers_snmp:
                for comm in f["snmp"]["communities"]:
                    comm["acl"] = acl
                    for number, raw, _ in self.mgmt_acl:
                        self.note(f"snmp.communities[{comm['name']}]", number, raw)
        if not f["lines"] and (f["management"]["telnet_enabled"] or f["management"]["ssh_enabled"]):
            # No line block printed: the firmware's remote CLI logs in with the local user table and has
            # no idle timeout or source restriction beyond the access-control list.
            entry = b.item("lines", "vty 0 15", lambda: new_line("vty 0 15", "vty"))
            entry["login"] = "local"
            entry["access_class"] = (
                ",".join(f"{w[3]}/{w[4]}" if len(w) > 4 else w[-1] for _, _, w in self.mgmt_acl) or None
            )
            for number, raw, _ in self.mgmt_acl:
                self.note("lines[vty 0 15]", number, raw)
        for entry in f["lines"]:
            if entry["kind"] == "vty" and not entry["transport_input"]:
                entry["transport_input"] = [
                    proto
                    for proto, on in (
                        ("telnet", f["management"]["telnet_enabled"]),
                        ("ssh", f["management"]["ssh_enabled"]),
                    )
                    if on
                ]
                for path in ("management.telnet_enabled", "management.ssh_enabled"):
                    for line in b.prov.get(path, []):
                        self.note(f"lines[{entry['name']}]", *line)
        f["snmp"]["v1_v2c_enabled"] = bool(f["snmp"]["communities"])


def _secret_kind(words: list[str]) -> str | None:
    """``password [0|7] X`` / ``secret [0|5] X`` -> cleartext / weak / hashed."""
    for i, word in enumerate(words):
        low = word.lower()
        if low in ("secret", "password") and i + 1 < len(words):
            rest = words[i + 1 :]
            kind = rest[0] if len(rest) > 1 and rest[0].isdigit() else "0"
            if kind == "0":
                return "cleartext"
            return "weak" if kind == "7" else "hashed"
    return None


def _vlan_ids(spec: str) -> list[int]:
    ids: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        a, z = int_or_none(lo), int_or_none(hi or lo)
        if a is not None and z is not None and 0 < a <= z <= 4094:
            ids.extend(range(a, z + 1))
    return ids


def parse(lines: list[str], source: str) -> ParsedConfig:
    """Parse a JetStream running config; ConfigParseError if truncated or not JetStream."""
    blocks = build_blocks(lines)
    check_vocabulary(((b.lineno, b.words[0]) for b in blocks), KNOWN, PLATFORM, source)
    number, last = last_content_line(lines, ("#", "!"))
    if last != "end":
        raise ConfigParseError(
            source,
            number,
            "cấu hình bị cắt: thiếu dòng `end` cuối cùng / truncated config: no final `end` line",
        )
    return JetStreamParser(source).run(blocks)
