"""Scoped reads of alerts: listings with filters and paging, one alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.alerting import queries
from tests.collector.seed import SCOPE_A, SCOPE_B, alert, open_store


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    """Alerts 1-5, in this order: a1 down (A, firing), a2 disk (A, resolved), b1 down (B, acknowledged),
    mc1 down (office of B, pending), p1 disk (province, firing)."""
    sessions, ids = open_store(make_config())
    with sessions.begin() as session:
        for row in (
            alert(ids["XA-A"], "host_down", "a1"),
            alert(ids["XA-A"], "disk_full", "a2", state="resolved"),
            alert(ids["XA-B"], "host_down", "b1", state="acknowledged"),
            alert(ids["XA-B-MC"], "host_down", "mc1", state="pending"),
            alert(ids["P"], "disk_full", "p1"),
        ):
            session.add(row)
            session.flush()
    return sessions, ids


def subjects(found: Any) -> list[str]:
    return [a.subject_id for a, _ in found.rows]


def test_a_scoped_listing_never_shows_another_subtree(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        found = queries.list_alerts(session, SCOPE_B)
        assert [(a.subject_id, code) for a, code in found.rows] == [("mc1", "XA-B-MC"), ("b1", "XA-B")]
        assert subjects(queries.list_alerts(session, SCOPE_A)) == ["a2", "a1"]
        assert queries.list_alerts(session, SCOPE_A, subtree=SCOPE_B).total == 0


def test_filters_order_and_paging(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        assert subjects(queries.list_alerts(session, None)) == ["p1", "mc1", "b1", "a2", "a1"]  # newest first
        assert subjects(queries.list_alerts(session, None, subtree=SCOPE_B)) == ["mc1", "b1"]
        assert subjects(queries.list_alerts(session, None, states=["firing", "pending"])) == [
            "p1",
            "mc1",
            "a1",
        ]
        assert subjects(queries.list_alerts(session, None, open_only=True)) == ["p1", "mc1", "b1", "a1"]
        assert subjects(queries.list_alerts(session, None, rule="disk_full")) == ["p1", "a2"]
        page = queries.list_alerts(session, None, limit=2, offset=1)
        assert (page.total, subjects(page)) == (5, ["mc1", "b1"])


def test_one_alert_out_of_scope_is_like_absent(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        ids = {a.subject_id: a.id for a, _ in queries.list_alerts(session, None).rows}
        found = queries.find_alert(session, SCOPE_B, ids["mc1"])
        assert found is not None
        assert (found[0].subject_id, found[1]) == ("mc1", "XA-B-MC")
        assert queries.find_alert(session, SCOPE_A, ids["b1"]) is None
        assert queries.find_alert(session, None, ids["b1"]) is not None
        assert queries.find_alert(session, None, 999_999) is None
