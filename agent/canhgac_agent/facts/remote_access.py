"""Laptops and their VPN clients (`SecurityFacts.remote_access`, HS-36).

A machine with a system battery is a laptop (Linux: a `/sys/class/power_supply` entry of type Battery
whose scope is not "Device", which would be a wireless mouse's; Windows: `Win32_Battery`). VPN clients
are recognised by process, configuration or install path on Linux and by service on Windows; the rule
pairs them with the anti-malware state of `endpoint_management`. Machines without a battery are not
laptops: the rule does not apply to them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from canhgac_agent.facts.common import any_running, as_list, clip, read_text
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

MAX_CLIENTS = 32


class VpnClient(NamedTuple):
    """A known VPN client: Linux processes and paths (globs under the root), Windows service names."""

    name: str
    processes: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


VPN_CLIENTS: tuple[VpnClient, ...] = (
    VpnClient(
        "OpenVPN",
        ("openvpn",),
        ("/etc/openvpn/client/*.conf", "/etc/openvpn/*.conf"),
        ("openvpnservice", "openvpnserviceinteractive", "ovpnconnectorservice", "agent_ovpnconnect"),
    ),
    VpnClient("WireGuard", (), ("/etc/wireguard/*.conf",), ("wireguardmanager",)),
    VpnClient("FortiClient", ("forticlient", "fortitray"), ("/opt/forticlient",), ("fa_scheduler",)),
    VpnClient(
        "Cisco Secure Client (AnyConnect)",
        ("vpnagentd",),
        ("/opt/cisco/anyconnect", "/opt/cisco/secureclient"),
        ("vpnagent", "csc_vpnagent"),
    ),
    VpnClient("GlobalProtect", ("pangps",), ("/opt/paloaltonetworks/globalprotect",), ("pangps",)),
    VpnClient("strongSwan", ("charon", "charon-systemd"), ("/etc/swanctl/conf.d/*.conf",), ("strongswan",)),
    VpnClient("Check Point Endpoint VPN", (), (), ("tracsrvwrapper",)),
)


def linux_battery(host: LinuxHost) -> bool:
    """A system battery among the power supplies (a mouse's or keyboard's has scope "Device")."""
    for supply in host.glob("/sys/class/power_supply/*"):
        kind = (read_text(os.path.join(supply, "type")) or "").strip()
        scope = (read_text(os.path.join(supply, "scope")) or "").strip()
        if kind == "Battery" and scope != "Device":
            return True
    return False


def wireguard_interfaces(host: LinuxHost) -> bool:
    """A live WireGuard interface (its uevent says DEVTYPE=wireguard)."""
    return any(
        "DEVTYPE=wireguard" in (read_text(path) or "") for path in host.glob("/sys/class/net/*/uevent")
    )


def read_linux(host: LinuxHost) -> dict[str, Any]:
    """`RemoteAccess` on Linux."""
    procs = host.process_names()
    clients: list[dict[str, Any]] = []
    for client in VPN_CLIENTS:
        running = any_running(procs, client.processes) if client.processes else False
        if client.name == "WireGuard":
            running = wireguard_interfaces(host)
        if running or any(host.glob(pattern) for pattern in client.paths):
            clients.append({"name": client.name, "running": running})
    return {"battery": linux_battery(host), "vpn_clients": clients[:MAX_CLIENTS]}


def windows_battery(batteries: Any) -> bool:
    """Any `Win32_Battery` instance (a UPS on USB shows here too, but rarely on a PC)."""
    return any(isinstance(b, dict) for b in as_list(batteries))


def windows_clients(services: dict[str, str]) -> list[dict[str, Any]]:
    """The known VPN clients among the services; WireGuard tunnels run as WireGuardTunnel$<name>."""
    clients = []
    for client in VPN_CLIENTS:
        present = [s for s in services if s in client.services]
        if client.name == "WireGuard":
            present += [s for s in services if s.startswith("wireguardtunnel$")]
        if present:
            running = any(services[s].lower() == "running" for s in present)
            clients.append({"name": clip(client.name), "running": running})
    return clients[:MAX_CLIENTS]


def read_windows(host: WindowsHost) -> dict[str, Any]:
    """`RemoteAccess` on Windows."""
    return {
        "battery": windows_battery(host.powershell("battery")),
        "vpn_clients": windows_clients(host.services()),
    }


PLUGIN = FactFamily(name="remote_access", linux=read_linux, windows=read_windows)
