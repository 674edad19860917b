"""Engine creation and schema migration for the state store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while the ingest writer commits; NORMAL is durable across process crashes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with SQLite tuned for one writer and many readers."""
    kwargs.setdefault("json_serializer", _json_dumps)  # JSON columns: orjson, ~8x the stdlib
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def begin_write(session: Session) -> None:
    """Take the database's write lock at the start of `session`'s transaction (SQLite: BEGIN IMMEDIATE).

    A SQLite transaction that reads and then writes cannot wait for a writer that committed in between
    (its snapshot is stale: "database is locked" at once, the busy timeout never applies). A step that
    reads before it writes, beside other writers (the maintenance loop, the poller), takes the lock first
    and so waits its turn. Other databases lock rows as they go: nothing to do.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (idempotent)."""
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to `revision` (each migration's down step is tested this way)."""
    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


class StoreNotReadyError(RuntimeError):
    """The database is missing, unreachable or not migrated; only `canhgac db upgrade` creates one."""


UPGRADE_HINT = "chạy / run `canhgac db upgrade`"


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a file-backed SQLite database that does not exist, else None."""
    parsed = make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:") or path.startswith("file:"):
        return None  # a server database, memory, or a URI we cannot resolve here
    return None if Path(path).is_file() else path


def open_existing_store(url: str, *, current: bool = True) -> Engine:
    """An engine on a database that exists and was migrated (to this code's schema when `current`).

    Never creates one: a missing SQLite file stays missing (a command run from the wrong folder or with
    the wrong config would otherwise start an empty database and report "nothing found")."""
    missing = _missing_sqlite_file(url)
    if missing is not None:
        raise StoreNotReadyError(f"chưa có cơ sở dữ liệu / no database at {missing}: {UPGRADE_HINT} first")
    shown = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        engine.dispose()
        raise StoreNotReadyError(
            f"không mở được cơ sở dữ liệu / cannot open the database {shown}: {exc.orig}"
        ) from None
    if revision is None:
        engine.dispose()
        raise StoreNotReadyError(
            f"cơ sở dữ liệu / database {shown}: chưa khởi tạo / never migrated; {UPGRADE_HINT}"
        )
    if current and revision != head_revision():
        engine.dispose()
        raise StoreNotReadyError(
            f"cơ sở dữ liệu / database {shown}: khác lược đồ hiện tại / not at the current schema; "
            f"{UPGRADE_HINT} first"
        )
    return engine
