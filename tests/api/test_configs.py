"""Device config history through the API on SQLite and PostgreSQL: scoped by subtree, masked for every
role unless an admin asks raw, write-only SSH secrets, who may approve, accept a host key or ask for a
pull now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from canhgac_collector.devices.configs.history import record_pull
from canhgac_collector.devices.configs.target import PullError, PullResult
from canhgac_collector.store.models import Device
from tests.api.conftest import Api
from tests.api.device_fixtures import device, make_device_api
from tests.collector.devices.configs.samples import CISCO_V1, CISCO_V2

SSH_PASSWORD = "ssh-pa55word-for-backup"
ENABLE_SECRET = "en4ble-s3cret-value"
NEW_PASSWORD = "an0ther-ssh-pa55word"
KEY_TEXT = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
SECRETS = (SSH_PASSWORD, ENABLE_SECRET, NEW_PASSWORD, KEY_TEXT.splitlines()[1], "Pr0v1nce", "N3wC0mm")
T0 = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
SSH = {
    "platform": "cisco_ios",
    "username": "backup",
    "password": SSH_PASSWORD,
    "enable_secret": ENABLE_SECRET,
}


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def backed_up(make_api: Callable[..., Api], tmp_path: Path) -> Api:
    """sw-a1 (XA-A, SSH) with versions 1 and 2 pulled; sw-b1 (XA-B) without SSH."""
    api = make_device_api(
        make_api, tmp_path, devices=[device("sw-a1", "XA-A", ssh=SSH), device("sw-b1", "XA-B")]
    )
    with api.sessions.begin() as session:
        sw = session.scalars(select(Device).where(Device.name == "sw-a1")).one()
        record_pull(session, sw.id, PullResult(CISCO_V1, KEY_A, 0.5), T0)
        record_pull(session, sw.id, PullResult(CISCO_V2, KEY_A, 0.5), T0 + dt.timedelta(hours=1))
    return api


def device_row(api: Api, name: str) -> Device:
    with api.sessions() as session:
        return session.scalars(select(Device).where(Device.name == name)).one()


def test_history_is_scoped_and_masked_unless_an_admin_asks_raw(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = backed_up(make_api, tmp_path)
    admin, officer_a, officer_b = (
        api.token("admin"),
        api.token("officer", "XA-A"),
        api.token("officer", "XA-B"),
    )
    base = "/api/v1/devices/sw-a1/configs"
    for path in (base, f"{base}/1", f"{base}/diff"):
        r = api.get(path, officer_b)
        assert r.status_code == 404, path  # outside the subtree looks like absent
    listed = api.get(base, officer_a)
    assert listed.status_code == 200
    body = listed.json()
    assert (body["device"], body["platform"]) == ("sw-a1", "cisco_ios")
    assert [
        (v["version"], v["lines_added"], v["lines_removed"], v["approved"]) for v in body["versions"]
    ] == [
        (2, 2, 2, False),
        (1, 27, 0, False),  # 35 lines as pulled, less 7 volatile ones and the blank they leave on top
    ]
    for token in (officer_a, admin):
        shown = api.get(f"{base}/1", token)
        assert shown.status_code == 200
        assert shown.json()["masked"] is True
        assert "snmp-server community ****** RO 10" in shown.json()["text"]
        assert_no_secret(shown.text)
        diff = api.get(f"{base}/diff", token)
        assert diff.status_code == 200
        d = diff.json()
        assert (d["from_version"], d["to_version"], d["masked"]) == (1, 2, True)
        assert "+snmp-server community ****** RO 10\n" in d["diff"]
        assert_no_secret(diff.text)
    assert api.get(f"{base}/1", officer_a, raw="true").status_code == 403
    assert api.get(f"{base}/diff", api.token("auditor"), raw="true").status_code == 403
    raw = api.get(f"{base}/1", admin, raw="true")
    assert raw.status_code == 200
    assert (raw.json()["masked"], raw.json()["text"]) == (False, CISCO_V1)  # restore-ready, byte for byte
    raw_diff = api.get(f"{base}/diff", admin, raw="true", **{"from": 2, "to": 1}).json()
    assert "+snmp-server community Pr0v1nce RO 10\n" in raw_diff["diff"]
    assert api.get(f"{base}/7", admin).status_code == 404
    assert api.get(f"{base}/diff", admin, **{"from": 7}).status_code == 404
    assert api.get("/api/v1/devices/sw-b1/configs", admin).json()["versions"] == []


def test_ssh_secrets_are_write_only(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(make_api, tmp_path, devices=[])
    admin = api.token("admin")
    h = api.auth(admin)
    body: dict[str, Any] = device("sw-new", "XA-A", ssh={"username": "backup", "private_key": KEY_TEXT})
    created = api.client.post("/api/v1/devices", json=body, headers=h)
    assert created.status_code == 201, created.text
    ssh = created.json()["ssh"]
    assert ssh["username"] == "backup"
    assert (ssh["has_password"], ssh["has_private_key"], ssh["has_enable_secret"]) == (False, True, False)
    assert (ssh["platform"], ssh["platform_guessed"], ssh["status"]) == (None, True, None)  # unknown yet
    assert_no_secret(created.text)
    changed = api.client.patch(
        "/api/v1/devices/sw-new", json={"ssh": {**SSH, "password": NEW_PASSWORD}}, headers=h
    )
    assert changed.status_code == 200, changed.text
    ssh = changed.json()["ssh"]
    assert (ssh["has_password"], ssh["has_private_key"], ssh["has_enable_secret"]) == (True, False, True)
    assert (ssh["platform"], ssh["platform_guessed"]) == ("cisco_ios", False)
    detail = api.get("/api/v1/devices/sw-new", api.token("officer", "XA-A"))
    assert detail.json()["ssh"]["has_password"] is True
    assert_no_secret(detail.text)
    assert NEW_PASSWORD.encode() not in (device_row(api, "sw-new").ssh_secret_enc or b"")
    events = api.get("/api/v1/events", admin, subject_id="sw-new")
    assert_no_secret(events.text)
    placeholder = api.client.patch(
        "/api/v1/devices/sw-new", json={"ssh": {**SSH, "password": "change-me-ssh-password"}}, headers=h
    )
    assert placeholder.status_code == 422
    assert "change-me-ssh-password" not in placeholder.text
    no_login = api.client.patch("/api/v1/devices/sw-new", json={"ssh": {"username": "backup"}}, headers=h)
    assert no_login.status_code == 422
    key_file = api.client.patch(
        "/api/v1/devices/sw-new", json={"ssh": {**SSH, "private_key_file": "/etc/shadow"}}, headers=h
    )
    assert key_file.status_code == 422  # server files are for server.yaml devices only
    removed = api.client.patch("/api/v1/devices/sw-new", json={"ssh": None}, headers=h)
    assert removed.status_code == 200
    assert removed.json()["ssh"] is None
    assert device_row(api, "sw-new").ssh_secret_enc is None


def test_only_auditors_and_admins_approve_with_a_comment(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = backed_up(make_api, tmp_path)
    url = "/api/v1/devices/sw-a1/configs/2/approve"
    for role, site in (("officer", "XA-A"), ("operator", None)):
        r = api.client.post(url, json={"comment": "ok"}, headers=api.auth(api.token(role, site)))
        assert r.status_code == 403, role
    auditor = api.auth(api.token("auditor"))
    assert api.client.post(url, json={}, headers=auditor).status_code == 422
    assert api.client.post(url, json={"comment": "   "}, headers=auditor).status_code == 422
    missing = api.client.post(
        "/api/v1/devices/sw-a1/configs/9/approve", json={"comment": "x"}, headers=auditor
    )
    assert missing.status_code == 404
    outside = api.client.post(url, json={"comment": "ok"}, headers=api.auth(api.token("auditor", "XA-B")))
    assert outside.status_code == 404
    approved = api.client.post(
        url, json={"comment": "Đổi cổng 1 sang VLAN 20 theo phiếu 12"}, headers=auditor
    )
    assert approved.status_code == 200, approved.text
    v = approved.json()
    assert (v["version"], v["approved"], v["approval_comment"]) == (
        2,
        True,
        "Đổi cổng 1 sang VLAN 20 theo phiếu 12",
    )
    assert v["approved_by"].startswith("token:")
    listed = api.get("/api/v1/devices/sw-a1/configs", api.token("officer", "XA-A")).json()["versions"]
    assert [x["approved"] for x in listed] == [True, False]


def test_pull_now_sets_the_flag_the_scheduler_reads(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = backed_up(make_api, tmp_path)
    assert device_row(api, "sw-a1").config_pull_requested_at is None
    for role, site in (("auditor", None), ("officer", "XA-A")):
        r = api.client.post("/api/v1/devices/sw-a1/configs/pull", headers=api.auth(api.token(role, site)))
        assert r.status_code == 403, role
    operator = api.auth(api.token("operator"))
    r = api.client.post("/api/v1/devices/sw-a1/configs/pull", headers=operator)
    assert r.status_code == 202, r.text
    requested = device_row(api, "sw-a1").config_pull_requested_at
    assert requested is not None
    assert dt.datetime.fromisoformat(r.json()["pull_requested_at"]) == requested
    again = api.client.post("/api/v1/devices/sw-a1/configs/pull", headers=operator)
    assert dt.datetime.fromisoformat(again.json()["pull_requested_at"]) == requested  # the first one stands
    assert api.client.post("/api/v1/devices/sw-b1/configs/pull", headers=operator).status_code == 409
    scoped = api.client.post(
        "/api/v1/devices/sw-a1/configs/pull", headers=api.auth(api.token("operator", "XA-B"))
    )
    assert scoped.status_code == 404


def test_admin_accepts_a_changed_host_key(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = backed_up(make_api, tmp_path)
    url = "/api/v1/devices/sw-a1/configs/host-key/accept"
    admin = api.auth(api.token("admin"))
    assert api.client.post(url, headers=admin).status_code == 409  # nothing pending
    with api.sessions.begin() as session:
        sw = session.scalars(select(Device).where(Device.name == "sw-a1")).one()
        record_pull(session, sw.id, PullError("host_key_changed", "host key changed", KEY_B), T0)
    detail = api.get("/api/v1/devices/sw-a1", api.token("officer", "XA-A")).json()["ssh"]
    assert (detail["host_key"], detail["pending_host_key"]) == (KEY_A, KEY_B)
    assert (detail["status"], detail["error_kind"]) == ("error", "host_key_changed")
    assert api.client.post(url, headers=api.auth(api.token("operator"))).status_code == 403
    accepted = api.client.post(url, headers=admin)
    assert accepted.status_code == 200
    assert accepted.json() == {"device": "sw-a1", "host_key": KEY_B}
    row = device_row(api, "sw-a1")
    assert (row.ssh_host_key, row.ssh_pending_host_key) == (KEY_B, None)
    assert row.config_pull_requested_at is not None
