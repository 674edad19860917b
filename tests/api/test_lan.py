"""The LAN inventory through the real ingest path: sensor reports from enrolled agents stored per site and
merged with the switches' FDB/ARP rows; rogue DHCP alerting the commune's officer once (real SMTP);
approved lists from server.yaml and the API; scoping; hostile and failing input losing nothing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from canhgac_agent.snmp.results import ArpEntry, DevicePoll, FdbEntry, InterfaceSample
from canhgac_collector.devices.store import record_polls
from canhgac_collector.store.models import LanCaptureState
from tests.api.conftest import Api
from tests.collector.alerting.conftest import OFFICER_A, OFFICER_B, devices, province
from tests.harness.notify import SmtpServer
from tests.harness.reports import make_report

KEY_A = "commune-a-key-0123456789"
PRINTER = "00:1b:a9:12:34:56"  # approved in server.yaml
LAPTOP = "3c:22:fb:00:00:50"  # unknown, seen by the sensor and on sw-xa-a Gi0/3
ROGUE = "aa:bb:cc:00:00:66"  # a home router handing out addresses, on sw-xa-a Gi0/5
FDB_ONLY = "3c:22:fb:00:00:77"  # only in the switch's FDB and the router's ARP table
AGENT_MAC = "aa:bb:cc:dd:ee:01"  # an interface of every harness agent (make_report)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def lan_device(mac: str, ip: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "mac": mac,
        "ips": [ip] if ip else [],
        "sources": ["arp"],
        "first_seen": _now(),
        "last_seen": _now(),
        **extra,
    }


def lan_event(kind: str, mac: str | None, ip: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "time": _now(),
        "interface": "eth0",
        "mac": mac,
        "ip": ip,
        "detail": {"offered_gateway": ip or ""},
        "message": "Máy chủ DHCP lạ / rogue DHCP server",
        **extra,
    }


def lan_report(agent_id: str, seq: int, devices: list[Any], events: Sequence[Any] = ()) -> dict[str, Any]:
    report = make_report(agent_id, seq, hostname="pc-xa-a-sensor")
    report["collected_at"] = _now()
    report["lan"] = {
        "captures": [{"interface": "eth0", "packets_seen": 1000 * seq, "packets_dropped": 3}],
        "devices": devices,
        "events": list(events),
    }
    return report


def switch_tables(api: Api) -> None:
    """sw-xa-a as the SNMP poller stores it: the laptop on Gi0/3, the rogue router on Gi0/5, one more
    MAC on Gi0/7 whose IP only the ARP table knows."""
    ports = {3: LAPTOP, 5: ROGUE, 7: FDB_ONLY}
    poll = DevicePoll(
        device="sw-xa-a",
        started_at=time.time(),
        duration_s=0.01,
        state="up",
        interfaces=[
            InterfaceSample(ifIndex=i, ifName=f"Gi0/{i}", ifAdminStatus="up", ifOperStatus="up")
            for i in ports
        ],
        fdb=[FdbEntry(mac=m, vlan=1, bridge_port=i, ifIndex=i, status="learned") for i, m in ports.items()],
        arp=[ArpEntry(ip="10.20.1.77", mac=FDB_ONLY, ifIndex=7)],
    )
    with api.sessions.begin() as session:
        record_polls(session, [poll])


def _api(make_api: Callable[..., Api], tmp_path: Path, smtp_port: int = 9, **lan: Any) -> Api:
    return make_api(
        sites=province(),
        devices=devices(),
        snmp={"enabled": False, "secrets_key_file": str(tmp_path / "secrets.key")},
        alerting={
            "evaluate_interval_s": 0.2,
            "retry_initial_s": 0.2,
            "public_url": "https://canhgac.example.gov.vn",
            "smtp": {"enabled": smtp_port != 9, "port": smtp_port, "sender": "canhgac@example.gov.vn"},
        },
        lan={
            "sites": {
                "XA-A": {
                    "approved": [{"mac": PRINTER.upper(), "label": "Máy in một cửa"}],
                    "dhcp_servers": ["10.20.1.1"],
                    "gateways": ["10.20.1.1"],
                }
            },
            **lan,
        },
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def _events(api: Api, kind: str) -> list[dict[str, Any]]:
    r = api.get("/api/v1/events", api.token("admin"), kind=kind)
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


def test_sensor_devices_are_stored_and_merged_with_fdb_arp_and_agents(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = _api(make_api, tmp_path)
    switch_tables(api)
    sensor = api.enroll(KEY_A, "m-sensor", "pc-xa-a-sensor")
    seen = [
        lan_device(LAPTOP, "10.20.1.50", names=["LAPTOP-CA-NHAN"], vendor="Intel Corporate"),
        lan_device(PRINTER, "10.20.1.9"),
        lan_device(AGENT_MAC, "198.51.100.10"),
    ]
    r = api.push(sensor["token"], [lan_report(sensor["agent_id"], 1, seen)])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == [1]

    officer = api.token("officer", "XA-A")
    r = api.get("/api/v1/sites/XA-A/lan", officer)
    assert r.status_code == 200, r.text
    inv = {d["mac"]: d for d in r.json()["devices"]}
    laptop = inv[LAPTOP]
    assert laptop["status"] == "unknown"
    assert set(laptop["sources"]) == {"lan", "fdb"}
    assert laptop["ports"] == [{"device": "sw-xa-a", "port": "Gi0/3", "vlan": 1}]
    assert laptop["seen_by"] == ["pc-xa-a-sensor"]
    assert laptop["names"] == ["LAPTOP-CA-NHAN"]
    assert (inv[PRINTER]["status"], inv[PRINTER]["approved"]) == ("known", "Máy in một cửa")
    assert inv[AGENT_MAC]["status"] == "known"
    assert inv[AGENT_MAC]["host"] == "pc-xa-a-sensor"
    assert set(inv[AGENT_MAC]["sources"]) == {"lan", "agent"}
    assert set(inv[FDB_ONLY]["sources"]) == {"fdb", "arp"}
    assert inv[FDB_ONLY]["ips"] == ["10.20.1.77"]
    assert inv[FDB_ONLY]["status"] == "unknown"
    assert r.json()["unknown"] == 3  # laptop, FDB-only, the rogue router's MAC on Gi0/5

    # Only the unknown device the sensor saw raised "new device"; approved and agent MACs did not.
    new = _events(api, "lan.device_new")
    assert [e["subject_id"] for e in new] == [LAPTOP]
    assert "10.20.1.50" in new[0]["message"]
    assert "sw-xa-a Gi0/3" in new[0]["message"]

    # Seen again: merged into the same row (first_seen kept, IPs accumulate), no second event.
    again = [lan_device(LAPTOP, "10.20.1.51")]
    assert api.push(sensor["token"], [lan_report(sensor["agent_id"], 2, again)]).status_code == 200
    inv = {d["mac"]: d for d in api.get("/api/v1/sites/XA-A/lan", officer).json()["devices"]}
    assert inv[LAPTOP]["ips"] == ["10.20.1.51", "10.20.1.50"]
    assert len(_events(api, "lan.device_new")) == 1

    metrics = api.client.get("/metrics").text
    assert 'canhgac_lan_devices{site="XA-A",status="unknown"} 3' in metrics
    assert 'canhgac_lan_events_total{site="XA-A",type="device_new"} 1' in metrics
    assert f'canhgac_lan_sensor_packets_total{{site="XA-A",host_id="{sensor["agent_id"]}"' in metrics

    # The sensor host removed: what it saw stays in the site's table, its capture health goes.
    r = api.client.delete(f"/api/v1/hosts/{sensor['agent_id']}", headers=api.auth(api.token("admin")))
    assert r.status_code in (200, 204), r.text
    inv = {d["mac"]: d for d in api.get("/api/v1/sites/XA-A/lan", officer).json()["devices"]}
    assert (inv[LAPTOP]["seen_by"], inv[LAPTOP]["status"]) == ([], "unknown")
    with api.sessions() as session:
        assert session.scalars(select(LanCaptureState)).all() == []


def test_rogue_dhcp_alerts_the_communes_officer_once(
    make_api: Callable[..., Api], tmp_path: Path, smtp: SmtpServer
) -> None:
    api = _api(make_api, tmp_path, smtp.port)
    switch_tables(api)
    sensor = api.enroll(KEY_A, "m-sensor", "pc-xa-a-sensor")
    aid = sensor["agent_id"]
    rogue = lan_event("dhcp_rogue", ROGUE, "198.51.100.66", message="<script>alert(1)</script> {site}")
    legit = lan_event("dhcp_rogue", "00:11:22:33:44:55", "10.20.1.1")  # the approved DHCP server
    printer = [lan_device(PRINTER, "10.20.1.9")]
    assert api.push(sensor["token"], [lan_report(aid, 1, printer, [rogue, legit])]).status_code == 200

    [mail] = smtp.wait_for(OFFICER_A, 1)
    assert mail.subject.startswith(
        "[Canh Gác] CẢNH BÁO: Phát hiện máy chủ DHCP lạ 198.51.100.66 (aa:bb:cc:00:00:66 @ sw-xa-a Gi0/5) "
        "tại Xã A"
    )
    assert "Kiểm tra trước: Tìm thiết bị cắm vào cổng switch" in mail.body
    assert "router wifi gia đình" in mail.body
    assert "Rogue DHCP server 198.51.100.66" in mail.body  # the English beside it
    assert "<script>" not in mail.body
    assert "<script>" not in mail.subject

    # The same rogue server reported again (next report, and twice in one report): still one alert.
    again = [lan_event("dhcp_rogue", ROGUE, "198.51.100.66"), lan_event("dhcp_rogue", ROGUE, "198.51.100.66")]
    assert api.push(sensor["token"], [lan_report(aid, 2, printer, again)]).status_code == 200
    time.sleep(1.5)  # several evaluation rounds
    assert len(smtp.to(OFFICER_A)) == 1
    assert smtp.to(OFFICER_B) == []
    alerts = api.get("/api/v1/alerts", api.token("admin")).json()["alerts"]
    assert [(a["rule"], a["subject_id"]) for a in alerts] == [("lan_dhcp_rogue", ROGUE)]

    stored = _events(api, "lan.dhcp_rogue")
    assert len(stored) == 3  # every detection is in the log; the approved server's is not
    assert {e["subject_id"] for e in stored} == {ROGUE}
    metrics = api.client.get("/metrics").text
    assert 'canhgac_lan_events_total{site="XA-A",type="dhcp_rogue"} 3' in metrics
    assert 'canhgac_lan_events_suppressed_total{site="XA-A"} 1' in metrics


def test_approved_lists_are_scoped_and_count_with_the_config(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = _api(make_api, tmp_path)
    switch_tables(api)
    officer_a, officer_b = api.token("officer", "XA-A"), api.token("officer", "XA-B")
    body = {
        "devices": [{"mac": "3C-22-FB-00-00-50", "label": "Laptop của chủ tịch xã"}],
        "gateways": ["10.20.1.254"],
    }
    auth = api.auth

    # Another commune's officer learns nothing about commune A; an auditor may not touch the lists.
    assert api.get("/api/v1/sites/XA-A/lan", officer_b).status_code == 404
    assert api.get("/api/v1/sites/XA-A/lan/approved", officer_b).status_code == 404
    r = api.client.put("/api/v1/sites/XA-A/lan/approved", json=body, headers=auth(officer_b))
    assert r.status_code == 404
    assert api.get("/api/v1/sites/XA-A/lan/approved", api.token("auditor")).status_code == 403
    assert api.get("/api/v1/sites/P/lan", officer_a).status_code == 404  # above the officer's subtree

    r = api.client.put("/api/v1/sites/XA-A/lan/approved", json=body, headers=auth(officer_a))
    assert r.status_code == 200, r.text
    entries = {(e["kind"], e["value"], e["origin"]) for e in r.json()["entries"]}
    assert entries == {
        ("device", PRINTER, "config"),
        ("dhcp_server", "10.20.1.1", "config"),
        ("gateway", "10.20.1.1", "config"),
        ("device", LAPTOP, "api"),
        ("gateway", "10.20.1.254", "api"),
    }
    inv = {d["mac"]: d for d in api.get("/api/v1/sites/XA-A/lan", officer_a).json()["devices"]}
    assert (inv[LAPTOP]["status"], inv[LAPTOP]["approved"]) == ("known", "Laptop của chủ tịch xã")
    assert api.get("/api/v1/sites/XA-A/lan", officer_a, status="unknown").json()["unknown"] == 2

    # An approved device joining later raises nothing.
    sensor = api.enroll(KEY_A, "m-sensor", "pc-xa-a-sensor")
    report = lan_report(sensor["agent_id"], 1, [lan_device(LAPTOP, "10.20.1.50")])
    assert api.push(sensor["token"], [report]).status_code == 200
    assert _events(api, "lan.device_new") == []

    bad = {"devices": [{"mac": "not-a-mac", "label": "x"}]}
    r = api.client.put("/api/v1/sites/XA-A/lan/approved", json=bad, headers=auth(officer_a))
    assert r.status_code == 422
    assert "devices" in r.text
    assert "mac" in r.text
    twice = {"devices": [{"mac": LAPTOP, "label": "a"}, {"mac": LAPTOP.upper(), "label": "b"}]}
    r = api.client.put("/api/v1/sites/XA-A/lan/approved", json=twice, headers=auth(officer_a))
    assert r.status_code == 422
    assert "listed twice" in r.json()["detail"]
    audit = _events(api, "lan.approved_changed")
    assert len(audit) == 1


def test_hostile_sections_are_bounded(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = _api(make_api, tmp_path, max_devices_per_site=1000, max_new_device_events=16)
    sensor = api.enroll(KEY_A, "m-sensor", "pc-xa-a-sensor")
    odd = ["\u202egnp.exe", "x" * 256, "Máy <b>tính</b> 'quote' \"dq\"", "\u200bzero-width", "日本語"]
    flood = [
        lan_device(f"02:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}", names=[odd[i % len(odd)]]) for i in range(4096)
    ]
    started = time.monotonic()
    r = api.push(sensor["token"], [lan_report(sensor["agent_id"], 1, flood)])
    took = time.monotonic() - started
    assert r.status_code == 200, r.text
    officer = api.token("officer", "XA-A")
    got = api.get("/api/v1/sites/XA-A/lan", officer, limit=10_000).json()
    from_sensor = [d for d in got["devices"] if "lan" in d["sources"]]
    assert len(from_sensor) == 1000  # the per-site cap; the rest evicted and counted
    assert got["total"] == 1002  # and the sensor host's own two interfaces
    assert got["devices"][0]["names"][0] in odd  # stored as given, as data
    assert len(_events(api, "lan.device_new")) == 16
    metrics = api.client.get("/metrics").text
    assert 'canhgac_lan_devices_evicted_total{site="XA-A"} 3096' in metrics
    assert 'canhgac_lan_events_dropped_total{site="XA-A"} 4080' in metrics
    print(f"4096-device section stored in {took:.2f} s")

    too_many = lan_report(sensor["agent_id"], 2, [*flood, lan_device("02:00:00:01:00:00")])
    r = api.push(sensor["token"], [too_many])
    assert r.status_code == 422
    assert "reports.0.lan.devices" in r.json()["detail"]
    bad_mac = lan_report(sensor["agent_id"], 2, [lan_device("AA:BB:CC:DD:EE:FF")])
    r = api.push(sensor["token"], [bad_mac])
    assert r.status_code == 422
    assert "reports.0.lan.devices.0.mac" in r.json()["detail"]


def test_a_lan_storage_failure_loses_nothing_of_the_report(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = _api(make_api, tmp_path)
    sensor = api.enroll(KEY_A, "m-sensor", "pc-xa-a-sensor")
    with api.engine.begin() as conn:  # the LAN tables are gone (a broken store): only this step fails
        conn.execute(text("DROP TABLE lan_devices"))
    r = api.push(sensor["token"], [lan_report(sensor["agent_id"], 1, [lan_device(LAPTOP)])])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == [1]
    host = api.get(f"/api/v1/hosts/{sensor['agent_id']}", api.token("admin")).json()
    assert host["reports_total"] == 1
    assert host["metrics"]["memory"]["total_bytes"] == 4_000_000_000
    assert 'canhgac_confined_errors_total{stage="lan"} 1' in api.client.get("/metrics").text
    # The next report is acknowledged as usual.
    r = api.push(sensor["token"], [make_report(sensor["agent_id"], 2)])
    assert r.json()["accepted"] == [2]
