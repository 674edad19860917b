"""The spool's queue storage: `<state_dir>/spool.sqlite` (WAL, synchronous=NORMAL) holds the `pending`
reports (gzip'd JSON, oldest seq first), the `rejected` reports the server refused individually, and
`meta` counters (`next_seq`, `dropped_total`, `rejected_total`) plus the last send result.

Seqs are reserved in `state.json` (see `state.py`) a block ahead before any of them is used, so the seq
stays monotonic even if the spool is lost or found corrupt. `spool.reserve` is a small ballast file: a
WAL database on a full disk can wedge (the checkpoint needs to grow the database, the delete that would
make room needs to grow the WAL); releasing the ballast un-wedges it, after which the spool reuses its
own free pages instead of growing.

A corrupt spool (not a database, malformed, foreign schema) is moved aside to
`spool.sqlite.corrupt-<UTC time>` and a fresh one started; the agent keeps running either way.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from canhgac_agent.config import MiB, fields
from canhgac_agent.spool.db import (
    COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    SPOOL_FILE,
    SpoolCorrupt,
    SpoolCounters,
    as_int,
    is_corruption,
    is_full,
    meta_value,
)
from canhgac_agent.spool.state import StateFile, utc_stamp

RESERVE_FILE = "spool.reserve"
REJECTED_KEEP = 200  # rejected reports kept for inspection; rejected_total counts them all
SEQ_BLOCK = 64  # seqs reserved in state.json at a time (one fsync'd rewrite per block)
WAL_AUTOCHECKPOINT_PAGES = 128
DEFAULT_RESERVE_BYTES = 1 * MiB

_log = logging.getLogger("canhgac_agent.spool")  # the name log lines have always carried
T = TypeVar("T")


# --- the spool -------------------------------------------------------------------------------------


class Pending(NamedTuple):
    """One spooled report as the sender takes it."""

    seq: int
    body: bytes  # gzip'd JSON
    size: int

    def json_bytes(self) -> bytes:
        return gzip.decompress(self.body)


class Spool:
    """The on-disk queue of reports, bounded by `max_bytes` (compressed) and `max_age_s`.

    Single writer (the `run` process); `read_snapshot()` serves readers such as `status`. No method
    raises for a corrupt spool or a full disk: the first is replaced, the second drops oldest reports.
    """

    def __init__(
        self,
        state_dir: Path,
        state: StateFile,
        *,
        max_bytes: int = 64 * MiB,
        max_age_s: float = 14 * 86400.0,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state_dir = state_dir
        self.path = state_dir / SPOOL_FILE
        self.state = state
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.reserve_bytes = reserve_bytes
        self.clock = clock
        self._conn: sqlite3.Connection | None = None
        self._count = 0
        self._bytes = 0
        self._next_seq = 1
        self._unsaved_drops = 0  # drops counted while even the counter could not be written
        self._low_disk = False
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._open()

    # -- opening, corruption ---------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._open()
        assert self._conn is not None
        return self._conn

    def _open(self) -> None:
        try:
            self._conn = self._connect()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._move_aside(exc)
            self._conn = self._connect()
        self._ensure_reserve()

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))  # reports hold host facts
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute("PRAGMA cache_size=-256")  # KiB; appends and head reads need no more (RSS budget)
            check = conn.execute("PRAGMA quick_check(1)").fetchone()
            if not check or check[0] != "ok":
                raise SpoolCorrupt(f"quick_check: {check[0] if check else 'no answer'}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if version == 0 and not tables:
                self._create(conn)
            elif version != SCHEMA_VERSION:
                raise SpoolCorrupt(f"schema version {version}, expected {SCHEMA_VERSION}")
            else:
                for table, columns in COLUMNS.items():
                    found = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
                    if found != columns:
                        raise SpoolCorrupt(f"table {table} has columns {found}, expected {columns}")
            self._load(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _create(self, conn: sqlite3.Connection) -> None:
        # A fresh spool (first start, or after corruption) continues the seq and counters from state.json.
        start = self.state.seq_high_water + 1
        dropped = as_int(self.state.get("dropped_total"))
        rejected = as_int(self.state.get("rejected_total"))
        conn.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("next_seq", start), ("dropped_total", dropped), ("rejected_total", rejected)],
        )
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")

    def _load(self, conn: sqlite3.Connection) -> None:
        count, size, max_pending = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(MAX(seq), 0) FROM pending"
        ).fetchone()
        max_rejected = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM rejected").fetchone()[0]
        meta_next = as_int(meta_value(conn, "next_seq"))
        self._count, self._bytes = int(count), int(size)
        # After a power cut, synchronous=NORMAL may have lost the last commits: state.json (fsync'd
        # before a block of seqs is used) holds a mark at or above the highest seq handed out.
        self._next_seq = max(meta_next, self.state.seq_high_water + 1, max_pending + 1, max_rejected + 1, 1)

    def _move_aside(self, exc: BaseException) -> None:
        dest = self.path.with_name(f"{self.path.name}.corrupt-{utc_stamp()}")
        n = 1
        while dest.exists():
            dest = self.path.with_name(f"{self.path.name}.corrupt-{utc_stamp()}-{n}")
            n += 1
        os.replace(self.path, dest)
        wal = Path(f"{self.path}-wal")
        if wal.exists():
            os.replace(wal, Path(f"{dest}-wal"))  # keeps the pair openable for a post-mortem
        with contextlib.suppress(FileNotFoundError):
            Path(f"{self.path}-shm").unlink()
        _log.error(
            "spool is corrupt: moved it aside and started a new one; its pending reports are not sent",
            extra=fields(path=str(self.path), moved_to=str(dest), error=str(exc)),
        )

    def _recover(self, exc: BaseException) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        self._move_aside(exc)
        self._conn = self._connect()

    def _guarded(self, op: Callable[[], T]) -> T:
        """Run `op`; if the spool turns out corrupt, replace it and run `op` once more on the new one."""
        try:
            return op()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._recover(exc)
            return op()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    # -- seq ---------------------------------------------------------------------------------------

    def allocate_seq(self) -> int:
        """The next seq, at or below the high-water mark recorded in state.json (fsync'd) before anyone
        can use it.

        The mark is reserved a block ahead (`SEQ_BLOCK`), so state.json is rewritten once per block
        (and whenever the dropped/rejected counters it mirrors changed), not once per report. After a
        crash or a lost spool the agent continues above the mark: a gap in the seqs, which the server
        accepts (it needs them increasing, not dense); never a seq used twice.
        """
        seq = self._next_seq
        self._next_seq += 1
        state = self.state
        reserve = seq > state.seq_high_water
        counters = self.counters()
        if (
            reserve
            or state.get("dropped_total") != counters.dropped_total
            or state.get("rejected_total") != counters.rejected_total
        ):
            try:
                state.update(
                    seq_high_water=seq + SEQ_BLOCK - 1 if reserve else seq,
                    dropped_total=counters.dropped_total,
                    rejected_total=counters.rejected_total,
                )
            except OSError as exc:  # e.g. disk full: the spool's own next_seq still guards monotonicity
                _log.warning("cannot record seq in state file", extra=fields(seq=seq, error=str(exc)))
        return seq

    def ensure_seq_above(self, seq: int) -> None:
        """Continue after `seq` (the server's `last_seq`, e.g. after a reinstall on a known machine)."""
        if seq < self._next_seq:
            return
        _log.info("server already has this seq; continuing after it", extra=fields(last_seq=seq))
        self._next_seq = seq + 1
        with contextlib.suppress(OSError):
            self.state.update(seq_high_water=seq)

        def op() -> None:
            with self._tx() as conn:
                conn.execute("UPDATE meta SET value = max(value, ?) WHERE key = 'next_seq'", (seq + 1,))

        with contextlib.suppress(sqlite3.OperationalError):
            self._guarded(op)

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def backlog(self) -> int:
        """Pending reports (kept in memory: no query)."""
        return self._count

    # -- writing -----------------------------------------------------------------------------------

    def add(self, seq: int, report: Mapping[str, Any], collected_at: float | None = None) -> bool:
        """Store one report. False if it could not be kept (too big, disk full): then counted as dropped."""
        body = _encode(report)
        agent_id = str(report.get("agent_id", ""))
        at = self.clock() if collected_at is None else collected_at
        return self._guarded(lambda: self._add(seq, agent_id, at, body))

    def _add(self, seq: int, agent_id: str, collected_at: float, body: bytes) -> bool:
        self._next_seq = max(self._next_seq, seq + 1)  # never hand out a seq that is in the spool
        size = len(body)
        if size > self.max_bytes:
            self._count_drops(1)
            _log.error("report larger than spool.max_bytes; dropped", extra=fields(seq=seq, bytes=size))
            return False
        try:
            self._with_room(self._expire)
            if self._bytes + size > self.max_bytes:
                excess = self._bytes + size - self.max_bytes
                self._with_room(lambda: self._drop_oldest(excess, "spool.max_bytes reached"))
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise  # a full disk is handled below, around the insert
        free = self._disk_free()
        low_disk = free < self.reserve_bytes
        if low_disk != self._low_disk:
            self._low_disk = low_disk
            if low_disk:
                _log.error(
                    "disk almost full: the spool stops growing and drops its oldest reports to make room",
                    extra=fields(path=str(self.state_dir), free_bytes=free, backlog=self._count),
                )
            else:
                _log.info("disk space is back; the spool may grow again", extra=fields(free_bytes=free))
        if low_disk:
            self._stay_within_file(size)
        for attempt in range(4):
            try:
                with self._tx() as conn:
                    conn.execute(
                        "INSERT INTO pending (seq, collected_at, agent_id, body, size)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (seq, collected_at, agent_id, body, size),
                    )
                    conn.execute("UPDATE meta SET value = max(value, ?) WHERE key = 'next_seq'", (seq + 1,))
                    if self._unsaved_drops:
                        conn.execute(
                            "UPDATE meta SET value = value + ? WHERE key = 'dropped_total'",
                            (self._unsaved_drops,),
                        )
                self._unsaved_drops = 0
                self._count += 1
                self._bytes += size
                if low_disk:
                    self._checkpoint()
                else:
                    self._ensure_reserve()
                return True
            except sqlite3.OperationalError as exc:
                if not is_full(exc):
                    raise
                if attempt == 0:
                    _log.error(
                        "disk full while spooling: dropping oldest reports to make room",
                        extra=fields(path=str(self.path), error=str(exc), backlog=self._count),
                    )
                self._make_room(max(4 * size, 64 * 1024))
        self._unsaved_drops += 1
        _log.error(
            "disk full: could not spool this report even after dropping older ones; it is lost",
            extra=fields(seq=seq, path=str(self.path)),
        )
        return False

    def _disk_free(self) -> int:
        try:
            st = os.statvfs(self.state_dir)  # not shutil: it imports bz2/lzma (~1 MB RSS)
            return st.f_bavail * st.f_frsize
        except OSError:
            return 1 << 62

    def _ensure_reserve(self) -> None:
        """(Re)create the ballast once there is comfortably room for it."""
        reserve = self.state_dir / RESERVE_FILE
        if self.reserve_bytes <= 0 or reserve.exists() or self._disk_free() < 4 * self.reserve_bytes:
            return
        try:
            with open(reserve, "wb") as f:
                f.write(b"\0" * self.reserve_bytes)  # real blocks, not a sparse hole
        except OSError:
            with contextlib.suppress(OSError):
                reserve.unlink()

    def _release_reserve(self) -> bool:
        try:
            (self.state_dir / RESERVE_FILE).unlink()
        except FileNotFoundError:
            return False
        _log.warning("disk full: released the spool's reserve file", extra=fields(path=str(self.state_dir)))
        return True

    def _checkpoint(self) -> bool:
        try:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.OperationalError:
            return False
        return True

    def _with_room(self, op: Callable[[], T]) -> T:
        """Run a small write; on SQLITE_FULL checkpoint (releasing the reserve if need be) and retry once."""
        try:
            return op()
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            if not self._checkpoint() and self._release_reserve():
                self._checkpoint()
            return op()

    def _make_room(self, nbytes: int) -> None:
        """After SQLITE_FULL: checkpoint, drop oldest; if even that cannot be written, release the reserve."""
        if not self._checkpoint() and self._release_reserve():
            self._checkpoint()
        try:
            self._drop_oldest(nbytes, "disk full")
        except sqlite3.OperationalError as exc:
            if not is_full(exc) or not self._release_reserve():
                return
            self._checkpoint()
            with contextlib.suppress(sqlite3.OperationalError):
                self._drop_oldest(nbytes, "disk full")

    def _stay_within_file(self, size: int) -> None:
        """Low on disk: free enough pages inside the database that this insert need not grow the file."""
        conn = self.conn
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        needed = size // page_size + 3
        for _ in range(8):
            if self._count == 0 or conn.execute("PRAGMA freelist_count").fetchone()[0] >= needed:
                return
            try:
                self._drop_oldest(needed * page_size, "disk almost full")
            except sqlite3.OperationalError as exc:
                if not is_full(exc):
                    raise
                self._make_room(needed * page_size)
            self._checkpoint()

    def _expire(self) -> None:
        cutoff = self.clock() - self.max_age_s
        conn = self.conn
        oldest = conn.execute("SELECT collected_at FROM pending ORDER BY seq LIMIT 1").fetchone()
        if oldest is None or oldest[0] >= cutoff:
            return
        with self._tx() as conn:
            n, size = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM pending WHERE collected_at < ?", (cutoff,)
            ).fetchone()
            conn.execute("DELETE FROM pending WHERE collected_at < ?", (cutoff,))
            conn.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_total'", (n,))
        self._count -= n
        self._bytes -= size
        _log.warning(
            "dropped reports older than spool.max_age_s",
            extra=fields(dropped=n, max_age_s=self.max_age_s, backlog=self._count),
        )

    def _drop_oldest(self, nbytes: int, reason: str) -> int:
        """Delete the oldest reports until at least `nbytes` (compressed) are gone; at least one."""
        conn = self.conn
        freed = dropped = 0
        last = 0
        while freed < nbytes:
            rows = conn.execute(
                "SELECT seq, size FROM pending WHERE seq > ? ORDER BY seq LIMIT 256", (last,)
            ).fetchall()
            if not rows:
                break
            for seq, size in rows:
                freed += size
                dropped += 1
                last = seq
                if freed >= nbytes:
                    break
        if not dropped:
            return 0
        with self._tx() as conn:
            conn.execute("DELETE FROM pending WHERE seq <= ?", (last,))
            conn.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_total'", (dropped,))
        self._count -= dropped
        self._bytes -= freed
        _log.warning(
            "spool bound: dropped oldest reports",
            extra=fields(reason=reason, dropped=dropped, bytes=freed, up_to_seq=last, backlog=self._count),
        )
        return dropped

    def _count_drops(self, n: int) -> None:
        try:
            with self._tx() as conn:
                conn.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_total'", (n,))
        except sqlite3.OperationalError:
            self._unsaved_drops += n

    # -- reading and acknowledging -----------------------------------------------------------------

    def peek(self, limit: int, max_bytes: int = 1 * MiB) -> list[Pending]:
        """The oldest pending reports, at most `limit` and `max_bytes` compressed (but at least one)."""

        def op() -> list[Pending]:
            out: list[Pending] = []
            total = 0
            for seq, body, size in self.conn.execute(
                "SELECT seq, body, size FROM pending ORDER BY seq LIMIT ?", (max(1, limit),)
            ):
                if out and total + size > max_bytes:
                    break
                out.append(Pending(seq, bytes(body), size))
                total += size
            return out

        return self._guarded(op)

    def delete(self, seqs: Iterable[int]) -> int:
        """Remove acknowledged reports; returns how many were pending."""
        wanted = sorted(set(seqs))
        if not wanted:
            return 0

        def delete_chunk(chunk: list[int]) -> int:
            marks = ",".join("?" * len(chunk))
            with self._tx() as conn:
                n, size = conn.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM pending WHERE seq IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchone()
                conn.execute(f"DELETE FROM pending WHERE seq IN ({marks})", chunk)  # noqa: S608
            self._count -= n
            self._bytes -= size
            return int(n)

        def op() -> int:
            # Small transactions: on a full disk each must fit in the WAL space already allocated.
            done = 0
            for i in range(0, len(wanted), 64):
                try:
                    done += self._with_room(functools.partial(delete_chunk, wanted[i : i + 64]))
                except sqlite3.OperationalError as exc:
                    if not is_full(exc):
                        raise
                    _log.error(
                        "disk full: cannot remove acknowledged reports; they stay and will be resent",
                        extra=fields(path=str(self.path), error=str(exc)),
                    )
                    break
            return done

        return self._guarded(op)

    def reject(self, seq: int, reason: str) -> bool:
        """Set a report the server refused aside (never retried) and count it."""

        def op() -> bool:
            with self._tx() as conn:
                row = conn.execute("SELECT body, size FROM pending WHERE seq = ?", (seq,)).fetchone()
                if row is None:
                    return False
                conn.execute(
                    "INSERT OR REPLACE INTO rejected (seq, rejected_at, reason, body) VALUES (?, ?, ?, ?)",
                    (seq, self.clock(), reason[:8192], row[0]),
                )
                conn.execute("DELETE FROM pending WHERE seq = ?", (seq,))
                conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'rejected_total'")
                conn.execute(
                    "DELETE FROM rejected WHERE seq NOT IN"
                    " (SELECT seq FROM rejected ORDER BY seq DESC LIMIT ?)",
                    (REJECTED_KEEP,),
                )
            self._count -= 1
            self._bytes -= row[1]
            return True

        try:
            done = self._guarded(lambda: self._with_room(op))
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            _log.error("disk full: cannot set a refused report aside", extra=fields(seq=seq, error=str(exc)))
            return False
        if done:
            _log.error("server refused a report; set it aside", extra=fields(seq=seq, reason=reason[:500]))
        return done

    def rejected(self) -> list[tuple[int, str, bytes]]:
        """Set-aside reports: (seq, reason, JSON body)."""
        rows = self._guarded(
            lambda: self.conn.execute("SELECT seq, reason, body FROM rejected ORDER BY seq").fetchall()
        )
        return [(seq, reason, gzip.decompress(body)) for seq, reason, body in rows]

    def restamp(self, agent_id: str) -> int:
        """Rewrite `agent_id` in pending reports made under another id (e.g. before enrollment)."""

        def op() -> int:
            rows = self.conn.execute(
                "SELECT seq, body FROM pending WHERE agent_id != ?", (agent_id,)
            ).fetchall()
            with self._tx() as conn:
                for seq, body in rows:
                    report = json.loads(gzip.decompress(body))
                    report["agent_id"] = agent_id
                    new = _encode(report)
                    conn.execute(
                        "UPDATE pending SET agent_id = ?, body = ?, size = ? WHERE seq = ?",
                        (agent_id, new, len(new), seq),
                    )
            if rows:
                self._bytes = self.conn.execute("SELECT COALESCE(SUM(size), 0) FROM pending").fetchone()[0]
                _log.info("re-stamped spooled reports with the agent id", extra=fields(reports=len(rows)))
            return len(rows)

        return self._guarded(op)

    # -- counters and bookkeeping ------------------------------------------------------------------

    def counters(self) -> SpoolCounters:
        def op() -> SpoolCounters:
            conn = self.conn
            oldest = conn.execute("SELECT collected_at FROM pending ORDER BY seq LIMIT 1").fetchone()
            meta = dict(conn.execute(_COUNTERS_QUERY).fetchall())
            return SpoolCounters(
                backlog=self._count,
                backlog_bytes=self._bytes,
                dropped_total=as_int(meta.get("dropped_total")) + self._unsaved_drops,
                rejected_total=as_int(meta.get("rejected_total")),
                next_seq=self._next_seq,
                oldest_collected_at=oldest[0] if oldest else None,
            )

        return self._guarded(op)

    def set_last_send(self, outcome: Mapping[str, Any]) -> None:
        """Remember the last send result for `canhgac-agent status` (best effort)."""
        text = json.dumps(outcome, separators=(",", ":"))

        def op() -> None:
            with self._tx() as conn:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_send', ?)", (text,))

        with contextlib.suppress(sqlite3.OperationalError):
            self._guarded(op)


def _encode(report: Mapping[str, Any]) -> bytes:
    raw = json.dumps(report, separators=(",", ":"), ensure_ascii=False).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


_COUNTERS_QUERY = "SELECT key, value FROM meta WHERE key IN ('dropped_total', 'rejected_total')"
