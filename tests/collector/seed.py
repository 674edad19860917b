"""A real store with the shared site tree (tests/conftest.py) and row builders, for the domain query
tests: province P → district D1 → commune XA-A; P → commune XA-B → office XA-B-MC."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.config import ServerConfig
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Alert, Device, Host, Scan
from canhgac_collector.store.sites import sync_sites

SCOPE_A = "/P/D1/XA-A/"  # commune A's subtree
SCOPE_B = "/P/XA-B/"  # commune B's subtree (with its office)
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def open_store(config: ServerConfig) -> tuple[sessionmaker[Session], dict[str, int]]:
    """A migrated store holding the config's sites; returns the session factory and code → site id."""
    engine = make_engine(config.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        ids = sync_sites(session, resolve_tree(config))
    return sessions, ids


def host(site_id: int, host_id: str, hostname: str, state: str = "up") -> Host:
    return Host(
        id=host_id,
        machine_id=f"machine-{host_id}",
        hostname=hostname,
        site_id=site_id,
        state=state,
        state_changed_at=T0,
        enrolled_at=T0,
    )


def device(site_id: int, name: str, **fields: Any) -> Device:
    values: dict[str, Any] = {
        "address": "192.0.2.1",
        "site_id": site_id,
        "source": "api",
        "snmp_version": "2c",
        "snmp_secret_enc": b"not-a-real-secret",
        "state": "up",
        "state_changed_at": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Device(name=name, **values)


def alert(site_id: int, rule: str, subject: str, state: str = "firing", **fields: Any) -> Alert:
    values: dict[str, Any] = {
        "key": f"{rule}:host:{subject}",
        "rule": rule,
        "severity": "warning",
        "subject_type": "host",
        "subject_id": subject,
        "subject_name": subject,
        "site_id": site_id,
        "state": state,
        "started_at": T0,
        "since": T0,
        "summary": f"{rule} on {subject}",
    }
    values.update(fields)
    return Alert(**values)


def scan(site_id: int, level: int, **fields: Any) -> Scan:
    values: dict[str, Any] = {
        "site_id": site_id,
        "level": level,
        "trigger": "cli",
        "started_at": T0,
        "finished_at": T0 + dt.timedelta(seconds=3),
        "packs": [],
        "targets": {},
        "summary": {},
        "manual_review": [],
        "report_sha256": "0" * 64,
    }
    values.update(fields)
    return Scan(**values)
