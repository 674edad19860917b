"""`begin_write`: a SQLite transaction that reads inside a savepoint and then writes, while another writer
commits in between, fails at once ("database is locked": its snapshot is stale, the busy timeout does not
apply). The edge polls of a draining spool were lost that way next to the server's maintenance loop;
taking the write lock first makes the other writer wait instead."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from canhgac_collector.store.db import begin_write, make_engine, session_factory


def _read_then_write(tmp_path: Path, take_lock_first: bool) -> int:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (x INTEGER)"))
        c.execute(text("INSERT INTO t VALUES (1)"))
    sessions = session_factory(engine)
    other_done = threading.Event()

    def other_writer() -> None:
        with engine.begin() as c:
            c.execute(text("UPDATE t SET x = x + 1"))
        other_done.set()

    thread = threading.Thread(target=other_writer)
    try:
        with sessions.begin() as session:
            if take_lock_first:
                begin_write(session)
            with session.begin_nested():  # the edge step's per-poll savepoint
                session.execute(text("SELECT x FROM t")).all()
                thread.start()
                if take_lock_first:
                    assert not other_done.wait(0.5)  # it waits for our lock
                else:
                    assert other_done.wait(10)
                session.execute(text("UPDATE t SET x = x + 10"))
        thread.join(15)
        with engine.connect() as c:
            return int(c.execute(text("SELECT x FROM t")).scalar_one())
    finally:
        thread.join(15)
        engine.dispose()


def test_without_the_lock_the_write_after_a_read_fails(tmp_path: Path) -> None:
    with pytest.raises(OperationalError, match="database is locked"):
        _read_then_write(tmp_path, take_lock_first=False)


def test_with_the_lock_both_writes_land(tmp_path: Path) -> None:
    started = time.monotonic()
    assert _read_then_write(tmp_path, take_lock_first=True) == 12
    assert time.monotonic() - started < 10
