"""The spool database's format and the read-only view of it: the schema, how SQLite reports a corrupt or
full database, and the counters a reader (`status`, `once`) sees without opening the spool for writing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

SPOOL_FILE = "spool.sqlite"
SCHEMA_VERSION = 1
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26

SCHEMA = """
CREATE TABLE pending (
    seq INTEGER PRIMARY KEY,
    collected_at REAL NOT NULL,     -- unix time, for the age bound
    agent_id TEXT NOT NULL,         -- as stamped in the body, re-stamped if enrollment changes it
    body BLOB NOT NULL,             -- gzip of the report's JSON
    size INTEGER NOT NULL           -- len(body), for the size bound
);
CREATE TABLE rejected (
    seq INTEGER PRIMARY KEY,
    rejected_at REAL NOT NULL,
    reason TEXT NOT NULL,           -- the server's problem detail
    body BLOB NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value);
"""
COLUMNS = {
    "pending": ["seq", "collected_at", "agent_id", "body", "size"],
    "rejected": ["seq", "rejected_at", "reason", "body"],
    "meta": ["key", "value"],
}


class SpoolCorrupt(sqlite3.DatabaseError):
    """The spool file is a database, but not ours or not intact."""


def _errorcode(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_corruption(exc: BaseException) -> bool:
    """The error says the file is not a database, or a damaged or foreign one: move it aside."""
    if isinstance(exc, SpoolCorrupt):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = _errorcode(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "file is not a database" in text or "malformed" in text


def is_full(exc: BaseException) -> bool:
    """The error says the disk (or the database's size limit) is full: make room and retry."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = _errorcode(exc)
    return code == _SQLITE_FULL if code is not None else "database or disk is full" in str(exc)


class SpoolCounters(NamedTuple):
    backlog: int  # pending reports
    backlog_bytes: int  # their compressed size
    dropped_total: int
    rejected_total: int
    next_seq: int
    oldest_collected_at: float | None = None


def meta_value(conn: sqlite3.Connection, key: str) -> Any:
    """One value of the `meta` table, None when absent."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def as_int(value: Any) -> int:
    """A stored counter as an int; anything else (missing, corrupt) counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class SpoolSnapshot(NamedTuple):
    """What a reader (`status`, `once`) sees without opening the spool for writing."""

    counters: SpoolCounters
    last_send: dict[str, Any] | None


def read_snapshot(state_dir: Path) -> SpoolSnapshot | None:
    """Counters and last send result, read-only; None if there is no readable spool."""
    path = state_dir / SPOOL_FILE
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return None
    try:
        count, size, max_seq = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(MAX(seq), 0) FROM pending"
        ).fetchone()
        oldest = conn.execute("SELECT collected_at FROM pending ORDER BY seq LIMIT 1").fetchone()
        raw_last = meta_value(conn, "last_send")
        last = json.loads(raw_last) if isinstance(raw_last, str) else None
        counters = SpoolCounters(
            backlog=int(count),
            backlog_bytes=int(size),
            dropped_total=as_int(meta_value(conn, "dropped_total")),
            rejected_total=as_int(meta_value(conn, "rejected_total")),
            next_seq=max(as_int(meta_value(conn, "next_seq")), max_seq + 1, 1),
            oldest_collected_at=oldest[0] if oldest else None,
        )
        return SpoolSnapshot(counters, last if isinstance(last, dict) else None)
    except (sqlite3.Error, ValueError):
        return None
    finally:
        conn.close()
