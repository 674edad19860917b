"""Scheduled config pulls in the running server, against the SSH device simulator: first backups, a
refused login, "pull now" after a change → a new version, the `config_changed` alert, and a compliance
scan that judges the pulled configs instead of "no config available"."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canhgac_api.app import create_app
from canhgac_collector.config import ServerConfig
from canhgac_collector.lab.sshconfigs import sample_config
from canhgac_collector.lab.sshdevice import SimDevice, SshDeviceLab
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Event
from canhgac_collector.store.tokens import create_token

PASSWORD = "lab-pass"
ENABLE = "en-secret-1"


@pytest.fixture
def lab() -> Iterator[SshDeviceLab]:
    with SshDeviceLab() as running:
        running.add(
            SimDevice(
                "sw-cisco", "cisco_ios", sample_config("cisco_ios", "sw-cisco", 80), enable_secret=ENABLE
            )
        )
        running.add(
            SimDevice(
                "sw-tplink",
                "tplink_jetstream",
                sample_config("tplink_jetstream", "sw-tplink", 80),
                enable_secret=ENABLE,
            )
        )
        yield running


def _device(lab: SshDeviceLab, name: str, site: str, password: str = PASSWORD) -> dict[str, Any]:
    _host, port = lab.endpoint(name)
    return {
        "name": name,
        "address": "127.0.0.1",
        "port": 9,  # SNMP is off in this test
        "site": site,
        "snmp": {"version": "2c", "community": "c0mmunity-for-tests"},
        "ssh": {
            "platform": lab.device(name).platform,
            "port": port,
            "username": "netadmin",
            "password": password,
            "enable_secret": ENABLE,
        },
    }


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_scheduled_pulls_back_up_alert_on_change_and_feed_the_scan(
    make_config: Callable[..., ServerConfig], lab: SshDeviceLab
) -> None:
    lab.add(
        SimDevice("sw-locked", "cisco_ios", sample_config("cisco_ios", "sw-locked", 40), enable_secret=ENABLE)
    )
    config = make_config(
        snmp={"enabled": False, "secrets_key_file": make_config().snmp.secrets_key_file},
        devices=[
            _device(lab, "sw-cisco", "XA-A"),
            _device(lab, "sw-tplink", "XA-B"),
            _device(lab, "sw-locked", "XA-A", password="not-the-password"),
        ],
        device_configs={"check_interval_s": 0.2, "initial_delay_s": 0, "timeout_s": 5},
        alerting={"evaluate_interval_s": 0.2},
    )
    engine = make_engine(config.database_url)
    upgrade(engine)
    try:
        with TestClient(create_app(config, engine)) as client:
            with session_factory(engine).begin() as session:
                admin = create_token(session, role="admin", name="t admin").token
            h = {"Authorization": f"Bearer {admin}"}

            def versions(name: str) -> list[dict[str, Any]]:
                r = client.get(f"/api/v1/devices/{name}/configs", headers=h)
                assert r.status_code == 200, r.text
                return list(r.json()["versions"])

            def ssh_status(name: str) -> dict[str, Any]:
                return dict(client.get(f"/api/v1/devices/{name}", headers=h).json()["ssh"])

            # first backups: one version each, exactly what the device serves; the bad login is a reason
            _wait(lambda: versions("sw-cisco") and versions("sw-tplink"), "the first backups")
            _wait(lambda: ssh_status("sw-locked")["status"] == "error", "the refused login")
            assert ssh_status("sw-locked")["error_kind"] == "auth"
            first = client.get("/api/v1/devices/sw-cisco/configs/1", params={"raw": "true"}, headers=h)
            assert first.json()["text"] == lab.device("sw-cisco").config

            # nothing changed: further passes store nothing
            time.sleep(0.6)
            assert len(versions("sw-cisco")) == 1

            # a change on the device, then "pull now": version 2, an event and the config_changed alert
            changed = lab.device("sw-cisco").config.replace(
                "hostname sw-cisco", "hostname sw-cisco\nip http server", 1
            )
            lab.set_config("sw-cisco", changed)
            assert client.post("/api/v1/devices/sw-cisco/configs/pull", headers=h).status_code == 202
            _wait(lambda: len(versions("sw-cisco")) == 2, "the changed config's version")
            with session_factory(engine)() as session:
                kinds = session.scalars(select(Event.kind).where(Event.subject_id == "sw-cisco")).all()
            assert "device.config_changed" in kinds
            alerts = _wait(
                lambda: [
                    a
                    for a in client.get("/api/v1/alerts", headers=h).json()["alerts"]
                    if a["subject_id"] == "sw-cisco" and a["rule"] == "config_changed"
                ],
                "the config_changed alert",
            )
            assert alerts

            # the scan judges the pulled configs; the device that refused the login is one error reason
            r = client.post("/api/v1/scans", json={"site": "P"}, headers=h)
            assert r.status_code == 201, r.text
            findings = client.get(f"/api/v1/scans/{r.json()['id']}/findings", headers=h).json()["findings"]
            web = {f["target"]: f for f in findings if f["rule_id"] == "DEV-MGMT-NO-HTTP"}
            assert web["sw-cisco"]["result"] == "fail"  # the change turned the plain-HTTP server on
            assert web["sw-cisco"]["evidence"][0]["lines"][0][1] == "ip http server"  # quoted from the pull
            assert web["sw-tplink"]["result"] in ("pass", "fail")  # judged, not "no config available"
            locked = [f for f in findings if f["target"] == "sw-locked" and f["pack"] == "device-config"]
            assert [f["result"] for f in locked] == ["error"]  # one finding, with the pull's reason
            assert "config pull failed" in locked[0]["message"]
            assert "auth" in locked[0]["message"].lower()
            approval = {f["target"]: f for f in findings if f["rule_id"] == "DEV-CONFIG-CHANGE-APPROVED"}
            assert approval["sw-cisco"]["result"] == "fail"  # version 2 is nobody's approved change
            assert not any("no config available" in f["message"] for f in findings)
    finally:
        engine.dispose()
