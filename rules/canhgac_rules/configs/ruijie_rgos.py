"""Ruijie RGOS (10.x/11.x switches) ``show running-config`` -> normalized facts.

RGOS prints an IOS-like tree (``!`` separators, one-space children, final ``end``), so this module reuses
`IosParser` and changes what differs: the management servers are services (``enable service
ssh-server|telnet-server|web-server``), SNMP communities may carry a type (``snmp-server community 7 …``)
and a ``host``, syslog servers are ``logging server``, time comes from ``sntp server``, link aggregation is
``AggregatePort`` / ``port-group`` and interface names carry a space (``GigabitEthernet 0/1``).

Defaults a running config does not print, judged here: the Telnet server and the web server are on and
the SSH server is off unless the config says otherwise; a vty without ``login`` asks for its line
password and accepts every protocol; a switch port is an access port in VLAN 1; log entries carry the
date and time and the log buffer is on; LLDP is on. RGOS has no PAD, finger, small servers or CDP, so
those facts are left unknown (None) rather than guessed.
"""

from __future__ import annotations

from .blocks import Node
from .cisco_ios import KNOWN as IOS_KNOWN
from .cisco_ios import IosParser, parse_ios_family
from .model import ParsedConfig

PLATFORM = "ruijie_rgos"

KNOWN = IOS_KNOWN | frozenset(
    [
        "install",
        "nfpp",
        "sntp",
        "sysmac",
        "cwmp",
        "webmaster",
        "web",
        "http",
        "gateway",
        "anti-arp-spoofing",
        "port-group",
        "ip-guard",
        "storm-control",
        "gvrp",
        "igmp",
        "rldp",
        "vrrp",
        "nd",
        "efmp",
        "dhcp",
        "mac-address-table",
    ]
)

_SERVICES = {"ssh-server": "ssh_enabled", "telnet-server": "telnet_enabled", "web-server": "http_server"}


