"""Acceptance: a real agent keeps reporting through a server crash; every report is stored exactly once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import AgentProcess, ServerProcess


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError:
            last = None
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def _host(server: ServerProcess) -> dict[str, Any] | None:
    hosts = server.get("/api/v1/hosts")["hosts"]
    return server.get(f"/api/v1/hosts/{hosts[0]['id']}") if hosts else None


def test_reports_survive_a_server_crash_exactly_once(
    server: ServerProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    agent.start()
    before = _wait(lambda: (h := _host(server)) and h["last_seq"] >= 3 and h, 60, "first reports")
    assert before["state"] == "up"
    assert before["metrics"]["cpu"] is not None

    server.kill()
    outage_started = time.monotonic()
    # The agent keeps collecting while the server is gone: its spool grows.
    _wait(lambda: agent.status()["spool_backlog"] >= 4, 30, "reports spooled during the outage")
    spooled = agent.status()["spool_backlog"]
    assert time.monotonic() - outage_started < 30

    server.start()
    _wait(lambda: agent.status()["spool_backlog"] == 0, 60, "the agent to drain its spool")
    agent.stop()

    status = agent.status()
    produced = status["next_seq"] - 1  # seqs 1..produced were made by this agent
    assert status["spool_dropped_total"] == 0
    assert status["rejected_total"] == 0
    host = _host(server)
    assert host is not None
    assert host["last_seq"] + status["spool_backlog"] == produced  # at most the final cycle is unsent
    assert host["reports_total"] == host["last_seq"]
    assert host["last_seq"] >= before["last_seq"] + spooled

    db = sqlite3.connect(server.config_path.parent / "canhgac.sqlite")
    seqs = [row[0] for row in db.execute("SELECT seq FROM reports ORDER BY seq")]
    assert seqs == list(range(1, host["last_seq"] + 1))  # each once, none missing
    db.close()
