"""The spool and state.json on a real filesystem: order, seq monotonicity across restarts, lost and
corrupt spools, size and age bounds, a full disk."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from canhgac_agent.spool import SEQ_BLOCK, SPOOL_FILE, STATE_FILE, Spool, StateFile, read_snapshot
from tests.agent.conftest import AgentDir, make_report


def _open(path: Path, **kwargs: Any) -> Spool:
    return Spool(path, StateFile(path / STATE_FILE), **kwargs)


def _padded(seq: int, nbytes: int = 1500) -> dict[str, object]:
    # Incompressible padding (hex of random bytes) so sizes are predictable after gzip.
    return make_report(seq, errors=[{"collector": "pad", "error": os.urandom(nbytes // 2).hex()}])


def _fill(spool: Spool, n: int, nbytes: int = 1500, durable: bool = False) -> list[int]:
    """Spool `n` reports. Unless `durable`, takes seqs without `allocate_seq()` (which records them in
    state.json) where that is not what the test is about."""
    seqs = []
    for _ in range(n):
        seq = spool.allocate_seq() if durable else spool.next_seq
        spool.add(seq, _padded(seq, nbytes))
        seqs.append(seq)
    return seqs


def test_reports_come_out_in_seq_order_within_limits(agent_dir: AgentDir) -> None:
    seqs = agent_dir.add(10)
    assert seqs == list(range(1, 11))
    batch = agent_dir.spool.peek(4)
    assert [p.seq for p in batch] == [1, 2, 3, 4]
    assert json.loads(batch[0].json_bytes())["seq"] == 1
    three = sum(p.size for p in batch[:3])
    assert [p.seq for p in agent_dir.spool.peek(100, max_bytes=three)] == [1, 2, 3]
    assert [p.seq for p in agent_dir.spool.peek(100, max_bytes=1)] == [1]  # always at least one
    assert agent_dir.spool.delete([2, 3, 99]) == 2
    assert [p.seq for p in agent_dir.spool.peek(100)] == [1, 4, 5, 6, 7, 8, 9, 10]
    assert agent_dir.spool.counters().backlog == 8


def test_seq_is_monotonic_across_restart_even_if_a_seq_was_never_spooled(tmp_path: Path) -> None:
    spool = _open(tmp_path)
    for _ in range(3):
        seq = spool.allocate_seq()
        spool.add(seq, make_report(seq))
    assert spool.allocate_seq() == 4  # handed out, then the process "crashes" before spooling it
    spool.close()
    # state.json reserved a whole block before seq 1 was used.
    assert json.loads((tmp_path / STATE_FILE).read_text())["seq_high_water"] == SEQ_BLOCK

    spool = _open(tmp_path)
    assert spool.allocate_seq() == SEQ_BLOCK + 1  # above the reserved block: a gap, never a reuse
    assert [p.seq for p in spool.peek(10)] == [1, 2, 3]
    spool.close()
    assert json.loads((tmp_path / STATE_FILE).read_text())["seq_high_water"] == 2 * SEQ_BLOCK


def test_state_json_is_written_once_per_block_of_seqs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = _open(tmp_path)
    path = tmp_path / STATE_FILE
    writes: list[int] = []
    real_write = spool.state._write

    def counting_write(data: Any) -> None:
        writes.append(data["seq_high_water"])
        real_write(data)

    monkeypatch.setattr(spool.state, "_write", counting_write)
    for _ in range(3 * SEQ_BLOCK):
        seq = spool.allocate_seq()
        spool.add(seq, make_report(seq))
        assert StateFile(path).seq_high_water >= seq  # the mark on disk covers every seq handed out
    assert writes == [SEQ_BLOCK, 2 * SEQ_BLOCK, 3 * SEQ_BLOCK]
    assert b"\n " not in path.read_bytes()  # compact JSON
    spool.close()


def test_seq_survives_a_power_cut_that_lost_the_last_spool_commits(tmp_path: Path) -> None:
    spool = _open(tmp_path)
    seqs = _fill(spool, 10, durable=True)
    spool.close()
    # synchronous=NORMAL may lose the newest commits (and the next_seq counter) on a power cut; the
    # lost reports may already have reached the server, so their seqs must not be reused.
    conn = sqlite3.connect(tmp_path / SPOOL_FILE)
    conn.execute("DELETE FROM pending WHERE seq > 5")
    conn.execute("UPDATE meta SET value = 6 WHERE key = 'next_seq'")
    conn.commit()
    conn.close()
    spool = _open(tmp_path)
    seq = spool.allocate_seq()
    assert seq > max(seqs)
    assert seq == SEQ_BLOCK + 1
    spool.close()


def test_state_json_follows_drop_counters_within_a_block(tmp_path: Path) -> None:
    spool = _open(tmp_path, max_bytes=6000)
    _fill(spool, 6, durable=True)  # the size bound drops the oldest
    dropped = spool.counters().dropped_total
    assert dropped > 0
    spool.allocate_seq()  # mid-block: rewritten anyway, because the counter moved
    assert json.loads((tmp_path / STATE_FILE).read_text())["dropped_total"] == dropped
    spool.close()


def test_seq_continues_from_state_json_when_the_spool_is_lost(tmp_path: Path) -> None:
    spool = _open(tmp_path)
    _fill(spool, 7, durable=True)
    spool.close()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            (tmp_path / f"{SPOOL_FILE}{suffix}").unlink()
    spool = _open(tmp_path)
    assert spool.counters().backlog == 0
    assert spool.allocate_seq() == SEQ_BLOCK + 1
    spool.close()


@pytest.mark.parametrize("damage", ["garbage", "malformed_page", "foreign_schema"])
def test_corrupt_spool_is_moved_aside_and_seq_stays_monotonic(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    spool = _open(tmp_path)
    _fill(spool, 60, durable=True)  # several pages, so a damaged middle page is not the header
    spool.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    spool.close()
    db = tmp_path / SPOOL_FILE
    if damage == "garbage":
        db.write_bytes(os.urandom(64 * 1024))
    elif damage == "malformed_page":
        with open(db, "r+b") as f:
            f.seek(4096 * 5)
            f.write(os.urandom(4096 * 3))
    else:
        db.unlink()
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE pending (x TEXT)")
        conn.commit()
        conn.close()

    with caplog.at_level(logging.ERROR, logger="canhgac_agent.spool"):
        spool = _open(tmp_path)
    moved = sorted(tmp_path.glob(f"{SPOOL_FILE}.corrupt-*"))
    assert len(moved) == 1, list(tmp_path.iterdir())
    assert moved[0].name.endswith("Z")
    lines = [r for r in caplog.records if "corrupt" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].kv["path"] == str(db)  # type: ignore[attr-defined]
    assert lines[0].kv["error"]  # type: ignore[attr-defined]
    # A fresh, working spool that never reuses a seq.
    seq = spool.allocate_seq()
    assert seq == SEQ_BLOCK + 1  # 60 were used; state.json had reserved up to SEQ_BLOCK
    assert spool.add(seq, make_report(seq))
    assert [p.seq for p in spool.peek(10)] == [seq]
    spool.close()


def test_size_bound_drops_oldest_and_counts(tmp_path: Path) -> None:
    spool = _open(tmp_path, max_bytes=20_000)
    _fill(spool, 40, durable=True)
    c = spool.counters()
    assert c.backlog_bytes <= 20_000
    assert c.dropped_total + c.backlog == 40
    assert c.dropped_total > 0
    seqs = [p.seq for p in spool.peek(1000)]
    assert seqs == list(range(41 - c.backlog, 41))  # the newest survive, contiguous
    spool.close()
    assert json.loads((tmp_path / STATE_FILE).read_text())["dropped_total"] > 0  # mirrored


def test_age_bound_drops_old_reports_and_counts(tmp_path: Path) -> None:
    now = [1_000_000.0]
    spool = _open(tmp_path, max_age_s=3600, clock=lambda: now[0])
    _fill(spool, 5)
    now[0] += 1800
    _fill(spool, 3)
    now[0] += 2000  # the first five are now 3800 s old, the next three 2000 s
    _fill(spool, 1)
    c = spool.counters()
    assert (c.backlog, c.dropped_total) == (4, 5)
    assert [p.seq for p in spool.peek(10)] == [6, 7, 8, 9]
    spool.close()


def test_rejected_reports_are_set_aside_and_counted(agent_dir: AgentDir) -> None:
    agent_dir.add(3)
    assert agent_dir.spool.reject(2, "422 Unprocessable Content: [reports.0.seq: bad]")
    assert not agent_dir.spool.reject(2, "again")  # already gone from pending
    assert [p.seq for p in agent_dir.spool.peek(10)] == [1, 3]
    ((seq, reason, body),) = agent_dir.spool.rejected()
    assert seq == 2
    assert "422" in reason
    assert json.loads(body)["seq"] == 2
    assert agent_dir.spool.counters().rejected_total == 1


def test_restamp_rewrites_agent_id_of_reports_made_before_enrollment(agent_dir: AgentDir) -> None:
    agent_dir.add(3, agent_id="unenrolled")
    assert agent_dir.spool.restamp("agent-9") == 3
    assert agent_dir.spool.restamp("agent-9") == 0
    assert {json.loads(p.json_bytes())["agent_id"] for p in agent_dir.spool.peek(10)} == {"agent-9"}


def test_snapshot_reads_counters_while_the_writer_is_open(agent_dir: AgentDir) -> None:
    agent_dir.add(4)
    agent_dir.spool.set_last_send({"result": "retry", "http_status": 503})
    snap = read_snapshot(agent_dir.path)
    assert snap is not None
    assert (snap.counters.backlog, snap.counters.next_seq) == (4, 5)
    assert snap.last_send == {"result": "retry", "http_status": 503}
    assert read_snapshot(agent_dir.path / "nowhere") is None


@pytest.fixture(params=["tmpfs", "page_limit"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | None]:
    """A 2 MiB tmpfs (needs root; without it this falls back to the other way), or None: the test then
    caps the database with `max_page_count`, which makes SQLite raise the same SQLITE_FULL."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = False
    if request.param == "tmpfs" and os.geteuid() == 0:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=2m", f"canhgac-test-{uuid.uuid4().hex[:6]}", str(mnt)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
    try:
        yield mnt if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(mnt)], check=True)  # lazy: a failed test may hold files


