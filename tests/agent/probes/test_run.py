"""The probe cycle: targets run concurrently, bad targets never raise, workers are reused."""

from __future__ import annotations

import threading
import time

from canhgac_agent import probes
from canhgac_agent.probes import run_probes
from tests.agent.probes.conftest import valid_probe


def test_targets_run_concurrently(tcp_port: int, stalled_port: int, closed_port: int, http_base: str) -> None:
    targets = [
        {"name": f"stalled-{i}", "kind": "tcp", "host": "127.0.0.1", "port": stalled_port} for i in range(3)
    ] + [
        {"name": "live", "kind": "tcp", "host": "127.0.0.1", "port": tcp_port},
        {"name": "closed", "kind": "tcp", "host": "127.0.0.1", "port": closed_port},
        {"name": "portal", "kind": "http", "url": f"{http_base}/"},
        {"name": "dns", "kind": "dns", "host": "localhost"},
    ]
    started = time.monotonic()
    results = run_probes(targets, gateway=False, count=3, timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert [r["name"] for r in results] == [t["name"] for t in targets]
    for r in results:
        valid_probe(r)
    assert elapsed < 0.5 + 3 * probes.ATTEMPT_SPACING_S + 0.5  # about one timeout in all


def test_bad_targets_never_raise() -> None:
    results = run_probes(
        [
            {"name": "no-host", "kind": "tcp", "port": 80},
            {"name": "bad-port", "kind": "tcp", "host": "127.0.0.1", "port": "http"},
            {"name": "no-url", "kind": "http"},
            {"name": "bad-name", "kind": "icmp", "host": "x" * 64 + ".invalid"},  # refused before any query
            {"name": "unknown", "kind": "smtp", "host": "127.0.0.1"},  # unrepresentable: skipped
            "not a dict",  # type: ignore[list-item]
        ],
        gateway=False,
        count=2,
        timeout_s=0.5,
    )
    assert [r["name"] for r in results] == ["no-host", "bad-port", "no-url", "bad-name"]
    for r in results:
        assert not valid_probe(r).ok


def test_worker_threads_are_kept_between_cycles(http_base: str, tcp_port: int) -> None:
    targets = [
        {"name": "portal", "kind": "http", "url": f"{http_base}/"},
        {"name": "dns", "kind": "dns", "host": "localhost"},
        {"name": "dc", "kind": "tcp", "host": "127.0.0.1", "port": tcp_port},  # driven in this thread
    ]

    def workers() -> set[int | None]:
        return {t.ident for t in threading.enumerate() if t.name == "canhgac-probe"}

    for r in run_probes(targets, gateway=False, count=2, timeout_s=1.0):
        assert valid_probe(r).ok
    time.sleep(0.05)  # the workers go back to waiting
    before = workers()
    assert before
    for _ in range(3):
        for r in run_probes(targets, gateway=False, count=2, timeout_s=1.0):
            assert valid_probe(r).ok
        time.sleep(0.05)
    assert workers() == before
