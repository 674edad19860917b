"""The group-committing store: jobs queued together are planned together and still judged one by one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from canhgac_api.ingest import make_job
from canhgac_api.schemas import fast
from canhgac_api.schemas.report import ReportBatch
from canhgac_collector.config import ServerConfig
from canhgac_collector.hosts.ingest import IngestResult, IngestStore
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Event, Host, Report
from canhgac_collector.store.sites import sync_sites
from tests.conftest import site_tree
from tests.harness.reports import make_report


def _batch(host_id: str, seqs: list[int], **overrides: object) -> Any:
    reports = [make_report(host_id, s, **overrides) for s in seqs]
    return fast.from_model(ReportBatch.model_validate({"reports": reports}))


def test_one_group_with_overlap_conflict_and_unknown_host(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as session:
        ids = sync_sites(session, resolve_tree(ServerConfig(sites=site_tree())))
        session.add(
            Host(
                id="h1",
                machine_id="m1",
                hostname="pc-1",
                site_id=ids["XA-A"],
                state="new",
                state_changed_at=now,
                enrolled_at=now,
                last_seq=0,
                reports_total=0,
            )
        )
    store = IngestStore(engine)
    batches = [
        _batch("h1", [1, 2]),
        _batch("h1", [2, 3]),  # a retry overlapping the first: 2 is a duplicate, 3 is new
        _batch("h1", [3], interval_s=60),  # seq 3 again with other content: refused whole
        _batch("nope", [1]),  # its host is gone: fails alone
    ]
    outcomes = store.write_group([make_job(b.reports[0].agent_id, b) for b in batches])
    first, second, third, fourth = outcomes
    assert isinstance(first, IngestResult)
    assert (first.accepted, first.duplicates) == ([1, 2], [])
    assert isinstance(second, IngestResult)
    assert (second.accepted, second.duplicates) == ([3], [2])
    assert isinstance(third, IngestResult)
    assert third.conflicts
    assert "different content" in third.conflicts[0]
    assert isinstance(fourth, LookupError)
    assert store.groups_committed == 1  # one transaction for the whole group
    assert [r.seq for r in first.stored] == [1, 2]  # what metrics and history get, once committed
    assert [r.seq for r in second.stored] == [3]

    with sessions() as session:
        assert session.scalars(
            select(Report.seq).where(Report.host_id == "h1").order_by(Report.seq)
        ).all() == [1, 2, 3]
        host = session.get(Host, "h1")
        assert host is not None
        assert (host.last_seq, host.reports_total, host.state) == (3, 3, "up")
        assert host.latest_report is not None
        assert b'"seq":3' in host.latest_report
        transitions = session.scalars(
            select(Event.to_state).where(Event.subject_id == "h1", Event.kind == "host.state")
        ).all()
        assert transitions == ["up"]  # one event, not one per job
