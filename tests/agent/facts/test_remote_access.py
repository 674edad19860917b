"""Laptops and VPN clients (HS-36): power-supply and config trees on Linux, services on Windows."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts.remote_access import read_linux, windows_battery, windows_clients
from canhgac_api.schemas.report import RemoteAccess
from tests.agent.facts.trees import linux_host, write_tree


def test_laptop_with_openvpn_and_wireguard(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/sys/class/power_supply/AC/type": "Mains\n",
            "/sys/class/power_supply/BAT0/type": "Battery\n",
            "/sys/class/power_supply/BAT0/scope": "System\n",
            "/etc/openvpn/client/tinh.conf": "client\nremote vpn.tinh.gov.vn 1194\n",
            "/sys/class/net/wg0/uevent": "DEVTYPE=wireguard\nINTERFACE=wg0\nIFINDEX=5\n",
            "/sys/class/net/eth0/uevent": "INTERFACE=eth0\nIFINDEX=2\n",
        },
    )
    facts = read_linux(linux_host(tmp_path, {"openvpn"}))
    RemoteAccess.model_validate(facts)
    assert facts == {
        "battery": True,
        "vpn_clients": [{"name": "OpenVPN", "running": True}, {"name": "WireGuard", "running": True}],
    }


def test_desktop_with_a_wireless_mouse_is_not_a_laptop(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/sys/class/power_supply/AC/type": "Mains\n",
            "/sys/class/power_supply/hidpp_battery_0/type": "Battery\n",
            "/sys/class/power_supply/hidpp_battery_0/scope": "Device\n",
            "/opt/cisco/secureclient/bin/vpnui": "",
        },
    )
    facts = read_linux(linux_host(tmp_path))
    assert facts == {
        "battery": False,
        "vpn_clients": [{"name": "Cisco Secure Client (AnyConnect)", "running": False}],
    }


def test_laptop_without_vpn(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/sys/class/power_supply/BAT1/type": "Battery\n"})
    assert read_linux(linux_host(tmp_path)) == {"battery": True, "vpn_clients": []}


# Get-CimInstance Win32_Battery | Select-Object Name,BatteryStatus | ConvertTo-Json (a single battery is
# printed bare, not as a list)
WIN32_BATTERY = {"Name": "DELL 0FDRT56", "BatteryStatus": 2}


def test_windows_battery_and_vpn_services() -> None:
    assert windows_battery(WIN32_BATTERY) is True
    assert windows_battery([]) is False
    assert windows_battery(None) is False
    services = {
        "pangps": "Running",
        "wireguardmanager": "Stopped",
        "wireguardtunnel$sotttt": "Running",
        "fa_scheduler": "Stopped",
        "spooler": "Running",
    }
    assert windows_clients(services) == [
        {"name": "WireGuard", "running": True},
        {"name": "FortiClient", "running": False},
        {"name": "GlobalProtect", "running": True},
    ]
    RemoteAccess.model_validate({"battery": True, "vpn_clients": windows_clients(services)})
