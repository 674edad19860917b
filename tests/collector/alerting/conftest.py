"""Alerting fixtures: a two-commune province with contacts at every level, a store, an engine driven
with explicit clocks, and the real receivers (aiosmtpd, an HTTP receiver, Debian's Alertmanager)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.results import DevicePoll, InterfaceSample
from canhgac_collector.alerting.engine import AlertEngine
from canhgac_collector.alerting.links import LinkSigner
from canhgac_collector.alerting.outbox import Dispatcher
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.store import record_polls, sync_config_devices
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Host
from canhgac_collector.store.secrets import SecretBox
from canhgac_collector.store.sites import sync_sites
from tests.api.conftest import Api, make_api  # noqa: F401 (the real API app fixture)
from tests.harness.notify import Alertmanager, HttpReceiver, SmtpServer

T0 = dt.datetime(2027, 3, 1, 0, 40, tzinfo=dt.UTC)  # 07:40 in Hà Nội, a Monday

OFFICER_A = "can-bo-xa-a@example.gov.vn"
OFFICER_B = "can-bo-xa-b@example.gov.vn"
DISTRICT = "it-huyen-1@example.gov.vn"
PROVINCE = "noc@example.gov.vn"


def province() -> list[dict[str, Any]]:
    """P → D1 → XA-A (key A), P → XA-B (key B); contacts at each level."""
    return [
        {
            "code": "P",
            "name": "Tỉnh Thử Nghiệm",
            "kind": "province",
            "contacts": [{"name": "Trực vận hành tỉnh", "email": PROVINCE}],
            "children": [
                {
                    "code": "D1",
                    "name": "Huyện Một",
                    "kind": "district",
                    "contacts": [{"name": "CNTT huyện", "email": DISTRICT}],
                    "children": [
                        {
                            "code": "XA-A",
                            "name": "Xã A",
                            "kind": "commune",
                            "enrollment_keys": ["commune-a-key-0123456789"],
                            "contacts": [
                                {"name": "Cán bộ xã A", "email": OFFICER_A, "telegram_chat_id": "1001"}
                            ],
                        }
                    ],
                },
                {
                    "code": "XA-B",
                    "name": "Xã B",
                    "kind": "commune",
                    "enrollment_keys": ["commune-b-key-0123456789"],
                    "contacts": [{"name": "Cán bộ xã B", "email": OFFICER_B}],
                },
            ],
        }
    ]


def devices() -> list[dict[str, Any]]:
    return [
        {"name": f"sw-{c.lower()}", "address": "127.0.0.1", "port": 9, "site": c, "snmp": {"community": "x"}}
        for c in ("XA-A", "XA-B")
    ]


def alert_config(tmp_path: Path, db_url: str, **alerting: Any) -> ServerConfig:
    base: dict[str, Any] = {
        "evaluate_interval_s": 0.2,
        "clear_for_s": 300,
        "escalate_after_s": 1800,
        "site_min_members": 2,
        "public_url": "http://127.0.0.1:8080",
        "link_key_file": str(tmp_path / "alerts.key"),
        "smtp": {"enabled": True, "host": "127.0.0.1", "port": 9, "sender": "canhgac@example.gov.vn"},
    }
    rules = {"host_down": {"for_s": 0}, **alerting.pop("rules", {})}  # unit tests: no grouping delay
    base.update(alerting, rules=rules)
    return ServerConfig(
        database_url=db_url,
        sites=province(),
        devices=devices(),
        snmp={"enabled": False, "secrets_key_file": str(tmp_path / "secrets.key")},
        alerting=base,
    )


def poll(name: str, state: str, at: dt.datetime, links: dict[int, str] | None = None) -> DevicePoll:
    """A poll result as the SNMP poller produces it; `links` maps ifIndex → oper status of an uplink."""
    itfs = [
        InterfaceSample(ifIndex=i, ifName=f"Gi0/{i}", ifAlias="uplink", ifAdminStatus="up", ifOperStatus=st)
        for i, st in (links or {}).items()
    ]
    return DevicePoll(
        device=name,
        started_at=at.timestamp(),
        duration_s=0.01,
        state=state,  # type: ignore[arg-type]
        reason=None if state == "up" else "timeout",
        interfaces=itfs,
    )


def cut_off_a(store: Store, at: dt.datetime) -> None:
    """Xã A cut off at `at`: both its PCs and its switch down; Xã B up."""
    for site in ("XA-A", "XA-B"):
        store.host(f"{site.lower()}-pc1", site, "up", at)
    store.host("xa-a-pc1", "XA-A", "down", at)
    store.host("xa-a-pc2", "XA-A", "down", at)
    store.polls(poll("sw-xa-a", "down", at), poll("sw-xa-b", "up", at))


@dataclass
class Store:
    config: ServerConfig
    sessions: sessionmaker[Session]
    site_ids: dict[str, int]
    engine: AlertEngine
    signer: LinkSigner

    def polls(self, *polls: DevicePoll) -> None:
        with self.sessions.begin() as session:
            record_polls(session, list(polls))

    def host(
        self, host_id: str, site: str, state: str, last: dt.datetime, report: bytes | None = None
    ) -> None:
        """A host as ingest and the host-state loop leave it."""
        with self.sessions.begin() as session:
            h = session.get(Host, host_id)
            if h is None:
                h = Host(
                    id=host_id,
                    machine_id=f"m-{host_id}",
                    hostname=host_id,
                    site_id=self.site_ids[site],
                    enrolled_at=last,
                    last_seq=0,
                    reports_total=0,
                )
                session.add(h)
            h.state, h.state_changed_at, h.last_report_at, h.latest_report = state, last, last, report


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[..., Store]:
    def make(db_url: str | None = None, **alerting: Any) -> Store:
        url = db_url or f"sqlite:///{tmp_path / 'alerts.sqlite'}"
        cfg = alert_config(tmp_path, url, **alerting)
        engine = make_engine(url)
        upgrade(engine)
        sessions = session_factory(engine)
        tree = resolve_tree(cfg)
        with sessions.begin() as session:
            ids = sync_sites(session, tree)
            sync_config_devices(session, cfg, SecretBox(tmp_path / "secrets.key"))
        signer = LinkSigner(b"k" * 32, cfg.alerting.ack_link_ttl_s)
        return Store(cfg, sessions, ids, AlertEngine(cfg, sessions, tree, ids, signer), signer)

    return make


def dispatcher(store: Store) -> Dispatcher:
    return Dispatcher(store.config.alerting, store.sessions)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    r = HttpReceiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def alertmanager() -> Iterator[Alertmanager]:
    am = Alertmanager()
    am.start()
    yield am
    am.stop()


def wait_until(check: Callable[[], bool], timeout: float = 10, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
