"""Scoped reads of the store: scopes over the site tree, visible sites, events and tokens, paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.sitetree import in_scope, under, within
from canhgac_collector.store import events, sites, token_queries
from canhgac_collector.store.models import Site
from canhgac_collector.store.tokens import create_token, hash_secret, revoke_token
from tests.collector.seed import SCOPE_A, SCOPE_B, T0, open_store


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    return open_store(make_config())


def test_a_scope_is_a_whole_path_segment_prefix() -> None:
    assert in_scope("/P/XA-B/XA-B-MC/", SCOPE_B)
    assert in_scope("/P/XA-B/", None)
    assert not in_scope("/P/XA-BX/", SCOPE_B)  # a sibling whose code starts alike is another subtree
    assert not in_scope("/P/", SCOPE_B)  # nor is the parent


def test_within_and_under_limit_statements_to_the_subtree(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:

        def codes(stmt: Any) -> list[str]:
            return [s.code for s in session.scalars(stmt.order_by(Site.path))]

        everything = select(Site)
        assert codes(within(everything, None)) == ["P", "D1", "XA-A", "XA-B", "XA-B-MC"]
        assert codes(within(everything, SCOPE_B)) == ["XA-B", "XA-B-MC"]
        assert codes(under(everything, None, "/P/XA-B/XA-B-MC/")) == ["XA-B-MC"]
        # A subtree outside the scope narrows to nothing, never widens the scope.
        assert codes(under(everything, SCOPE_A, SCOPE_B)) == []
        assert codes(within(everything, "/P/%/")) == []  # LIKE wildcards are matched literally


def test_visible_site_answers_absent_and_out_of_scope_alike(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        site = sites.visible_site(session, "XA-B-MC", SCOPE_B)
        assert site is not None
        assert site.id == ids["XA-B-MC"]
        assert sites.visible_site(session, "XA-A", SCOPE_B) is None
        assert sites.visible_site(session, "NOPE", SCOPE_B) is None
        assert sites.visible_site_path(session, "XA-A", None) == SCOPE_A
        assert sites.visible_site_path(session, "XA-A", SCOPE_B) is None
        assert sites.visible_site_path(session, "NOPE", None) is None
        session.get_one(Site, ids["XA-B-MC"]).active = False
    with sessions() as session:
        assert sites.visible_site(session, "XA-B-MC", None) is not None
        assert sites.visible_site(session, "XA-B-MC", None, active_only=True) is None


def test_active_sites_in_scope_with_their_parents_codes(store: Any) -> None:
    sessions, ids = store
    with sessions() as session:
        everything = sites.active_sites(session, None)
        assert [(r.site.code, r.parent_code) for r in everything] == [
            ("P", None),
            ("D1", "P"),
            ("XA-A", "D1"),
            ("XA-B", "P"),
            ("XA-B-MC", "XA-B"),
        ]
        scoped = sites.active_sites(session, SCOPE_A)
        # The parent's code is named even though the parent itself is not in scope.
        assert [(r.site.code, r.parent_code) for r in scoped] == [("XA-A", "D1")]
    with sessions.begin() as session:
        session.get_one(Site, ids["XA-B"]).active = False
    with sessions() as session:
        rows = sites.active_sites(session, SCOPE_B)
        assert [(r.site.code, r.parent_code) for r in rows] == [("XA-B-MC", None)]


def test_page_counts_the_whole_listing(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        found = sites.page(session, select(Site.code).order_by(Site.path), limit=2, offset=1)
    assert found.total == 5
    assert [code for (code,) in found.rows] == ["D1", "XA-A"]


def test_events_in_scope_newest_first(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        for n, site_id in enumerate((ids["XA-A"], ids["XA-B"], None, ids["XA-B-MC"])):
            events.record_event(
                session,
                kind="test.odd" if n % 2 else "test.even",
                subject_type="host",
                subject_id=f"h{n}",
                site_id=site_id,
                message=f"event {n}",
                at=T0,
            )
    with sessions() as session:

        def listed(scope_path: str | None, **filters: Any) -> list[tuple[str, str | None]]:
            found = events.list_events(session, scope_path, **filters)
            return [(e.subject_id, code) for e, code in found if e.kind.startswith("test.")]

        assert listed(None) == [("h3", "XA-B-MC"), ("h2", None), ("h1", "XA-B"), ("h0", "XA-A")]
        # Province-wide events (no site) are not in any commune's scope.
        assert listed(SCOPE_B) == [("h3", "XA-B-MC"), ("h1", "XA-B")]
        assert listed(SCOPE_A) == [("h0", "XA-A")]
        assert listed(None, kind="test.odd") == [("h3", "XA-B-MC"), ("h1", "XA-B")]
        assert listed(SCOPE_A, subject_id="h1") == []
        assert listed(None, subject_id="h1") == [("h1", "XA-B")]
        assert listed(None, limit=1) == [("h3", "XA-B-MC")]
        # The sites' own events (added by the sync) are listed too, each under its site.
        added = events.list_events(session, SCOPE_A, kind="site.added")
        assert [(e.subject_id, code) for e, code in added] == [("XA-A", "XA-A")]


def test_tokens_by_secret_hash_and_listed_with_their_site(store: Any) -> None:
    sessions, ids = store
    with sessions.begin() as session:
        officer = create_token(session, role="officer", name="officer A", site_code="XA-A")
        admin = create_token(session, role="admin", name="admin")
    with sessions.begin() as session:
        revoke_token(session, admin.id)
    with sessions() as session:
        row = token_queries.token_by_hash(session, hash_secret(officer.token))
        assert row is not None
        token, path = row
        assert (token.id, token.site_id, path) == (officer.id, ids["XA-A"], SCOPE_A)
        row = token_queries.token_by_hash(session, hash_secret(admin.token))
        assert row is not None
        assert row[1] is None
        assert row[0].revoked_at is not None
        assert token_queries.token_by_hash(session, hash_secret("cgt_unknown")) is None
        listed = [(t.id, code) for t, code in token_queries.list_tokens(session)]
    assert sorted(listed) == sorted([(officer.id, "XA-A"), (admin.id, None)])
