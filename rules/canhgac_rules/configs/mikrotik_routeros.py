"""MikroTik RouterOS ``/export`` (and ``/export verbose``) -> normalized facts.

An export is a script: ``/menu path`` lines open a menu, the lines under it are ``add``/``set``/``remove``
commands of ``key=value`` words (``set [ find default-name=ether1 ] …``, ``set telnet disabled=yes``), a
line ending in ``\\`` continues on the next, ``#`` starts a comment (the header ``# … by RouterOS 7.x``).

A plain export leaves defaults out, so they are judged here: every management service (telnet, ftp,
www, ssh, winbox, api, api-ssl) answers on every address unless ``disabled=yes`` / ``address=`` shows;
www-ssl is off; the SNMP agent is off, and once on it answers the default community ``public`` from
anywhere until that entry is renamed, restricted or disabled; LLDP/CDP/MNDP discovery runs on every
interface; the log keeps a memory buffer with date-time stamps. RouterOS never exports users or
passwords, so users stay empty (the rules about them do not apply to this platform). Each enabled remote
management service becomes a ``vty`` line (``transport_input`` the service, ``access_class`` its
``address=`` list) so the line rules judge them as they do Cisco vty lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .blocks import check_vocabulary
from .model import (
    ConfigParseError,
    FactsBuilder,
    ParsedConfig,
    cidr,
    new_default_route,
    new_interface,
    new_line,
)

PLATFORM = "mikrotik_routeros"

# Top-level menus of RouterOS 6/7 and the command verbs an export uses.
KNOWN = frozenset(
    [
        "interface",
        "ip",
        "ipv6",
        "system",
        "user",
        "snmp",
        "routing",
        "tool",
        "queue",
        "certificate",
        "ppp",
        "radius",
        "caps-man",
        "port",
        "disk",
        "file",
        "container",
        "mpls",
        "special-login",
        "lcd",
        "console",
        "log",
        "partitions",
        "iot",
        "zerotier",
        "dude",
        "user-manager",
        "add",
        "set",
        "remove",
        "enable",
        "disable",
        "unset",
        "move",
    ]
)
_VERBS = ("add", "set", "remove", "enable", "disable", "unset", "move")
_PAIR = re.compile(r'([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)')
_FIND = re.compile(r"\[\s*find\b([^\]]*)\]")
# Management services, whether RouterOS runs each when the export does not mention it, the transport a
# vty line carries, and whether it is a remote login (a line) at all.
_SERVICE_DEFAULT_ON = {
    "telnet": True,
    "ftp": True,
    "www": True,
    "ssh": True,
    "www-ssl": False,
    "api": True,
    "winbox": True,
    "api-ssl": True,
}
_PHYSICAL = re.compile(r"^(ether|sfp|sfp-sfpplus|sfp28-|qsfp|combo)\d", re.I)
_ANY_ADDRESS = {"", "0.0.0.0/0", "::/0"}


@dataclass
class Command:
    """One logical command: its menu, verb, positional word, ``find`` criteria, values and lines."""

    menu: str
    verb: str
    item: str | None
    find: dict[str, str]
    values: dict[str, str]
    lines: list[tuple[int, str]]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _pairs(text: str) -> dict[str, str]:
    return {key: _unquote(value) for key, value in _PAIR.findall(text)}


def logical_lines(lines: list[str], source: str) -> list[list[tuple[int, str]]]:
    """Physical lines joined where one ends in ``\\``; comments and blank lines dropped."""
    out: list[list[tuple[int, str]]] = []
    pending: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or (not pending and stripped.startswith("#")):
            continue
        pending.append((number, raw))
        if stripped.endswith("\\"):
            continue
        out.append(pending)
        pending = []
    if pending:
        number = pending[-1][0]
        raise ConfigParseError(
            source,
            number,
            "cấu hình bị cắt: dòng cuối còn nối tiếp (`\\`) / "
            "truncated config: the last line continues (`\\`)",
        )
    return out


def parse_commands(
    groups: list[list[tuple[int, str]]], source: str
) -> tuple[list[Command], list[tuple[int, str]]]:
    """Commands with their menu, and (line, first word) of each for the vocabulary check."""
    commands: list[Command] = []
    words_seen: list[tuple[int, str]] = []
    menu = ""
    menu_line: list[tuple[int, str]] = []  # the `/menu` line a command belongs to, quoted with it
    for group in groups:
        # A continued line ends in `\`; the next one's indentation is not part of the command.
        text = "".join(raw.strip()[:-1] if raw.strip().endswith("\\") else raw.strip() for _, raw in group)
        number = group[0][0]
        if len(re.findall(r'(?<!\\)"', text)) % 2:
            raise ConfigParseError(source, number, "dấu ngoặc kép không khép / unbalanced quote")
        if text.startswith("/"):
            words = text[1:].split()
            path: list[str] = []
            while words and words[0] not in _VERBS and "=" not in words[0]:
                path.append(words.pop(0))
            menu = " ".join(path)
            words_seen.append((number, path[0] if path else "/"))
            menu_line = [] if words else [group[0]]
            if not words:
                continue
            text = " ".join(words)
        words = text.split()
        verb = words[0]
        words_seen.append((number, verb))
        if verb not in _VERBS:
            continue
        find: dict[str, str] = {}
        rest = text[len(verb) :]
        match = _FIND.search(rest)
        if match:
            find = _pairs(match.group(1))
            rest = rest[: match.start()] + rest[match.end() :]
        first = rest.split()[0] if rest.split() else ""
        item = first if first and "=" not in first and not first.startswith("[") else None
        commands.append(Command(menu, verb, item, find, _pairs(rest), menu_line + group))
    return commands, words_seen


class RouterOsParser:
    """Facts from RouterOS export commands."""

    def __init__(self, source: str) -> None:
        self.b = FactsBuilder(PLATFORM, source)
        self.f = self.b.facts
        self.services: dict[str, dict[str, Any]] = {
            name: {"on": on, "address": None, "lines": []} for name, on in _SERVICE_DEFAULT_ON.items()
        }
        self.snmp_on: list[tuple[int, str]] | None = None
        self.default_community: dict[str, Any] = {
            "name": "public",
            "acl": None,
            "disabled": False,
            "lines": [],
        }
        self.log_actions: dict[str, dict[str, Any]] = {}
        self.log_rules: list[Command] = []
        self.ntp_enabled = False
        self.ntp_servers: list[tuple[str, list[tuple[int, str]]]] = []
        self.vlan_names: dict[str, int] = {}
        self.ip_by_interface: dict[str, list[tuple[str, list[tuple[int, str]]]]] = {}
        self.mac_server: Command | None = None
        self.extra_communities: list[dict[str, Any]] = []
        self.bridges: set[str] = set()
        self.flow_on: list[tuple[int, str]] = []
        self.flow_target: list[tuple[int, str]] = []

    def note(self, path: str, lines: list[tuple[int, str]]) -> None:
        for number, raw in lines:
            self.b.note(path, number, raw)

    def run(self, commands: list[Command]) -> ParsedConfig:
        f = self.f
        f["logging"].update(timestamps_datetime=True, buffered=True)
        f["services"].update(cdp=True, lldp=True)
        for cmd in commands:
            handler = getattr(self, "menu_" + cmd.menu.replace(" ", "_").replace("-", "_"), None)
            if handler is not None:
                handler(cmd)
        self.finish()
        return self.b.result()

    # -- menus -----------------------------------------------------------------------------------------
    def menu_system_identity(self, cmd: Command) -> None:
        if "name" in cmd.values:
            self.f["hostname"] = cmd.values["name"]
            self.note("hostname", cmd.lines)

    def menu_ip_service(self, cmd: Command) -> None:
        name = cmd.item or cmd.find.get("name")
        if name not in self.services or cmd.verb not in ("set", "enable", "disable"):
            return
        svc = self.services[name]
        if cmd.verb != "set":
            svc["on"] = cmd.verb == "enable"
        elif "disabled" in cmd.values:
            svc["on"] = cmd.values["disabled"] not in ("yes", "true")
        if "address" in cmd.values:
            svc["address"] = cmd.values["address"] if cmd.values["address"] not in _ANY_ADDRESS else None
        svc["lines"].extend(cmd.lines)

    def menu_snmp(self, cmd: Command) -> None:
        values = cmd.values
        self.note("snmp", cmd.lines)
        if values.get("enabled") in ("yes", "true"):
            self.snmp_on = list(cmd.lines)
        elif values.get("enabled") in ("no", "false"):
            self.snmp_on = None
        for key in ("contact", "location"):
            if values.get(key):
                self.f["snmp"][key] = values[key]
                self.note(f"snmp.{key}", cmd.lines)
        if values.get("trap-target"):
            for host in values["trap-target"].split(","):
                self.b.add_unique("snmp.trap_hosts", host)
            self.note("snmp.trap_hosts", cmd.lines)

    def menu_snmp_community(self, cmd: Command) -> None:
        values = cmd.values
        is_default = cmd.find.get("default") in ("yes", "true") or cmd.item == "0"
        if cmd.verb == "set" and is_default:
            entry = self.default_community
        elif cmd.verb == "add" and values.get("name"):
            entry = {"name": values["name"], "acl": None, "disabled": False, "lines": [], "added": True}
            self.extra_communities.append(entry)
        else:
            return
        entry["lines"].extend(cmd.lines)
        if "name" in values:
            entry["name"] = values["name"]
        if "addresses" in values:
            entry["acl"] = values["addresses"] if values["addresses"] not in _ANY_ADDRESS else None
        if "disabled" in values:
            entry["disabled"] = values["disabled"] in ("yes", "true")
        for key in ("write-access", "security", "authentication-protocol", "encryption-protocol"):
            if key in values:
                entry[key] = values[key]

    def menu_system_logging_action(self, cmd: Command) -> None:
        name = cmd.values.get("name") or cmd.find.get("name")
        if not name:
            return
        action = self.log_actions.setdefault(name, {"remote": None, "target": None, "lines": []})
        action["lines"].extend(cmd.lines)
        if cmd.values.get("remote"):
            action["remote"] = cmd.values["remote"]
        if cmd.values.get("target"):
            action["target"] = cmd.values["target"]
        if name == "remote" and action["target"] is None:
            action["target"] = "remote"  # the built-in remote action

    def menu_system_logging(self, cmd: Command) -> None:
        if cmd.verb == "add" and cmd.values.get("action"):
            self.log_rules.append(cmd)
        self.note("logging", cmd.lines)

    def menu_system_ntp_client(self, cmd: Command) -> None:
        values = cmd.values
        if "enabled" in values:
            self.ntp_enabled = values["enabled"] in ("yes", "true")
        for key in ("primary-ntp", "secondary-ntp", "servers", "server-dns-names"):
            for server in values.get(key, "").split(","):
                if server and server != "0.0.0.0":
                    self.ntp_servers.append((server, list(cmd.lines)))
        self.note("ntp", cmd.lines)

    def menu_system_ntp_client_servers(self, cmd: Command) -> None:
        if cmd.verb == "add" and cmd.values.get("address"):
            self.ntp_servers.append((cmd.values["address"], list(cmd.lines)))

    def menu_system_note(self, cmd: Command) -> None:
        if cmd.values.get("note") and cmd.values.get("show-at-login", "yes") in ("yes", "true"):
            self.f["banner"] = True
            self.note("banner", cmd.lines)

    def menu_interface_ethernet(self, cmd: Command) -> None:
        name = cmd.values.get("name") or cmd.find.get("default-name") or cmd.item
        if not name or cmd.verb != "set":
            return
        entry = self.interface(name, physical=True, lines=cmd.lines)
        self.interface_values(entry, cmd.values)

    def menu_interface_vlan(self, cmd: Command) -> None:
        name, vid = cmd.values.get("name"), cmd.values.get("vlan-id")
        if cmd.verb != "add" or not name or not vid or not vid.isdigit():
            return
        entry = self.interface(name, physical=False, lines=cmd.lines, svi=int(vid))
        self.interface_values(entry, cmd.values)
        self.vlan_names[name] = int(vid)
        item = self.b.item("vlans", vid, lambda: {"id": int(vid), "name": None})
        item["name"] = name
        self.note(f"vlans[{vid}]", cmd.lines)

    def menu_interface_bridge(self, cmd: Command) -> None:
        if cmd.verb == "add" and cmd.values.get("name"):
            self.bridges.add(cmd.values["name"])
        if cmd.values.get("dhcp-snooping") in ("yes", "true"):
            self.f["services"]["dhcp_snooping"] = True
            self.note("services.dhcp_snooping", cmd.lines)

    def menu_interface_bridge_port(self, cmd: Command) -> None:
        name = cmd.values.get("interface")
        if cmd.verb != "add" or not name:
            return
        entry = self.interface(name, physical=bool(_PHYSICAL.match(name)), lines=cmd.lines)
        pvid = cmd.values.get("pvid")
        entry["mode"] = entry["mode"] or "access"
        entry["access_vlan"] = int(pvid) if pvid and pvid.isdigit() else entry["access_vlan"] or 1
        if cmd.values.get("frame-types") == "admit-only-vlan-tagged":
            entry["mode"] = "trunk"

    def menu_interface_bridge_vlan(self, cmd: Command) -> None:
        tagged = [x for x in cmd.values.get("tagged", "").split(",") if x]
        for name in tagged:
            if name not in self.bridges:
                entry = self.interface(name, physical=bool(_PHYSICAL.match(name)), lines=cmd.lines)
                entry["mode"] = "trunk"
        for vid in cmd.values.get("vlan-ids", "").split(","):
            if vid.isdigit() and 0 < int(vid) <= 4094:
                self.b.item("vlans", vid, lambda v=int(vid): {"id": v, "name": None})
                self.note(f"vlans[{vid}]", cmd.lines)

    def menu_interface_bonding(self, cmd: Command) -> None:
        if cmd.verb == "add":
            self.f["redundancy"]["port_channels"] += 1
            self.note("redundancy.port_channels", cmd.lines)
            for slave in cmd.values.get("slaves", "").split(","):
                if slave:
                    entry = self.interface(slave, physical=True, lines=cmd.lines)
                    entry["channel_group"] = self.f["redundancy"]["port_channels"]

    def menu_interface_vrrp(self, cmd: Command) -> None:
        if cmd.verb == "add":
            self.f["redundancy"]["vrrp_groups"] += 1
            self.note("redundancy.vrrp_groups", cmd.lines)

    def menu_interface_dot1x_server(self, cmd: Command) -> None:
        name = cmd.values.get("interface")
        if cmd.verb == "add" and name:
            self.interface(name, physical=bool(_PHYSICAL.match(name)), lines=cmd.lines)["dot1x"] = True
            self.f["aaa"]["dot1x_enabled"] = True
            self.note("aaa.dot1x_enabled", cmd.lines)

    def menu_ip_address(self, cmd: Command) -> None:
        address, name = cmd.values.get("address"), cmd.values.get("interface")
        if cmd.verb == "add" and address and name:
            value = cidr(address)
            if value:
                self.ip_by_interface.setdefault(name, []).append((value, list(cmd.lines)))

    def menu_ip_route(self, cmd: Command) -> None:
        if cmd.verb != "add" or cmd.values.get("dst-address", "0.0.0.0/0") != "0.0.0.0/0":
            return
        hop = cmd.values.get("gateway")
        if not hop:
            return
        distance = cmd.values.get("distance")
        self.b.item(
            "default_routes",
            hop,
            lambda: new_default_route(hop, int(distance) if distance and distance.isdigit() else None),
        )
        self.note(f"default_routes[{hop}]", cmd.lines)
        self.note("default_routes", cmd.lines)

    def menu_ip_dhcp_client(self, cmd: Command) -> None:
        name = cmd.values.get("interface")
        if (
            cmd.verb == "add"
            and name
            and cmd.values.get("add-default-route", "yes") in ("yes", "special-classless")
        ):
            hop = f"dhcp {name}"
            distance = cmd.values.get("default-route-distance")
            self.b.item(
                "default_routes",
                hop,
                lambda: new_default_route(hop, int(distance) if distance and distance.isdigit() else None),
            )
            self.note(f"default_routes[{hop}]", cmd.lines)
            self.note("default_routes", cmd.lines)

    def menu_ip_firewall_filter(self, cmd: Command) -> None:
        if cmd.verb != "add" or not cmd.values.get("chain"):
            return
        acl = f"filter {cmd.values['chain']}"
        self.b.add_unique("acls", acl)
        self.note(f"acls[{acl}]", cmd.lines)
        name = cmd.values.get("in-interface")
        if name:
            entry = self.interface(name, physical=bool(_PHYSICAL.match(name)), lines=[])
            entry["acl_in"] = acl
            self.note(f"interfaces[{name}].acl_in", cmd.lines)

    def menu_ip_traffic_flow(self, cmd: Command) -> None:
        if cmd.values.get("enabled") in ("yes", "true"):
            self.flow_on = list(cmd.lines)

    def menu_ip_traffic_flow_target(self, cmd: Command) -> None:
        if cmd.verb == "add" and (cmd.values.get("dst-address") or cmd.values.get("address")):
            self.flow_target = list(cmd.lines)

    def menu_ip_neighbor_discovery_settings(self, cmd: Command) -> None:
        if cmd.values.get("discover-interface-list") == "none":
            self.f["services"].update(cdp=False, lldp=False)
            self.note("services.cdp", cmd.lines)
            self.note("services.lldp", cmd.lines)

    def menu_tool_mac_server(self, cmd: Command) -> None:
        if cmd.verb == "set":
            self.mac_server = cmd

    def menu_user_aaa(self, cmd: Command) -> None:
        if cmd.values.get("use-radius") in ("yes", "true"):
            self.f["aaa"]["new_model"] = True
            self.note("aaa.new_model", cmd.lines)

    def menu_radius(self, cmd: Command) -> None:
        if cmd.verb == "add" and cmd.values.get("address"):
            self.b.add_unique("aaa.radius_servers", cmd.values["address"])
            self.note("aaa.radius_servers", cmd.lines)

    def menu_user(self, cmd: Command) -> None:
        name = cmd.values.get("name")
        if cmd.verb != "add" or not name:
            return
        group = cmd.values.get("group", "")
        user = self.b.item("users", name, lambda: {"name": name, "privilege": None, "secret_kind": None})
        user["privilege"] = {"full": 15, "write": 7, "read": 1}.get(group)
        self.note(f"users[{name}]", cmd.lines)

    # -- helpers ---------------------------------------------------------------------------------------
    def interface(
        self, name: str, *, physical: bool, lines: list[tuple[int, str]], svi: int | None = None
    ) -> dict[str, Any]:
        entry = self.b.item("interfaces", name, lambda: new_interface(name, physical=physical, svi_vlan=svi))
        self.note(f"interfaces[{name}]", lines)
        return entry

    def interface_values(self, entry: dict[str, Any], values: dict[str, str]) -> None:
        if values.get("comment"):
            entry["description"] = values["comment"]
        if "disabled" in values:
            entry["shutdown"] = values["disabled"] in ("yes", "true")

    def finish(self) -> None:
        f, b = self.f, self.b
        mgmt = f["management"]
        for key, service in (
            ("telnet_enabled", "telnet"),
            ("ssh_enabled", "ssh"),
            ("http_server", "www"),
            ("https_server", "www-ssl"),
        ):
            mgmt[key] = self.services[service]["on"]
            self.note(f"management.{key}", self.services[service]["lines"])
        if mgmt["ssh_enabled"]:
            mgmt["ssh_version"] = 2  # RouterOS speaks SSHv2 only
        login = "aaa" if f["aaa"]["new_model"] else "local"
        for name, svc in self.services.items():
            if not svc["on"]:
                continue
            line = b.item("lines", f"vty {name}", lambda n=name: new_line(f"vty {n}", "vty"))
            line.update(login=login, access_class=svc["address"], transport_input=[name])
            self.note(f"lines[vty {name}]", svc["lines"])
        if self.mac_server is None or self.mac_server.values.get("allowed-interface-list") != "none":
            line = b.item("lines", "vty mac-telnet", lambda: new_line("vty mac-telnet", "vty"))
            allowed = self.mac_server.values.get("allowed-interface-list") if self.mac_server else None
            line.update(login=login, access_class=None if allowed in (None, "all") else allowed)
            line["transport_input"] = ["mac-telnet"]
            if self.mac_server is not None:
                self.note("lines[vty mac-telnet]", self.mac_server.lines)
        self.finish_snmp()
        for rule in self.log_rules:  # a remote action counts once a logging rule sends to it
            used = self.log_actions.get(rule.values["action"])
            if used and used["target"] == "remote" and used["remote"]:
                b.add_unique("logging.hosts", used["remote"])
                self.note("logging.hosts", used["lines"])
                self.note("logging.hosts", rule.lines)
        if self.ntp_enabled:
            for server, lines in self.ntp_servers:
                b.add_unique("ntp.servers", server)
                self.note("ntp.servers", lines)
        if self.flow_on and self.flow_target:
            f["services"]["flow_export"] = True
            self.note("services.flow_export", self.flow_on + self.flow_target)
        for name, addresses in self.ip_by_interface.items():
            entry = self.interface(name, physical=bool(_PHYSICAL.match(name)), lines=[])
            for address, lines in addresses:
                entry["ip_addresses"].append(address)
                self.note(f"interfaces[{name}]", lines)
            if entry["mode"] is None:
                entry["mode"] = "routed"
        for entry in f["interfaces"]:
            if entry["svi_vlan"] is None and entry["name"] in self.vlan_names:
                entry["svi_vlan"] = self.vlan_names[entry["name"]]

    def finish_snmp(self) -> None:
        f = self.f
        if self.snmp_on is None:
            return  # the agent is off: no community answers
        communities = [self.default_community, *self.extra_communities]
        for entry in communities:
            if entry["disabled"]:
                continue
            security = entry.get("security", "none")
            name = entry["name"]
            path_lines = entry["lines"] or self.snmp_on
            if security == "none":
                access = "rw" if entry.get("write-access") in ("yes", "true") else "ro"
                comm = self.b.item(
                    "snmp.communities", name, lambda n=name, a=access: {"name": n, "access": a, "acl": None}
                )
                comm.update(access=access, acl=entry["acl"])
                self.note(f"snmp.communities[{name}]", path_lines)
            else:
                level = "priv" if security == "private" else "auth"
                self.b.item(
                    "snmp.v3_users", name, lambda n=name, lv=level: {"name": n, "group": None, "level": lv}
                )
                self.note(f"snmp.v3_users[{name}]", path_lines)
        f["snmp"]["v1_v2c_enabled"] = bool(f["snmp"]["communities"])


def parse(lines: list[str], source: str) -> ParsedConfig:
    """Parse a RouterOS export; ConfigParseError if cut mid-command or not a RouterOS export."""
    groups = logical_lines(lines, source)
    commands, words = parse_commands(groups, source)
    check_vocabulary(words, KNOWN, PLATFORM, source)
    if not any(line.startswith("/") for group in groups for _, line in group):
        raise ConfigParseError(source, 1, "không có mục /menu nào / no /menu sections: not a RouterOS export")
    return RouterOsParser(source).run(commands)
