"""The state store on SQLite and a real PostgreSQL: migrations, types, site sync, tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from canhgac_collector.config import ServerConfig
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import (
    current_revision,
    head_revision,
    make_engine,
    session_factory,
    upgrade,
)
from canhgac_collector.store.models import Base, Event, Host, Site, Token
from canhgac_collector.store.sites import sync_sites
from canhgac_collector.store.tokens import TokenError, create_token, hash_secret, revoke_token
from tests.conftest import site_tree


def test_migrations_build_exactly_the_models_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert {"sites", "hosts", "reports", "tokens", "events"} <= set(inspect(engine).get_table_names())


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _store(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    upgrade(engine)
    return session_factory(engine)


def test_datetimes_come_back_aware_utc(db_url: str) -> None:
    sessions = _store(db_url)
    when = dt.datetime(2026, 11, 22, 14, 40, tzinfo=dt.timezone(dt.timedelta(hours=7)))  # 07:40 UTC
    with sessions.begin() as session:
        ids = sync_sites(session, resolve_tree(ServerConfig(sites=site_tree())))
        session.add(
            Host(
                id="h1",
                machine_id="m1",
                hostname="pc",
                site_id=ids["XA-A"],
                state="up",
                state_changed_at=when,
                enrolled_at=when,
                last_seq=0,
                reports_total=0,
            )
        )
    with sessions() as session:
        host = session.get(Host, "h1")
        assert host is not None
        assert host.state_changed_at == when
        assert host.state_changed_at.tzinfo is not None
        assert host.state_changed_at.utcoffset() == dt.timedelta(0)
    with sessions.begin() as session:
        session.add(
            Event(at=dt.datetime(2026, 1, 1), kind="x", subject_type="host", subject_id="h1", message="m")
        )
        with pytest.raises(Exception, match="naive"):
            session.flush()
        session.rollback()


def test_site_sync_builds_paths_and_retires_removed_sites(db_url: str) -> None:
    sessions = _store(db_url)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(ServerConfig(sites=site_tree())))
    with sessions() as session:
        paths = dict(session.execute(select(Site.code, Site.path)).all())
    assert paths == {
        "P": "/P/",
        "D1": "/P/D1/",
        "XA-A": "/P/D1/XA-A/",
        "XA-B": "/P/XA-B/",
        "XA-B-MC": "/P/XA-B/XA-B-MC/",
    }
    smaller = site_tree()
    smaller[0]["children"] = [c for c in smaller[0]["children"] if c["code"] != "XA-B"]
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(ServerConfig(sites=smaller)))
    with sessions() as session:
        active = dict(session.execute(select(Site.code, Site.active)).all())
        retired = session.scalars(select(Event.subject_id).where(Event.kind == "site.retired")).all()
    assert active["XA-B"] is False
    assert active["XA-B-MC"] is False
    assert active["XA-A"] is True
    assert sorted(retired) == ["XA-B", "XA-B-MC"]


def test_tokens_are_stored_hashed_and_validated(db_url: str) -> None:
    sessions = _store(db_url)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(ServerConfig(sites=site_tree())))
        new = create_token(session, role="officer", name="Cán bộ xã A", site_code="XA-A")
    with sessions() as session:
        stored = session.get(Token, new.id)
        assert stored is not None
        assert stored.secret_sha256 == hash_secret(new.token)
        assert new.token not in str(session.execute(select(Token.__table__)).all())
        audit = session.scalars(select(Event).where(Event.kind == "token.created")).one()
        assert audit.subject_id == new.id
    with sessions.begin() as session:
        with pytest.raises(TokenError, match="needs --site"):
            create_token(session, role="officer", name="x")
        with pytest.raises(TokenError, match="unknown role"):
            create_token(session, role="root", name="x")
        with pytest.raises(TokenError, match="no active site"):
            create_token(session, role="auditor", name="x", site_code="NOPE")
        assert revoke_token(session, new.id)
        assert not revoke_token(session, new.id)
