"""TCP connect probes against real local sockets: live, closed and stalled ports, a name."""

from __future__ import annotations

import time

from canhgac_agent import probes
from canhgac_agent.probes import run_probes
from tests.agent.probes.conftest import valid_probe


def test_tcp_live_port(tcp_port: int) -> None:
    [result] = run_probes([{"name": "dc", "kind": "tcp", "host": "127.0.0.1", "port": tcp_port}],
                          gateway=False, count=4, timeout_s=1.0)  # fmt: skip
    r = valid_probe(result)
    assert (r.kind, r.method, r.target) == ("tcp", "tcp", f"127.0.0.1:{tcp_port}")
    assert (r.sent, r.received, r.loss_ratio, r.ok, r.error) == (4, 4, 0.0, True, None)
    assert r.rtt_min_ms is not None
    assert r.rtt_avg_ms is not None
    assert r.rtt_max_ms is not None
    assert r.rtt_min_ms <= r.rtt_avg_ms <= r.rtt_max_ms
    assert r.jitter_ms is not None


def test_tcp_closed_port(closed_port: int) -> None:
    [result] = run_probes([{"name": "down", "kind": "tcp", "host": "127.0.0.1", "port": closed_port}],
                          gateway=False, count=3, timeout_s=1.0)  # fmt: skip
    r = valid_probe(result)
    assert (r.sent, r.received, r.loss_ratio, r.ok) == (3, 0, 1.0, False)
    assert r.rtt_avg_ms is None
    assert r.error is not None
    assert "refused" in r.error.lower()


def test_tcp_timeout_costs_one_timeout_not_count_times(stalled_port: int) -> None:
    started = time.monotonic()
    [result] = run_probes([{"name": "stalled", "kind": "tcp", "host": "127.0.0.1", "port": stalled_port}],
                          gateway=False, count=4, timeout_s=0.5)  # fmt: skip
    elapsed = time.monotonic() - started
    r = valid_probe(result)
    assert (r.received, r.loss_ratio, r.ok) == (0, 1.0, False)
    assert r.error is not None
    assert "timed out" in r.error
    assert elapsed < 0.5 + 4 * probes.ATTEMPT_SPACING_S + 0.4  # not 4 x 0.5 s


def test_tcp_to_localhost_name(tcp_port: int) -> None:
    [result] = run_probes([{"name": "n", "kind": "tcp", "host": "localhost", "port": tcp_port}],
                          gateway=False, count=1, timeout_s=1.0)  # fmt: skip
    # "localhost" may resolve to ::1 first, where nothing listens: either way a valid, bounded result.
    valid_probe(result)
