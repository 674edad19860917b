"""Silences through the domain: scoped listing and lookup, adding and removing with events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.alerting import silences
from canhgac_collector.store.models import Event, Silence, Site
from tests.collector.seed import SCOPE_A, SCOPE_B, T0, open_store

ONCE = silences.StoredWindow("once", T0, T0 + dt.timedelta(hours=2))
WEEKLY = silences.StoredWindow("weekly", schedule={"weekly": {"days": [7], "start": "00:00", "end": "06:00"}})


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    """One silence each over XA-A, XA-B-MC and P, added in that order."""
    sessions, ids = open_store(make_config())
    with sessions.begin() as session:
        for code, window in (("XA-A", ONCE), ("XA-B-MC", WEEKLY), ("P", ONCE)):
            silences.add_silence(
                session,
                session.get_one(Site, ids[code]),
                name=f"maintenance {code}",
                rules=["host_down"] if code == "XA-A" else [],
                window=window,
                comment=None,
                actor="tok-admin",
                now=T0,
            )
    return sessions, ids


def test_listing_is_scoped_and_oldest_first(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        assert [code for _, code in silences.list_silences(session, None)] == ["XA-A", "XA-B-MC", "P"]
        assert [s.name for s, _ in silences.list_silences(session, SCOPE_B)] == ["maintenance XA-B-MC"]
        assert [code for _, code in silences.list_silences(session, SCOPE_A)] == ["XA-A"]


def test_added_as_given_with_an_event(store: Any) -> None:
    sessions, ids = store
    with sessions() as session:
        once, weekly, province = (s for s, _ in silences.list_silences(session, None))
        assert (once.kind, once.starts_at, once.rules, once.created_by) == (
            "once",
            ONCE.starts_at,
            ["host_down"],
            "tok-admin",
        )
        assert (weekly.kind, weekly.schedule, weekly.rules) == ("weekly", WEEKLY.schedule, [])
        events = session.scalars(
            select(Event).where(Event.kind == "silence.created").order_by(Event.id)
        ).all()
    assert [(e.subject_id, e.site_id, (e.data or {})["silence_id"]) for e in events] == [
        ("XA-A", ids["XA-A"], once.id),
        ("XA-B-MC", ids["XA-B-MC"], weekly.id),
        ("P", ids["P"], province.id),
    ]


def test_one_silence_out_of_scope_is_like_absent_and_removal_records_who(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        ((mc, _code),) = silences.list_silences(session, SCOPE_B)
        assert silences.find_silence(session, SCOPE_A, mc.id) is None
        assert silences.find_silence(session, None, 999_999) is None
        row = silences.find_silence(session, SCOPE_B, mc.id)
        assert row is not None
        assert row[1].code == "XA-B-MC"
        silences.remove_silence(session, *row, actor="tok-officer-b")
    with sessions() as session:
        assert session.get(Silence, mc.id) is None
        event = session.scalars(select(Event).where(Event.kind == "silence.deleted")).one()
    assert (event.subject_id, event.site_id, event.actor) == ("XA-B-MC", ids["XA-B-MC"], "tok-officer-b")
