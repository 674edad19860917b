"""Scoped reads of hosts: listings with paging and filters, one host, per-site state counts, removal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.hosts import queries
from canhgac_collector.store.models import Event, Host
from tests.collector.seed import SCOPE_A, SCOPE_B, host, open_store


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    sessions, ids = open_store(make_config())
    with sessions.begin() as session:
        session.add_all(
            [
                host(ids["XA-A"], "a1", "pc-a1"),
                host(ids["XA-A"], "a2", "pc-a2", state="down"),
                host(ids["XA-B"], "b1", "pc-b1"),
                host(ids["XA-B-MC"], "mc1", "pc-mc1", state="stale"),
                host(ids["P"], "p1", "pc-p1", state="new"),
            ]
        )
    return sessions, ids


def test_a_scoped_listing_never_shows_another_subtree(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        found = queries.list_hosts(session, SCOPE_B)
        assert found.total == 2
        assert [(h.id, s.code) for h, s in found.rows] == [("b1", "XA-B"), ("mc1", "XA-B-MC")]
        assert [h.id for h, _ in queries.list_hosts(session, SCOPE_A).rows] == ["a1", "a2"]
        # Asking for another subtree from inside a scope gives nothing, not that subtree.
        assert queries.list_hosts(session, SCOPE_A, subtree=SCOPE_B).total == 0


def test_listing_order_filters_and_paging(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        everything = queries.list_hosts(session, None)
        assert [h.id for h, _ in everything.rows] == ["p1", "a1", "a2", "b1", "mc1"]  # by site path
        assert [h.id for h, _ in queries.list_hosts(session, None, subtree=SCOPE_B).rows] == ["b1", "mc1"]
        assert [h.id for h, _ in queries.list_hosts(session, None, state="down").rows] == ["a2"]
        page = queries.list_hosts(session, None, limit=2, offset=1)
        assert (page.total, [h.id for h, _ in page.rows]) == (5, ["a1", "a2"])


def test_one_host_out_of_scope_is_like_absent(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        row = queries.find_host(session, SCOPE_A, "a1")
        assert row is not None
        assert row[1].code == "XA-A"
        assert queries.find_host(session, SCOPE_A, "b1") is None
        assert queries.find_host(session, SCOPE_A, "nope") is None
        assert queries.find_host(session, None, "b1") is not None


def test_names_and_state_counts_in_scope(store: Any) -> None:
    sessions, ids = store
    with sessions() as session:
        assert sorted(queries.host_names(session, SCOPE_B)) == [
            ("b1", "pc-b1", "up", "XA-B"),
            ("mc1", "pc-mc1", "stale", "XA-B-MC"),
        ]
        assert [n[0] for n in queries.host_names(session, None, "/P/XA-B/XA-B-MC/")] == ["mc1"]
        assert queries.state_counts(session, SCOPE_A) == {ids["XA-A"]: {"up": 1, "down": 1}}
        everything = queries.state_counts(session, None)
    assert everything[ids["P"]] == {"new": 1}
    assert everything[ids["XA-B-MC"]] == {"stale": 1}
    assert sum(sum(c.values()) for c in everything.values()) == 5


def test_removing_a_host_records_who_did(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        removed = queries.remove_host(session, "b1", actor="tok-admin")
        assert removed is not None
        assert removed.hostname == "pc-b1"
        assert queries.remove_host(session, "nope", actor="tok-admin") is None
    with sessions() as session:
        assert session.get(Host, "b1") is None
        event = session.scalars(select(Event).where(Event.kind == "host.removed")).one()
    assert (event.subject_id, event.site_id, event.actor) == ("b1", ids["XA-B"], "tok-admin")
