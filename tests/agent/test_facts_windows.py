"""Windows security facts: the provider cannot run here, so its parsers are tested on realistic
outputs of the commands it runs (English and localised), and the results validated against the wire
schema."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac_agent.facts.windows import (
    WindowsProvider,
    firewall_from_profiles,
    parse_av_products,
    parse_defender_status,
    parse_local_users,
    parse_net_accounts,
    parse_net_localgroup,
    parse_netsh_allprofiles,
    parse_powershell_bundle,
    parse_ps_date,
    parse_update_results,
    parse_w32tm_status,
)
from canhgac_api.schemas.report import (
    AntiMalware,
    FirewallState,
    LocalAccount,
    PasswordPolicy,
    PendingUpdates,
    TimeSync,
)


def _profile_block(title: str, state: str, policy: str) -> str:
    return (
        f"\n{title}:\n"
        "----------------------------------------------------------------------\n"
        f"State                                 {state}\n"
        f"Firewall Policy                       {policy}\n"
        "LocalFirewallRules                    N/A (GPO-store only)\n"
        "LocalConSecRules                      N/A (GPO-store only)\n"
        "InboundUserNotification               Enable\n"
        "RemoteManagement                      Disable\n"
        "UnicastResponseToMulticast            Enable\n"
        "\nLogging:\n"
        "LogAllowedConnections                 Disable\n"
        "LogDroppedConnections                 Disable\n"
        "FileName                              %systemroot%\\system32\\LogFiles\\Firewall\\pfirewall.log\n"
        "MaxFileSize                           4096\n"
    )


NETSH_ALL_ON = (
    _profile_block("Domain Profile Settings", "ON", "BlockInbound,AllowOutbound")
    + _profile_block("Private Profile Settings", "ON", "BlockInbound,AllowOutbound")
    + _profile_block("Public Profile Settings", "ON", "BlockInbound,AllowOutbound")
    + "Ok.\n\n"
)

NETSH_PUBLIC_OFF = (
    _profile_block("Domain Profile Settings", "ON", "BlockInbound,AllowOutbound")
    + _profile_block("Private Profile Settings", "ON", "AllowInbound,AllowOutbound")
    + _profile_block("Public Profile Settings", "OFF", "BlockInbound,AllowOutbound")
    + "Ok.\n\n"
)


def test_netsh_all_profiles_on() -> None:
    profiles = parse_netsh_allprofiles(NETSH_ALL_ON)
    assert [p["profile"] for p in profiles] == ["Domain", "Private", "Public"]
    state = firewall_from_profiles(profiles)
    FirewallState.model_validate(state)
    assert state["enabled"] is True
    assert state["default_input_policy"] == "block"
    assert state["detail"] == "Domain=ON(block), Private=ON(block), Public=ON(block)"


def test_netsh_one_profile_off() -> None:
    state = firewall_from_profiles(parse_netsh_allprofiles(NETSH_PUBLIC_OFF))
    FirewallState.model_validate(state)
    assert state["enabled"] is False
    assert state["default_input_policy"] == "allow"


def test_netsh_localised_output_is_not_guessed() -> None:
    german = _profile_block("Domänenprofil-Einstellungen", "EIN", "BlockInbound,AllowOutbound") + "OK.\n"
    state = firewall_from_profiles(parse_netsh_allprofiles(german))
    FirewallState.model_validate(state)
    assert state["enabled"] is None  # "EIN" is not ON/OFF: unknown, never a wrong answer
    assert state["default_input_policy"] == "block"


def test_netsh_garbage() -> None:
    assert (
        parse_netsh_allprofiles("The requested operation requires elevation (Run as administrator).\n") == []
    )
    state = firewall_from_profiles([])
    FirewallState.model_validate(state)
    assert state["enabled"] is None


W32TM_SYNCED = """\
Leap Indicator: 0(no warning)
Stratum: 4 (secondary reference - syncd by (S)NTP)
Precision: -23 (119.209ns per tick)
Root Delay: 0.0469134s
Root Dispersion: 7.8262468s
ReferenceId: 0x0A01000A (source IP:  10.1.0.10)
Last Successful Sync Time: 11/22/2026 10:15:02 AM
Source: dc01.sotttt.gov.vn
Poll Interval: 10 (1024s)

