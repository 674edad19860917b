"""Local accounts: passwd/group/shadow and lastlog on Linux; Administrators and Get-LocalUser on Windows."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.accounts import (
    LASTLOG_RECORD,
    accounts_from,
    parse_local_users,
    parse_net_localgroup,
    parse_shadow,
    read_lastlog,
)
from canhgac_api.schemas.report import LocalAccount
from tests.agent.facts.samples import GROUP, LASTLOG_PASSWD, LOCAL_USERS_PS51, NET_LOCALGROUP, PASSWD, SHADOW
from tests.agent.facts.trees import linux_host, write_tree


def test_accounts_with_shadow() -> None:
    accounts = {a["name"]: a for a in accounts_from(PASSWD, GROUP, SHADOW, today_days=20000)}
    assert set(accounts) == {"root", "svcadmin", "canbo", "ketoan", "olduser"}
    assert accounts["root"]["is_admin"]
    assert accounts["root"]["has_password"] is False
    assert accounts["svcadmin"]["is_admin"]  # nologin, but in sudo: listed
    assert accounts["canbo"] == {
        "name": "canbo",
        "uid": 1000,
        "groups": ["adm", "canbo", "sudo"],
        "is_admin": True,
        "has_password": True,
        "locked": False,
        "shell": "/bin/bash",
    }
    assert (accounts["ketoan"]["has_password"], accounts["ketoan"]["locked"]) == (
        False,
        False,
    )  # passwordless!
    assert (accounts["olduser"]["has_password"], accounts["olduser"]["locked"]) == (True, True)


def test_accounts_without_shadow() -> None:
    for account in accounts_from(PASSWD, GROUP, None):
        assert account["has_password"] is None
        assert account["locked"] is None


def test_parse_shadow_expiry() -> None:
    assert parse_shadow("u:$6$x:1:0:99999:7::100:\n", today_days=99) == {"u": (True, False)}
    assert parse_shadow("u:$6$x:1:0:99999:7::100:\n", today_days=100) == {"u": (True, True)}
    assert parse_shadow("garbage\n::\n") == {}


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


def _lastlog(records: dict[int, int]) -> bytes:
    """A sparse-style lastlog file: `records` {uid: ll_time}, zeros elsewhere, up to the highest uid."""
    data = bytearray(LASTLOG_RECORD.size * (max(records) + 1))
    for uid, when in records.items():
        LASTLOG_RECORD.pack_into(data, uid * LASTLOG_RECORD.size, when, b"pts/0", b"10.0.99.7")
    return bytes(data)


def test_lastlog_record_layout_is_292_bytes() -> None:
    assert LASTLOG_RECORD.size == 292
    assert struct.calcsize("=i32s256s") == 292


def test_accounts_carry_last_login(tmp_path: Path) -> None:
    # root logged in at 2026-11-01; nguyenvana never (zero record); ketoan's uid is past the file's end
    write_tree(
        tmp_path,
        {"/etc/passwd": LASTLOG_PASSWD, "/var/log/lastlog": _lastlog({0: 1793491200, 1000: 0})},
    )
    accounts = {a["name"]: a for a in FACTS["accounts"].linux(linux_host(tmp_path))}
    for account in accounts.values():
        LocalAccount.model_validate(account)
    assert accounts["root"]["last_login"] == "2026-11-01T00:00:00+00:00"
    assert accounts["root"]["never_logged_in"] is False
    assert accounts["nguyenvana"]["last_login"] is None
    assert accounts["nguyenvana"]["never_logged_in"] is True
    assert accounts["ketoan"]["never_logged_in"] is True
    assert "daemon" not in accounts


def test_absent_lastlog_leaves_last_login_unknown(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/etc/passwd": LASTLOG_PASSWD})
    accounts = FACTS["accounts"].linux(linux_host(tmp_path))
    assert accounts
    assert all("last_login" not in a and "never_logged_in" not in a for a in accounts)
    model = LocalAccount.model_validate(accounts[0])
    assert model.last_login is None
    assert model.never_logged_in is None  # unknown, not "never"


def test_truncated_and_garbage_lastlog(tmp_path: Path) -> None:
    path = tmp_path / "lastlog"
    path.write_bytes(_lastlog({0: 1793491200})[:100])  # a torn record
    assert read_lastlog(str(path), [0, 1000, None, -1]) == {0: None, 1000: None}
    path.write_bytes(b"\xff" * 292)  # ll_time -1
    assert read_lastlog(str(path), [0]) == {0: None}
    assert read_lastlog(str(tmp_path / "absent"), [0]) is None
    assert read_lastlog(str(tmp_path), [0]) is None  # a directory: unreadable, not a crash


def test_windows_last_logon() -> None:
    users = [
        {"Name": "motcua", "Enabled": True, "LastLogon": "/Date(1793491200000)/", "SID": "S-1-5-21-1-1001"},
        {"Name": "ketoan", "Enabled": True, "LastLogon": None, "SID": "S-1-5-21-1-1002"},
        {"Name": "old", "Enabled": True, "SID": "S-1-5-21-1-1003"},  # older agent script: no LastLogon
    ]
    accounts = {a["name"]: a for a in parse_local_users(users, [])}
    for account in accounts.values():
        LocalAccount.model_validate(account)
    assert accounts["motcua"]["last_login"] == "2026-11-01T00:00:00+00:00"
    assert accounts["ketoan"]["never_logged_in"] is True
    assert "never_logged_in" not in accounts["old"]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=1200), st.lists(st.integers(min_value=-5, max_value=10), max_size=6))
def test_lastlog_never_raises(data: bytes, uids: list[int]) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        result = read_lastlog(f.name, uids)
    assert result is not None
    assert set(result) == {u for u in uids if u >= 0}
