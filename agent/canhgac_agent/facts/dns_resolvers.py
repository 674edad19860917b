"""DNS resolvers in use (`SecurityFacts.dns_resolvers`).

Linux: resolv.conf's nameservers, or, behind systemd-resolved's stub, the upstream servers it forwards
to. Windows: `Get-DnsClientServerAddress` per interface.

Requirement HS-29 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import as_list, clip
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

RESOLVED_STUBS = frozenset({"127.0.0.53", "127.0.0.54"})  # systemd-resolved stub and proxy listeners


def parse_resolv_conf(text: str) -> list[str]:
    """The `nameserver` addresses of resolv.conf text, in order, duplicates dropped; values that are not
    IP addresses (garbage, templates) are skipped. An IPv6 zone (`fe80::1%eth0`) is kept."""
    found: list[str] = []
    for raw in text.splitlines():
        cols = raw.split("#", 1)[0].split(";", 1)[0].split()
        if len(cols) < 2 or cols[0] != "nameserver":
            continue
        try:
            ipaddress.ip_address(cols[1].split("%", 1)[0])
        except ValueError:
            continue
        found.append(clip(cols[1]))
    return list(dict.fromkeys(found))[:64]


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`DnsResolvers` on Linux."""
    resolv = host.read("/etc/resolv.conf")
    if resolv is None:
        raise RuntimeError("/etc/resolv.conf is missing or not readable")
    addresses = parse_resolv_conf(resolv)
    if not any(a in RESOLVED_STUBS for a in addresses):
        servers = [{"address": a, "interface": None, "source": "/etc/resolv.conf"} for a in addresses]
        return {"servers": servers, "stub": None, "detail": None if servers else "no nameserver line"}
    # systemd-resolved's stub: the servers it forwards to are what filtering depends on
    upstream_path = "/run/systemd/resolve/resolv.conf"
    upstream = host.read(upstream_path)
    if upstream is None:
        raise RuntimeError(
            f"/etc/resolv.conf uses the systemd-resolved stub but {upstream_path} is unreadable"
        )
    others = [a for a in addresses if a not in RESOLVED_STUBS]
    servers = [
        {"address": a, "interface": None, "source": upstream_path} for a in parse_resolv_conf(upstream)
    ]
    servers += [{"address": a, "interface": None, "source": "/etc/resolv.conf"} for a in others]
    return {
        "servers": servers[:64],
        "stub": "systemd-resolved",
        "detail": None if servers else "systemd-resolved has no upstream DNS server",
    }


# Site-local placeholders Windows lists on interfaces without a configured IPv6 DNS server: never queried.
_DNS_PLACEHOLDERS = frozenset({"fec0:0:0:ffff::1", "fec0:0:0:ffff::2", "fec0:0:0:ffff::3"})


def parse_dns_client(rows: Any) -> dict[str, Any]:
    """`DnsResolvers` from Get-DnsClientServerAddress JSON rows (InterfaceAlias, Servers); addresses
    that are not IP addresses and Windows' fec0:0:0:ffff::N placeholders are dropped."""
    servers: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None]] = set()
    for row in as_list(rows):
        if not isinstance(row, dict):
            continue
        alias = row.get("InterfaceAlias")
        interface = clip(alias) if isinstance(alias, str) and alias else None
        for address in as_list(row.get("Servers")):
            if not isinstance(address, str) or address.lower() in _DNS_PLACEHOLDERS:
                continue
            try:
                ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                continue
            if (address, interface) not in seen:
                seen.add((address, interface))
                servers.append({"address": clip(address), "interface": interface, "source": None})
    return {"servers": servers[:64], "stub": None, "detail": None if servers else "no DNS server configured"}


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`DnsResolvers` on Windows."""
    return parse_dns_client(host.powershell("dns"))


PLUGIN = FactFamily(name="dns_resolvers", linux=read_linux, windows=read_windows)