Phase Offset: -0.0012345s
ClockRate: 0.0156250s
State Machine: 2 (Sync)
Time Source Flags: 0 (None)
Server Role: 0 (None)
Last Sync Error: 0 (The command completed successfully.)
Time since Last Good Sync Time: 312.4533103s
"""

W32TM_CMOS = """\
Leap Indicator: 3(not synchronized)
Stratum: 0 (unspecified)
Precision: -23 (119.209ns per tick)
Root Delay: 0.0000000s
Root Dispersion: 0.0000000s
ReferenceId: 0x00000000 (unspecified)
Last Successful Sync Time: unspecified
Source: Local CMOS Clock
Poll Interval: 10 (1024s)
"""

W32TM_STOPPED = "The following error occurred: The service has not been started. (0x80070426)\n"


def test_w32tm() -> None:
    synced = parse_w32tm_status(W32TM_SYNCED)
    TimeSync.model_validate(synced)
    assert synced == {
        "service": "w32time",
        "synchronized": True,
        "source": "dc01.sotttt.gov.vn",
        "offset_ms": -1.2345,
    }
    assert parse_w32tm_status(W32TM_SYNCED.replace("dc01.sotttt.gov.vn", "time.windows.com,0x9"))[
        "source"
    ] == ("time.windows.com")
    cmos = parse_w32tm_status(W32TM_CMOS)
    assert cmos["synchronized"] is False
    assert cmos["source"] == "Local CMOS Clock"
    assert parse_w32tm_status(W32TM_STOPPED)["synchronized"] is False
    garbage = parse_w32tm_status("\x00\x01 nothing useful")
    TimeSync.model_validate(garbage)
    assert garbage["synchronized"] is None


NET_ACCOUNTS = """\
Force user logoff how long after time expires?:       Never
Minimum password age (days):                          1
Maximum password age (days):                          90
Minimum password length:                              12
Length of password history maintained:                24
Lockout threshold:                                    5
Lockout duration (minutes):                           30
Lockout observation window (minutes):                 30
Computer role:                                        WORKSTATION
The command completed successfully.
"""

NET_ACCOUNTS_DEFAULT_VI = """\
Buộc người dùng đăng xuất sau bao lâu khi hết thời gian?:   Không bao giờ
Tuổi mật khẩu tối thiểu (ngày):                             0
Tuổi mật khẩu tối đa (ngày):                                Không giới hạn
Độ dài mật khẩu tối thiểu:                                  0
Độ dài lịch sử mật khẩu được duy trì:                       Không có
Ngưỡng khóa:                                                Không bao giờ
Thời lượng khóa (phút):                                     30
Cửa sổ quan sát khóa (phút):                                30
Vai trò máy tính:                                           WORKSTATION
Lệnh đã hoàn tất thành công.
"""


def test_net_accounts() -> None:
    policy = parse_net_accounts(NET_ACCOUNTS)
    PasswordPolicy.model_validate(policy)
    assert (policy["min_days"], policy["max_days"], policy["min_length"], policy["remember"]) == (
        1,
        90,
        12,
        24,
    )
    assert (policy["lockout_attempts"], policy["lockout_seconds"]) == (5, 1800)


def test_net_accounts_localised_defaults() -> None:
    policy = parse_net_accounts(NET_ACCOUNTS_DEFAULT_VI)
    PasswordPolicy.model_validate(policy)
    assert policy["max_days"] == -1  # never expires
    assert (policy["min_length"], policy["remember"], policy["lockout_attempts"]) == (0, 0, 0)


def test_net_accounts_garbage() -> None:
    policy = parse_net_accounts("System error 5 has occurred.\n\nAccess is denied.\n")
    PasswordPolicy.model_validate(policy)
    assert policy["max_days"] is None
    assert policy["source"] is None


NET_LOCALGROUP = """\
Alias name     Administrators
Comment        Administrators have complete and unrestricted access to the computer/domain

Members

-------------------------------------------------------------------------------
Administrator
SOTTTT\\Domain Admins
SOTTTT\\nguyen.van.a
canbo
The command completed successfully.

