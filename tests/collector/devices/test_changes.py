"""Devices added, changed and removed through the API: the rows and the events naming who did it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.devices import changes
from canhgac_collector.store.models import Device, DeviceInterface, Event, Site
from tests.collector.seed import T0, open_store

FIELDS = {"address": "192.0.2.5", "site_id": 0, "snmp_version": "2c", "snmp_secret_enc": b"sealed"}


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    return open_store(make_config())


def events(session: Session, kind: str) -> list[tuple[str, int | None, str | None, Any]]:
    rows = session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
    return [(e.subject_id, e.site_id, e.actor, e.data) for e in rows]


def test_add_change_and_remove_each_record_who(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        site_a, site_b = session.get_one(Site, ids["XA-A"]), session.get_one(Site, ids["XA-B"])
        device = changes.add_device(session, "sw-a", site_a, {**FIELDS, "site_id": site_a.id}, actor="tok-1")
        assert (device.source, device.state, device.address) == ("api", "unknown", "192.0.2.5")
        session.add(DeviceInterface(device_id=device.id, if_index=1, updated_at=T0))
    with sessions.begin() as session:
        device = session.scalars(select(Device).where(Device.name == "sw-a")).one()
        before = device.updated_at
        changes.change_device(
            session,
            device,
            site_b,
            {"site_id": ids["XA-B"], "snmp_secret_enc": b"new"},
            asked={"snmp", "site"},
            actor="tok-2",
        )
        assert (device.site_id, device.snmp_secret_enc) == (ids["XA-B"], b"new")
        assert device.updated_at > before
    with sessions.begin() as session:
        device = session.scalars(select(Device).where(Device.name == "sw-a")).one()
        changes.remove_device(session, device, site_b, actor="tok-3")
    with sessions() as session:
        assert session.scalars(select(Device)).all() == []
        assert session.scalars(select(DeviceInterface)).all() == []  # gone with its device
        assert events(session, "device.added") == [("sw-a", ids["XA-A"], "tok-1", None)]
        # The event names the fields asked for, never their values (SNMP secrets among them).
        assert events(session, "device.updated") == [
            ("sw-a", ids["XA-B"], "tok-2", {"fields": ["site", "snmp"]})
        ]
        assert events(session, "device.removed") == [("sw-a", ids["XA-B"], "tok-3", None)]
