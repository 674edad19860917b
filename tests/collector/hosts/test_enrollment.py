"""Enrolling a machine: a new host, re-enrolling in its own site, refusals recorded for both sites."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.hosts import enrollment
from canhgac_collector.store.models import Event, Host, Token
from tests.collector.seed import open_store


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    return open_store(make_config())


def enroll(session: Session, ids: dict[str, int], code: str, hostname: str) -> enrollment.Enrolled:
    return enrollment.enroll_in_site(
        session,
        enrollment.host_by_machine(session, "machine-1"),
        machine_id="machine-1",
        hostname=hostname,
        site_code=code,
        site_name=f"Xã {code}",
        site_id=ids[code],
        actor="enroll:192.0.2.7",
    )


def test_a_new_machine_becomes_a_host_and_re_enrolling_rotates_its_token(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        assert enrollment.host_by_machine(session, "machine-1") is None
        first = enroll(session, ids, "XA-A", "pc-a1")
    with sessions.begin() as session:
        host = session.get_one(Host, first.agent_id)
        assert (host.site_id, host.hostname, host.state, first.last_seq) == (ids["XA-A"], "pc-a1", "new", 0)
        host.last_seq = 41
        again = enroll(session, ids, "XA-A", "pc-a1-renamed")
    assert again.agent_id == first.agent_id
    assert again.last_seq == 41
    assert again.token != first.token
    with sessions() as session:
        assert session.get_one(Host, first.agent_id).hostname == "pc-a1-renamed"
        tokens = session.scalars(select(Token).where(Token.host_id == first.agent_id)).all()
        assert sorted(t.revoked_at is None for t in tokens) == [False, True]  # only the new one lives
        kinds = session.scalars(
            select(Event.kind).where(Event.subject_id == first.agent_id).order_by(Event.id)
        )
        assert list(kinds) == ["host.enrolled", "host.reenrolled"]


def test_refusals_are_recorded(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        enrolled = enroll(session, ids, "XA-A", "pc-a1")
        host = session.get_one(Host, enrolled.agent_id)
        enrollment.record_takeover_refused(session, host, "XA-B", ids["XA-B"], "192.0.2.9", "pc-b9")
        enrollment.record_failed_key(session, "m" * 100, "192.0.2.66")
    with sessions() as session:
        conflicts = session.scalars(select(Event).where(Event.kind == "enroll.conflict")).all()
        failed = session.scalars(select(Event).where(Event.kind == "enroll.failed")).one()
    assert sorted(e.site_id for e in conflicts) == sorted([ids["XA-A"], ids["XA-B"]])  # officers of both
    assert {e.subject_id for e in conflicts} == {enrolled.agent_id}
    assert (failed.site_id, failed.subject_id, failed.actor) == (None, "m" * 64, "enroll:192.0.2.66")