"""

LOCAL_USERS_PS51 = json.loads(
    r"""[
 {"Name":"Administrator","Enabled":false,"PasswordRequired":true,"PasswordLastSet":null,
  "SID":"S-1-5-21-1004336348-1177238915-682003330-500"},
 {"Name":"canbo","Enabled":true,"PasswordRequired":true,"PasswordLastSet":"\/Date(1763700000000)\/",
  "SID":"S-1-5-21-1004336348-1177238915-682003330-1001"},
 {"Name":"Guest","Enabled":false,"PasswordRequired":false,"PasswordLastSet":null,
  "SID":"S-1-5-21-1004336348-1177238915-682003330-501"},
 {"Name":"ketoan","Enabled":true,"PasswordRequired":false,"PasswordLastSet":"2026-10-01T08:30:00+07:00",
  "SID":"S-1-5-21-1004336348-1177238915-682003330-1002"}
]"""
)


def test_accounts() -> None:
    admins = parse_net_localgroup(NET_LOCALGROUP)
    assert admins == ["Administrator", "SOTTTT\\Domain Admins", "SOTTTT\\nguyen.van.a", "canbo"]
    accounts = {a["name"]: a for a in parse_local_users(LOCAL_USERS_PS51, admins)}
    for account in accounts.values():
        LocalAccount.model_validate(account)
    assert accounts["Administrator"]["uid"] == 500
    assert accounts["Administrator"]["locked"] is True
    assert accounts["canbo"]["is_admin"]
    assert accounts["canbo"]["has_password"] is True
    assert not accounts["ketoan"]["is_admin"]
    assert accounts["Guest"]["has_password"] is False
    assert accounts["SOTTTT\\Domain Admins"]["is_admin"]  # domain members of the local admin group
    single = parse_local_users(LOCAL_USERS_PS51[1], [])  # ConvertTo-Json prints one user bare
    assert [a["name"] for a in single] == ["canbo"]


def test_accounts_garbage() -> None:
    assert parse_net_localgroup("System error 1376 has occurred.\n") == []
    assert parse_local_users("nonsense", []) == []
    assert parse_local_users([{"Name": 5}, None, {"Name": "x", "SID": "junk"}], []) == [
        {
            "name": "x",
            "uid": None,
            "groups": [],
            "is_admin": False,
            "has_password": None,
            "locked": None,
            "shell": None,
        }
    ]


DEFENDER = json.loads(
    r"""{"AMServiceEnabled":true,"AntivirusEnabled":true,"RealTimeProtectionEnabled":true,
    "AMProductVersion":"4.18.25100.9","AntivirusSignatureLastUpdated":"\/Date(1763770000000)\/"}"""
)

AV_PRODUCTS = json.loads(
    """[{"displayName":"Windows Defender","productState":393472},
        {"displayName":"Bkav Pro","productState":266240},
        {"displayName":"Kaspersky Endpoint Security for Windows","productState":397568}]"""
)


def test_anti_malware() -> None:
    defender = parse_defender_status(DEFENDER)
    assert defender is not None
    AntiMalware.model_validate(defender)
    assert defender["running"] is True
    assert defender["version"] == "4.18.25100.9"
    assert defender["signatures_updated"] == "2025-11-22T00:06:40+00:00"
    passive = parse_defender_status({**DEFENDER, "AntivirusEnabled": False})
    assert passive is not None
    assert passive["running"] is False
    products = parse_av_products(AV_PRODUCTS)
    for product in products:
        AntiMalware.model_validate(product)
    assert [(p["name"], p["running"]) for p in products] == [
        ("Windows Defender", False),  # 0x060100: off (another product is active)
        ("Bkav Pro", True),  # 0x041000
        ("Kaspersky Endpoint Security for Windows", True),  # 0x061100
    ]
    assert parse_av_products({"displayName": "Bkav Pro", "productState": 266240})[0]["name"] == "Bkav Pro"
    assert parse_defender_status(None) is None
    assert parse_av_products("garbage") == []


def test_update_results_and_dates() -> None:
    updates = parse_update_results({"LastSearchSuccessDate": "/Date(1763700000000)/"})
    PendingUpdates.model_validate(updates)
    assert updates["manager"] == "windows-update"
    assert updates["last_refresh"] is not None
    assert parse_update_results(None)["last_refresh"] is None
    assert parse_ps_date("2026-10-01T08:30:00+07:00") == "2026-10-01T08:30:00+07:00"
    assert parse_ps_date("2026-10-01T08:30:00") is not None  # naive: taken as local time, made aware
    assert parse_ps_date("1601-01-01T00:00:00Z") is None  # Windows' "never"
    assert parse_ps_date("not a date") is None
    assert parse_ps_date(12345) is None


def test_powershell_bundle() -> None:
    text = json.dumps(
        {
            "defender": DEFENDER,
            "av": AV_PRODUCTS,
            "users": LOCAL_USERS_PS51,
            "wu": None,
            "errors": {"wu": "COM"},
        }
    )
    bundle = parse_powershell_bundle("WARNING: something\r\n" + text)
    assert bundle["errors"] == {"wu": "COM"}
    with pytest.raises(ValueError, match="JSON"):
        parse_powershell_bundle("powershell.exe : The term is not recognized")
    with pytest.raises(ValueError, match="JSON"):
        parse_powershell_bundle("[1, 2]")


def test_windows_provider_refuses_to_run_elsewhere() -> None:
    if sys.platform == "win32":
        pytest.skip("on Windows the provider is meant to run")
    with pytest.raises(RuntimeError, match="only on Windows"):
        WindowsProvider()


TEXT_PARSERS: list[Any] = [
    parse_netsh_allprofiles,
    lambda t: firewall_from_profiles(parse_netsh_allprofiles(t)),
    parse_w32tm_status,
    parse_net_accounts,
    parse_net_localgroup,
    parse_ps_date,
]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.sampled_from([NETSH_ALL_ON, W32TM_SYNCED, NET_ACCOUNTS, NET_LOCALGROUP]))
def test_text_parsers_never_raise(text: str) -> None:
    for parse in TEXT_PARSERS:
        parse(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_json_parsers_never_raise(value: Any) -> None:
    parse_defender_status(value)
    parse_av_products(value)
    parse_local_users(value, ["x"])
    parse_update_results(value)
