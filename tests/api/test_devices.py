"""The devices API on SQLite and PostgreSQL: inventory from the config and through the API, poll
results (state, interfaces with rates, neighbours), site scoping, and secrets that never come back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from canhgac_collector.devices.store import load_device_targets
from canhgac_collector.store.models import Event
from canhgac_collector.store.secrets import SecretBox
from tests.api.conftest import Api
from tests.api.device_fixtures import (
    COMMUNITY,
    SECRETS,
    V3_AUTH,
    make_device_api,
    populate,
    sink,
    up,
)

NEW_COMMUNITY = "n3w-device-c0mmunity"


def assert_no_secret(text: str) -> None:
    for secret in (*SECRETS, NEW_COMMUNITY):
        assert secret not in text


def test_config_devices_are_listed_after_startup_with_their_poll_results(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = make_device_api(make_api, tmp_path)
    admin = api.token("admin")
    listed = api.get("/api/v1/devices", admin)
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 4
    assert {d["name"]: d["state"] for d in body["devices"]} == dict.fromkeys(
        ("core-p", "dist-d1", "sw-a1", "sw-b1"), "unknown"
    )
    assert all(d["source"] == "config" for d in body["devices"])
    populate(api)

    detail = api.get("/api/v1/devices/core-p", admin)
    assert detail.status_code == 200
    d = detail.json()
    assert (d["state"], d["vendor"], d["sys_name"], d["site"]) == ("up", "cisco", "core-p.tinh.gov.vn", "P")
    assert d["counts"] == {
        "interfaces": 4,
        "interfaces_up": 3,
        "interfaces_down": 1,
        "neighbors": 2,
        "macs": 2,
        "arp": 2,
    }
    assert api.get("/api/v1/devices/sw-b1", admin).json()["snmp_version"] == "3"
    optics = d["resources"]["optics"]
    assert [(o["name"], o["rx_dbm"], o["tx_dbm"], o["rx_no_light"]) for o in optics] == [
        ("Te1/1/1", -3.5, -2.1, False),
        ("Te1/1/2", None, None, True),  # no light: no number
    ]

    ifs = api.get("/api/v1/devices/core-p/interfaces", admin).json()["interfaces"]
    assert [i["ifName"] for i in ifs] == ["Gi0/1", "Gi0/2", "Gi0/3", "Gi0/4"]
    gi1 = ifs[0]
    assert (gi1["in_bps"], gi1["utilisation"], gi1["speed_bps"]) == (8e8, 0.8, 1_000_000_000)
    assert gi1["counters"]["ifHCInOctets"] == 10_000
    assert gi1["ifPhysAddress"] == "00:1a:2b:00:00:01"
    assert ifs[1]["in_errors_ps"] == 0.5
    assert ifs[2]["ifOperStatus"] == "down"

    neighbors = api.get("/api/v1/devices/core-p/neighbors", admin).json()["neighbors"]
    assert [(n["local_port"], n["remote_name"], n["remote_device"]) for n in neighbors] == [
        ("Gi0/1", "dist-d1", "dist-d1"),
        ("Gi0/2", "SW-B1.xa-b.gov.vn", "sw-b1"),  # matched by name, any case, with or without domain
    ]

    assert api.get("/api/v1/devices", admin, state="up").json()["total"] == 4
    assert api.get("/api/v1/devices", admin, state="down").json()["total"] == 0
    assert [d["name"] for d in api.get("/api/v1/devices", admin, site="D1").json()["devices"]] == [
        "dist-d1",
        "sw-a1",
    ]
    page = api.get("/api/v1/devices", admin, limit=1, offset=1).json()
    assert page["total"] == 4
    assert len(page["devices"]) == 1
    for path in ("", "/core-p", "/sw-b1", "/core-p/interfaces", "/core-p/neighbors"):
        assert_no_secret(api.get(f"/api/v1/devices{path}", admin).text)


def test_state_changes_show_with_reason_and_events(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(make_api, tmp_path)
    operator = api.token("operator")
    write = sink(api)
    write(up("sw-a1"))
    down = up("sw-a1")
    down.state, down.reason, down.detail = "error", "auth_failure", "wrong community (report PDU usmStats)"
    write(down)
    d = api.get("/api/v1/devices/sw-a1", operator).json()
    assert (d["state"], d["state_reason"]) == ("error", "auth_failure")
    assert d["state_detail"].startswith("wrong community")
    assert d["last_ok_at"] is not None
    events = api.get("/api/v1/events", operator, kind="device.state", subject_id="sw-a1").json()["events"]
    assert [(e["from_state"], e["to_state"]) for e in events] == [("up", "error"), ("unknown", "up")]
    assert events[0]["site"] == "XA-A"
    assert events[0]["data"]["reason"] == "auth_failure"


def test_officers_see_only_their_subtree_devices(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(make_api, tmp_path)
    populate(api)
    officer_a = api.token("officer", "XA-A")
    assert [d["name"] for d in api.get("/api/v1/devices", officer_a).json()["devices"]] == ["sw-a1"]
    for name in ("core-p", "dist-d1", "sw-b1"):
        for suffix in ("", "/interfaces", "/neighbors"):
            r = api.get(f"/api/v1/devices/{name}{suffix}", officer_a)
            assert r.status_code == 404, (name, suffix)
            assert r.headers["content-type"].startswith("application/problem+json")
    assert api.get("/api/v1/devices", officer_a, site="XA-B").status_code == 404
    officer_d1 = api.token("officer", "D1")
    assert {d["name"] for d in api.get("/api/v1/devices", officer_d1).json()["devices"]} == {
        "dist-d1",
        "sw-a1",
    }
    auditor_b = api.token("auditor", "XA-B")
    assert [d["name"] for d in api.get("/api/v1/devices", auditor_b).json()["devices"]] == ["sw-b1"]
    # sw-a1's neighbour dist-d1 is outside XA-A: named as the switch reported it, not resolved.
    neighbors = api.get("/api/v1/devices/sw-a1/neighbors", officer_a).json()["neighbors"]
    assert {n["remote_device"] for n in neighbors} == {None}
    agent = api.enroll("commune-a-key-0123456789", "m-dev")
    assert api.get("/api/v1/devices", agent["token"]).status_code == 403
    assert api.client.get("/api/v1/devices").status_code == 401


def test_admin_manages_api_devices_and_secrets_never_come_back(
    make_api: Callable[..., Api], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = make_device_api(make_api, tmp_path)
    admin = api.token("admin")
    h = api.auth(admin)
    body = {
        "name": "sw-new",
        "address": "127.0.0.5",
        "site": "XA-B-MC",
        "snmp": {"version": "2c", "community": NEW_COMMUNITY},
        "poll_interval_s": 30,
    }
    with caplog.at_level(logging.DEBUG):
        r = api.client.post("/api/v1/devices", json=body, headers=h)
        assert r.status_code == 201, r.text
        created = r.json()
        assert (created["name"], created["source"], created["site"], created["poll_interval_s"]) == (
            "sw-new",
            "api",
            "XA-B-MC",
            30,
        )
        assert api.client.post("/api/v1/devices", json=body, headers=h).status_code == 409
        bad_site = api.client.post("/api/v1/devices", json={**body, "name": "x", "site": "NOPE"}, headers=h)
        assert bad_site.status_code == 404
        no_creds = api.client.post(
            "/api/v1/devices", json={**body, "name": "y", "snmp": {"version": "2c"}}, headers=h
        )
        assert no_creds.status_code == 422
        v3: dict[str, Any] = {
            "version": "3",
            "v3": {"user": "ops", "auth_protocol": "sha256", "auth_key": "short", "priv_protocol": "none"},
        }
        weak = api.client.post("/api/v1/devices", json={**body, "name": "z", "snmp": v3}, headers=h)
        assert weak.status_code == 422
        assert "short" not in weak.text

        v3["v3"]["auth_key"] = V3_AUTH
        r = api.client.patch(
            "/api/v1/devices/sw-new", json={"address": "127.0.0.6", "snmp": v3, "role": "router"}, headers=h
        )
        assert r.status_code == 200, r.text
        assert (r.json()["address"], r.json()["snmp_version"], r.json()["role"]) == (
            "127.0.0.6",
            "3",
            "router",
        )
        for text in (created.__repr__(), r.text, api.get("/api/v1/devices", admin).text):
            assert_no_secret(text)
        assert_no_secret(api.get("/api/v1/events", admin).text)

        # The poller gets the new credentials, decrypted.
        sessions = api.sessions
        with sessions() as session:
            targets = {
                t.name: t
                for t in load_device_targets(session, SecretBox(tmp_path / "secrets.key"), api.config.snmp)
            }
        assert targets["sw-new"].credentials.auth_key == V3_AUTH.encode()
        assert targets["sw-new"].target.host == "127.0.0.6"
        assert targets["sw-a1"].credentials.community == COMMUNITY.encode()

        for method, path in (("PATCH", "/api/v1/devices/sw-a1"), ("DELETE", "/api/v1/devices/sw-a1")):
            r = api.client.request(
                method, path, json={"port": 1161} if method == "PATCH" else None, headers=h
            )
            assert r.status_code == 409
            assert r.json()["type"] == "urn:canhgac:problem:config-managed"
            assert "server configuration" in r.json()["detail"]

        operator = api.token("operator")
        assert api.client.post("/api/v1/devices", json=body, headers=api.auth(operator)).status_code == 403
        assert api.client.delete("/api/v1/devices/sw-new", headers=api.auth(operator)).status_code == 403

        assert api.client.delete("/api/v1/devices/sw-new", headers=h).status_code == 204
        assert api.get("/api/v1/devices/sw-new", admin).status_code == 404
        assert api.client.delete("/api/v1/devices/sw-new", headers=h).status_code == 404
    for record in caplog.records:
        assert_no_secret(record.getMessage())
        assert "short" not in record.getMessage()
    with sessions() as session:
        kinds = session.scalars(
            select(Event.kind).where(Event.subject_id == "sw-new").order_by(Event.id)
        ).all()
    assert kinds == ["device.added", "device.updated", "device.removed"]


def test_removing_a_device_from_the_config_removes_it_on_restart(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = make_device_api(make_api, tmp_path)
    populate(api)
    again = make_device_api(make_api, tmp_path, devices=[])
    admin = again.token("admin")
    assert again.get("/api/v1/devices", admin).json()["total"] == 0
    assert again.get("/api/v1/locate", admin, mac="00:50:56:aa:00:01").status_code == 404
