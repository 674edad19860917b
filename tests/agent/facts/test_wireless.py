"""Wi-Fi: nmcli on Linux, netsh wlan on Windows (English and Vietnamese), and the classification."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac_agent.facts import FACTS, collect_from
from canhgac_agent.facts.linux import LinuxHost
from canhgac_agent.facts.wireless import parse_netsh_wlan, parse_nmcli_wifi, wifi_connection
from canhgac_api.schemas.report import SecurityFacts, Wireless

NETSH_EN = """\

There is 1 interface on the system:

    Name                   : Wi-Fi
    Description            : Intel(R) Dual Band Wireless-AC 8265
    GUID                   : 6f1c2a3b-1111-2222-3333-444455556666
    Physical address       : 34:f3:9a:01:02:03
    State                  : connected
    SSID                   : UBND-XA
    BSSID                  : 70:4f:57:aa:bb:cc
    Network type           : Infrastructure
    Radio type             : 802.11n
    Authentication         : WPA2-Personal
    Cipher                 : CCMP
    Connection mode        : Auto Connect
    Channel                : 6
    Receive rate (Mbps)    : 144.4
    Transmit rate (Mbps)   : 144.4
    Signal                 : 88%
    Profile                : UBND-XA

    Hosted network status  : Not available
"""


# Vietnamese display language: labels translated, values (SSID, authentication names) are not
NETSH_VI = """\
Có 2 giao diện trên hệ thống:

    Tên                    : Wi-Fi
    Mô tả                  : Realtek RTL8821CE
    Trạng thái             : đã kết nối
    SSID                   : Mot-Cua
    BSSID                  : 70:4f:57:aa:bb:cd
    Xác thực               : WPA2-Enterprise
    Mật mã                 : CCMP

    Tên                    : Wi-Fi 2
    Mô tả                  : USB Wireless
    Trạng thái             : đã ngắt kết nối
"""


NETSH_WEP = """\
    Name                   : Wi-Fi
    State                  : connected
    SSID                   : old-router
    Authentication         : Open
    Cipher                 : WEP
"""


def test_netsh_english_shared_key() -> None:
    wireless = parse_netsh_wlan(NETSH_EN)
    assert wireless["connected"] is True
    (conn,) = wireless["connections"]
    assert conn == {
        "ssid": "UBND-XA",
        "authentication": "WPA2-Personal",
        "enterprise": False,
        "insecure": False,
        "interface": "Wi-Fi",
    }
    Wireless.model_validate(wireless)


def test_netsh_vietnamese_enterprise_and_a_disconnected_adapter() -> None:
    wireless = parse_netsh_wlan(NETSH_VI.replace("\n", "\r\n"))
    assert [(c["ssid"], c["enterprise"], c["interface"]) for c in wireless["connections"]] == [
        ("Mot-Cua", True, "Wi-Fi")
    ]


def test_netsh_wep_is_insecure() -> None:
    (conn,) = parse_netsh_wlan(NETSH_WEP)["connections"]
    assert (conn["authentication"], conn["insecure"]) == ("Open (WEP)", True)


def test_netsh_without_connection() -> None:
    wireless = parse_netsh_wlan(
        "There is 1 interface on the system:\n\n    Name : Wi-Fi\n    State : disconnected\n"
    )
    assert wireless == {"connected": False, "connections": [], "detail": None}


def test_nmcli_terse_output() -> None:
    text = "no:Cafe:--:wlan0\nyes:UBND\\:XA:WPA2 802.1X:wlan0\nyes:Guest::wlan1\nno:Other:WPA2:wlan0\n"
    wireless = parse_nmcli_wifi(text)
    assert [
        (c["ssid"], c["authentication"], c["enterprise"], c["insecure"]) for c in wireless["connections"]
    ] == [
        ("UBND:XA", "WPA2 802.1X", True, False),
        ("Guest", "--", False, True),  # an open network
    ]
    Wireless.model_validate(wireless)


@pytest.mark.parametrize(
    ("auth", "enterprise", "insecure"),
    [
        ("WPA3-Enterprise 192 Bits", True, False),
        ("WPA3-Personal", False, False),
        ("OWE", False, False),  # Enhanced Open encrypts
        ("Shared", False, True),
        (None, False, True),
    ],
)
def test_classification(auth: str | None, enterprise: bool, insecure: bool) -> None:
    conn = wifi_connection("x", auth, None)
    assert (conn["enterprise"], conn["insecure"]) == (enterprise, insecure)


def test_linux_without_wireless_interface(tmp_path: Path) -> None:
    (tmp_path / "sys/class/net/eth0").mkdir(parents=True)
    provider = LinuxHost(root=str(tmp_path))
    provider._procs = set()  # the process list is the live system's
    facts, _errors = collect_from(provider)
    assert facts["wireless"] == {"connected": False, "connections": [], "detail": "no wireless interface"}
    SecurityFacts.model_validate(facts)


def test_this_machine() -> None:
    Wireless.model_validate(FACTS["wireless"].linux(LinuxHost()))


@given(st.text(max_size=2000))
def test_garbage_stays_in_the_schema(text: str) -> None:
    Wireless.model_validate(parse_netsh_wlan(text))
    Wireless.model_validate(parse_nmcli_wifi(text))
