"""Boot time and uptime (Report.metrics.uptime).

Boot time is read each call, not cached: PCs without a working RTC battery boot with a wrong clock that
NTP later steps, and the kernel's boot time (wall clock minus monotonic uptime) moves with that step.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import psutil

from canhgac_agent.collectors.base import MetricCollector


def collect() -> dict[str, Any]:
    """Return a dict matching `Uptime` (boot time as an ISO 8601 UTC timestamp)."""
    boot = psutil.boot_time()
    return {
        "boot_time": datetime.fromtimestamp(boot, tz=UTC).isoformat(),
        "uptime_s": round(max(0.0, time.time() - boot), 1),
    }


PLUGIN = MetricCollector(name="uptime", collect=collect)
