"""CPU usage, load average and iowait (Report.metrics.cpu).

Usage is the busy share of CPU time between two calls, computed from one `psutil.cpu_times()` read
(one /proc/stat read on Linux) with psutil's own busy formula. That is what
`psutil.cpu_percent(interval=None)` does, never blocking, but psutil keys its previous sample by the
calling *thread*, so a runner that collects from a worker pool would get a fresh, meaningless 0.0 each
cycle; keeping the sample here makes the figure thread-independent and yields iowait from the same
read. The module primes itself at import, so the first `collect()` covers the time since import (or
since boot when called within the same clock tick).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import psutil

from canhgac_agent.collectors.base import MetricCollector

_COUNT_LOGICAL = psutil.cpu_count(logical=True) or 1
_lock = threading.Lock()
_last = psutil.cpu_times()


def _total(t: Any) -> float:
    # guest time is already included in user/nice on Linux; psutil subtracts it the same way.
    return float(sum(t)) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def _percents(t1: Any, t2: Any) -> tuple[float, float | None] | None:
    """(busy %, iowait %) between two cpu_times samples, or None when no time has elapsed."""
    all_delta = _total(t2) - _total(t1)
    if all_delta <= 0:
        return None
    idle = t2.idle - t1.idle
    iowait = (t2.iowait - t1.iowait) if hasattr(t2, "iowait") else None
    busy = all_delta - idle - (iowait or 0.0)
    busy_pct = min(100.0, max(0.0, busy / all_delta * 100))
    iowait_pct = None if iowait is None else min(100.0, max(0.0, iowait / all_delta * 100))
    return round(busy_pct, 1), (None if iowait_pct is None else round(iowait_pct, 1))


def collect() -> dict[str, Any]:
    """Return a dict matching `CpuMetrics`: usage since the previous call, load averages (Unix)."""
    global _last
    now = psutil.cpu_times()
    with _lock:
        prev, _last = _last, now
    pct = _percents(prev, now)
    if pct is None:  # same clock tick as the previous sample: fall back to the average since boot
        zero = type(now)(*([0.0] * len(now)))
        pct = _percents(zero, now) or (0.0, None)
    result: dict[str, Any] = {"percent": pct[0], "count_logical": _COUNT_LOGICAL, "iowait_percent": pct[1]}
    # os.getloadavg is Unix-only; psutil's Windows emulation would start a sampling thread, so skip it.
    if hasattr(os, "getloadavg"):
        try:
            load1, load5, load15 = os.getloadavg()
        except OSError:
            pass
        else:
            result.update(load_1m=round(load1, 2), load_5m=round(load5, 2), load_15m=round(load15, 2))
    return result


PLUGIN = MetricCollector(name="cpu", collect=collect)
