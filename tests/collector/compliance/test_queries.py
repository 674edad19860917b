"""Scoped reads of compliance scans: listings, one scan, its findings, a site's newest scans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.compliance import queries
from canhgac_collector.store.models import Finding
from tests.collector.seed import SCOPE_A, SCOPE_B, open_store, scan


def finding(scan_id: int, rule_id: str, result: str) -> Finding:
    return Finding(
        scan_id=scan_id,
        rule_id=rule_id,
        target="pc-a1",
        target_kind="host",
        result=result,
        severity="medium",
        doc={"rule_id": rule_id, "result": result},
    )


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    """Scans 1-5 in order: XA-A level 2, XA-A level 1, XA-A level 2 again (with three findings),
    XA-B-MC level 2, P level 3."""
    sessions, ids = open_store(make_config())
    with sessions.begin() as session:
        for code, level in (("XA-A", 2), ("XA-A", 1), ("XA-A", 2), ("XA-B-MC", 2), ("P", 3)):
            session.add(scan(ids[code], level))
            session.flush()
        third = queries.list_scans(session, SCOPE_A).rows[0][0]
        session.add_all(
            [
                finding(third.id, "r1", "pass"),
                finding(third.id, "r2", "fail"),
                finding(third.id, "r3", "fail"),
            ]
        )
    return sessions, ids


def test_a_scoped_listing_never_shows_another_subtree(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        assert [(s.level, site.code) for s, site in queries.list_scans(session, SCOPE_A).rows] == [
            (2, "XA-A"),
            (1, "XA-A"),
            (2, "XA-A"),
        ]
        assert [site.code for _, site in queries.list_scans(session, SCOPE_B).rows] == ["XA-B-MC"]
        assert queries.list_scans(session, SCOPE_A, site_code="XA-B-MC").total == 0


def test_listing_of_one_site_newest_first_and_limited(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        everything = queries.list_scans(session, None)
        assert [site.code for _, site in everything.rows] == ["P", "XA-B-MC", "XA-A", "XA-A", "XA-A"]
        assert (
            queries.list_scans(session, None, site_code="XA-B").total == 0
        )  # the site alone, not its office
        limited = queries.list_scans(session, None, site_code="XA-A", limit=2)
        assert (limited.total, [s.level for s, _ in limited.rows]) == (3, [2, 1])


def test_one_scan_out_of_scope_is_like_absent(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        ids = {site.code: s.id for s, site in queries.list_scans(session, None).rows}
        found = queries.find_scan(session, SCOPE_B, ids["XA-B-MC"])
        assert found is not None
        assert found[1].code == "XA-B-MC"
        assert queries.find_scan(session, SCOPE_A, ids["XA-B-MC"]) is None
        assert queries.find_scan(session, SCOPE_A, ids["P"]) is None
        assert queries.find_scan(session, None, ids["P"]) is not None
        assert queries.find_scan(session, None, 999_999) is None


def test_findings_filtered_and_paged(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        newest = queries.list_scans(session, SCOPE_A).rows[0][0]
        every = queries.scan_findings(session, newest.id)
        assert (every.total, [d["rule_id"] for d in every.rows]) == (3, ["r1", "r2", "r3"])
        failed = queries.scan_findings(session, newest.id, result="fail", limit=1, offset=1)
        assert (failed.total, list(failed.rows)) == (2, [{"rule_id": "r3", "result": "fail"}])
        assert queries.scan_findings(session, newest.id - 1).total == 0


def test_newest_scan_per_level(store: Any) -> None:
    sessions, ids = store
    with sessions() as session:
        by_id = [s.id for s, _ in queries.list_scans(session, SCOPE_A).rows]  # newest first
        assert [(s.level, s.id) for s in queries.newest_scans(session, ids["XA-A"])] == [
            (1, by_id[1]),
            (2, by_id[0]),
        ]
        assert queries.newest_scans(session, ids["XA-B"]) == []