def test_full_disk_drops_oldest_and_keeps_spooling(
    small_disk: Path | None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="canhgac_agent.spool")
    if small_disk is not None:
        spool = _open(small_disk / "state", reserve_bytes=256 * 1024)
    else:
        spool = _open(tmp_path / "state")
        pages = spool.conn.execute("PRAGMA page_count").fetchone()[0]
        spool.conn.execute(f"PRAGMA max_page_count = {pages + 300}")  # ~1.2 MiB

    # 1) The spool alone fills the disk (~2.9 MB of reports for a 2 MiB disk).
    try:
        _check_full_disk(spool, small_disk, caplog)
    finally:
        spool.close()


def _check_full_disk(spool: Spool, small_disk: Path | None, caplog: pytest.LogCaptureFixture) -> None:
    _fill(spool, 1000, nbytes=3000)
    c = spool.counters()
    assert c.dropped_total > 0
    assert c.backlog + c.dropped_total == 1000
    seqs = [p.seq for p in spool.peek(10_000, 1 << 40)]
    assert seqs == list(range(1001 - c.backlog, 1001))
    assert any(r.levelno == logging.ERROR and "disk" in r.getMessage() for r in caplog.records)

    # 2) Something else fills the rest of the disk (logs filling /var): still no exception, newest kept.
    if small_disk is not None:
        with contextlib.suppress(OSError), open(small_disk / "filler", "wb") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
    _fill(spool, 300, nbytes=3000)
    c = spool.counters()
    assert c.backlog > 100
    assert c.backlog + c.dropped_total == 1300
    seqs = [p.seq for p in spool.peek(10_000, 1 << 40)]
    assert seqs == list(range(1301 - c.backlog, 1301))

    # 3) The sender drains what it can; new reports fit in the freed room without dropping.
    spool.delete(seqs[: len(seqs) // 2])
    dropped = c.dropped_total
    _fill(spool, 20, nbytes=3000)
    assert spool.counters().dropped_total == dropped
