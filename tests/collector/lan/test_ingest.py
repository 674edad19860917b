"""The LAN step of ingest on a real store: detections become `lan.*` events whose text the server
composes from validated fields, every list is bounded, timestamps from the sensor's clock are clamped,
and the alert engine raises one alert per subject however often it is reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_api.schemas.report import LanSection
from canhgac_collector.alerting.engine import AlertEngine
from canhgac_collector.alerting.links import LinkSigner
from canhgac_collector.config import ServerConfig
from canhgac_collector.lan.approved import sync_config_approved
from canhgac_collector.lan.ingest import MAX_EVENTS_PER_TYPE, LanLimits, record_sections
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Alert, Event, Host, LanCaptureState, LanDevice
from canhgac_collector.store.sites import sync_sites

GATEWAY = "10.0.0.1"
SPOOFER = "02:de:ad:be:ef:01"


@dataclass
class Lan:
    config: ServerConfig
    sessions: sessionmaker[Session]
    site_ids: dict[str, int]

    def record(self, *sections: dict[str, Any], limits: LanLimits | None = None) -> Any:
        parsed = [LanSection.model_validate(s) for s in sections]
        with self.sessions.begin() as session:
            return record_sections(session, "h-1", parsed, limits or LanLimits(), dt.datetime.now(dt.UTC))

    def events(self, kind: str) -> list[Event]:
        with self.sessions() as session:
            return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


@pytest.fixture
def lan(make_config: Callable[..., ServerConfig]) -> Iterator[Lan]:
    cfg = make_config(lan={"sites": {"XA-A": {"gateways": [GATEWAY], "dhcp_servers": [GATEWAY]}}})
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as session:
        ids = sync_sites(session, resolve_tree(cfg))
        sync_config_approved(session, cfg.lan, ids)
        session.add(
            Host(
                id="h-1",
                machine_id="m-1",
                hostname="pc-sensor",
                site_id=ids["XA-A"],
                state="up",
                state_changed_at=now,
                enrolled_at=now,
                last_seq=0,
                reports_total=0,
            )
        )
    yield Lan(cfg, sessions, ids)
    engine.dispose()


def _event(kind: str, mac: str | None = SPOOFER, ip: str | None = GATEWAY, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "time": dt.datetime.now(dt.UTC).isoformat(),
        "interface": "eth0",
        "mac": mac,
        "ip": ip,
        "message": "<img src=x onerror=alert(1)> {subject}",
        **extra,
    }


def test_detections_are_events_with_the_servers_text(lan: Lan) -> None:
    obs = lan.record(
        {
            "events": [
                _event("arp_spoof"),
                _event("ip_conflict", mac="02:00:00:00:00:02", ip="10.0.0.20"),
                _event("mac_flood", mac=None, ip=None, detail={"count": "512"}),
                _event("mac_flood", mac=None, ip=None, detail={"count": "many; rm -rf /"}),
            ],
            "events_dropped": 5,
        }
    )
    [spoof] = lan.events("lan.arp_spoof")
    assert (spoof.subject_type, spoof.subject_id) == ("mac", SPOOFER)
    assert spoof.message.startswith(f"Nghi giả mạo ARP: {GATEWAY} ({SPOOFER}) tại Xã A / Suspected ARP")
    assert "<img" not in spoof.message
    assert spoof.data is not None
    assert spoof.data["sensor_message"] == "<img src=x onerror=alert(1)> {subject}"  # kept as data
    assert spoof.data["gateway"] is True
    [conflict] = lan.events("lan.ip_conflict")
    assert (conflict.subject_type, conflict.subject_id) == ("ip", "10.0.0.20")
    floods = lan.events("lan.mac_flood")
    assert [(e.subject_type, e.subject_id) for e in floods] == [("site", "XA-A"), ("site", "XA-A")]
    assert [e.data["subject_name"] for e in floods if e.data] == ["512 MAC", "MAC"]
    assert obs.dropped == 5
    assert dict(obs.events) == {"arp_spoof": 1, "ip_conflict": 1, "mac_flood": 2}


def test_every_list_is_bounded_and_the_sensors_clock_clamped(lan: Lan) -> None:
    many = [_event("arp_spoof", mac=f"02:00:00:00:01:{i:02x}") for i in range(MAX_EVENTS_PER_TYPE + 36)]
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(days=300)).isoformat()
    device = {
        "mac": "02:00:00:00:00:09",
        "ips": [f"10.0.1.{i}" for i in range(16)],
        "first_seen": ahead,
        "last_seen": ahead,
    }
    obs = lan.record({"events": many, "devices": [device]})
    assert len(lan.events("lan.arp_spoof")) == MAX_EVENTS_PER_TYPE
    assert obs.dropped == 36
    with lan.sessions() as session:
        row = session.scalars(select(LanDevice)).one()
    assert row.last_seen <= dt.datetime.now(dt.UTC)  # a sensor clock a year ahead never pins a row
    more = {
        **device,
        "ips": [f"10.0.2.{i}" for i in range(16)],
        "last_seen": dt.datetime.now(dt.UTC).isoformat(),
    }
    lan.record({"devices": [more]})
    with lan.sessions() as session:
        row = session.scalars(select(LanDevice)).one()
    assert len(row.ips) == 16
    assert row.ips[0] == "10.0.2.0"  # the newest first


def test_approved_dhcp_server_is_suppressed_and_captures_replaced(lan: Lan) -> None:
    capture = {"interface": "eth0", "packets_seen": 10, "packets_dropped": 1}
    obs = lan.record({"events": [_event("dhcp_rogue")], "captures": [capture]})
    assert obs.suppressed == 1
    assert lan.events("lan.dhcp_rogue") == []
    failing = {"interface": "eth1", "packets_seen": 0, "packets_dropped": 0, "error": "CAP_NET_RAW missing"}
    obs = lan.record({"captures": [failing]})
    with lan.sessions() as session:
        rows = session.scalars(select(LanCaptureState)).all()
    assert [(r.interface, r.error) for r in rows] == [("eth1", "CAP_NET_RAW missing")]
    assert obs.captures == [("eth1", 0, 0, True)]


def test_one_alert_per_spoofer_however_often_reported(lan: Lan) -> None:
    lan.record({"events": [_event("arp_spoof"), _event("arp_spoof")]})
    lan.record({"events": [_event("arp_spoof")]})
    tree = resolve_tree(lan.config)
    engine = AlertEngine(lan.config, lan.sessions, tree, lan.site_ids, LinkSigner(b"k" * 32, 3600))
    engine.evaluate()
    engine.evaluate()
    with lan.sessions() as session:
        alerts = session.scalars(select(Alert)).all()
    assert [(a.rule, a.subject_id, a.state) for a in alerts] == [("lan_arp_spoof", SPOOFER, "firing")]
    assert alerts[0].summary.startswith(f"Nghi giả mạo ARP: {GATEWAY} ({SPOOFER}) tại Xã A lúc ")
