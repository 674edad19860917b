"""What the probe protocols share: bounded calls, result statistics, worker threads."""

from __future__ import annotations

import threading
import time

import pytest

from canhgac_agent import probes
from canhgac_agent.probes import common, summarize
from tests.agent.probes.conftest import valid_probe


def test_bounded_call_times_out() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        probes.run_bounded(lambda: time.sleep(2), 0.1)
    assert time.monotonic() - started < 0.5
    assert probes.run_bounded(lambda: 42, 1.0) == 42
    with pytest.raises(ZeroDivisionError):
        probes.run_bounded(lambda: 1 // 0, 1.0)


def test_summarize_jitter() -> None:
    r = summarize(name="x", kind="icmp", target="h", method="icmp", sent=4, rtts_ms=[1.0, 3.0, 2.0])
    assert (r["received"], r["loss_ratio"], r["jitter_ms"]) == (3, 0.25, 1.5)
    assert (r["rtt_min_ms"], r["rtt_avg_ms"], r["rtt_max_ms"]) == (1.0, 2.0, 3.0)
    one = summarize(name="x", kind="icmp", target="h", method="icmp", sent=1, rtts_ms=[5.0])
    assert one["jitter_ms"] is None
    assert one["ok"]
    valid_probe(r)
    valid_probe(one)


def test_idle_workers_end() -> None:
    pool = common.Workers(idle_s=0.1)
    done = threading.Event()
    pool.submit(done.set)
    assert done.wait(2)
    deadline = time.monotonic() + 3
    while pool._idle and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool._idle == []
    again = threading.Event()
    pool.submit(again.set)  # a new worker is started when none is idle
    assert again.wait(2)