class RgosParser(IosParser):
    """RGOS dialect of the IOS parser."""

    platform = PLATFORM

    def __init__(self, lines: list[str], source: str) -> None:
        super().__init__(lines, source)
        self.telnet_server = True
        self.telnet_server_line: Node | None = None

    def defaults(self) -> None:
        f = self.f
        f["services"].update(
            pad=None, source_route=None, small_servers=None, finger=None, cdp=None, lldp=True
        )
        f["management"].update(http_server=True)
        f["logging"].update(timestamps_datetime=True, buffered=True)

    def top(self, obj: Node, w: list[str], text: str) -> None:
        f, note = self.f, self.note
        neg = w[0] == "no"
        body = w[1:] if neg else w
        if body[:2] == ["enable", "service"] and len(body) > 2 and body[2] in _SERVICES:
            self.service_switch(obj, body, on=not neg)
        elif body[:2] == ["ip", "ssh"]:  # SSH settings; the server itself is `enable service ssh-server`
            if body[2:3] == ["version"] and len(body) > 3 and not neg:
                f["management"]["ssh_version"] = 2 if body[3] == "2" else 1
                note("management.ssh_version", obj)
        elif body[:2] == ["service", "timestamps"]:
            f["logging"]["timestamps_datetime"] = not neg and ("datetime" in body or len(body) == 2)
            note("logging.timestamps_datetime", obj)
        elif body[:2] == ["logging", "server"] and len(body) > 2 and not neg:
            host = body[-1]
            self.b.add_unique("logging.hosts", host)
            note("logging", obj)
            note("logging.hosts", obj)
        elif w[0] == "sntp" and w[1:2] == ["server"] and len(w) > 2:
            self.b.add_unique("ntp.servers", w[-1])
            note("ntp", obj)
            note("ntp.servers", obj)
        elif w[:2] == ["snmp-server", "community"] and len(w) > 3 and w[2] in ("0", "7"):
            self.snmp(obj, [w[0], w[1], *w[3:]])
            self.community_host(obj, [w[0], w[1], *w[3:]])
        elif w[:2] == ["snmp-server", "community"]:
            self.snmp(obj, w)
            self.community_host(obj, w)
        elif text.startswith("aaa authentication dot1x"):
            f["aaa"]["dot1x_enabled"] = True
            note("aaa.dot1x_enabled", obj)
        elif text in ("lldp enable", "no lldp enable"):
            f["services"]["lldp"] = not neg
            note("services.lldp", obj)
        elif w[0] == "sflow" and ("collector" in w or "destination" in w):
            f["services"]["flow_export"] = True
            note("services.flow_export", obj)
        else:
            super().top(obj, w, text)

    def service_switch(self, obj: Node, body: list[str], *, on: bool) -> None:
        """``[no] enable service ssh-server|telnet-server|web-server [http|https|all]``."""
        f, note = self.f, self.note
        server = body[2]
        if server == "web-server":
            scheme = body[3] if len(body) > 3 else "all" if not on else "http"
            if scheme in ("http", "all"):
                f["management"]["http_server"] = on
                note("management.http_server", obj)
            if scheme in ("https", "all"):
                f["management"]["https_server"] = on
                note("management.https_server", obj)
            if on and scheme == "https":
                f["management"]["http_server"] = False
        elif server == "telnet-server":
            self.telnet_server = on
            self.telnet_server_line = obj
        else:
            f["management"][_SERVICES[server]] = on
            note(f"management.{_SERVICES[server]}", obj)

    def community_host(self, obj: Node, w: list[str]) -> None:
        """A community limited to one manager (``… ro host 10.0.99.20``) is as good as an ACL."""
        if "host" in w and w.index("host") + 1 < len(w) and len(w) > 2:
            comm = self.b.item("snmp.communities", w[2], dict)
            comm["acl"] = f"host {w[w.index('host') + 1]}"

    def interface(self, obj: Node, name: str) -> None:
        super().interface(obj, name)
        entry = self.b.item("interfaces", name, dict)  # created just above
        low = name.lower()
        if low.startswith("aggregateport"):
            self.f["redundancy"]["port_channels"] += 1
            self.note("redundancy.port_channels", obj)
        for child in obj.children:
            if child.words[0] == "port-group" and len(child.words) > 1 and child.words[1].isdigit():
                entry["channel_group"] = int(child.words[1])
        if entry["physical"] and entry["mode"] is None and entry["channel_group"] is None:
            entry["mode"] = "access"  # an RGOS switch port is an access port until configured
            entry["access_vlan"] = entry["access_vlan"] or 1
        elif entry["mode"] is None and entry["access_vlan"] is not None:
            entry["mode"] = "access"

    def finish(self) -> None:
        f = self.f
        ssh_server = f["management"]["ssh_enabled"]
        super().finish()
        f["management"]["ssh_enabled"] = ssh_server  # a vty allowing SSH is not a running SSH server
        # IOS counts any vty that accepts Telnet; on RGOS the Telnet server must also be running.
        vty_telnet = [
            ln for ln in f["lines"] if ln["kind"] == "vty" and {"telnet", "all"} & set(ln["transport_input"])
        ]
        on = self.telnet_server and (bool(vty_telnet) or not any(ln["kind"] == "vty" for ln in f["lines"]))
        f["management"]["telnet_enabled"] = on
        if self.telnet_server_line is not None:
            self.note("management.telnet_enabled", self.telnet_server_line)
        if not on:
            self.b.prov.pop("management.telnet_enabled", None)
            if self.telnet_server_line is not None:
                self.note("management.telnet_enabled", self.telnet_server_line)


def parse(lines: list[str], source: str) -> ParsedConfig:
    """Parse an RGOS running config; ConfigParseError if truncated or not RGOS-like."""
    return parse_ios_family(RgosParser, KNOWN, lines, source)
