"""Physical memory and swap (Report.metrics.memory)."""

from __future__ import annotations

from typing import Any

import psutil

from canhgac_agent.collectors.base import MetricCollector


def _pct(value: float) -> float:
    return round(min(100.0, max(0.0, value)), 1)


def collect() -> dict[str, Any]:
    """Return a dict matching `MemoryMetrics`."""
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    return {
        "total_bytes": vm.total,
        "available_bytes": vm.available,
        "used_bytes": vm.used,
        "percent": _pct(vm.percent),
        "swap_total_bytes": sw.total,
        "swap_used_bytes": sw.used,
        "swap_percent": _pct(sw.percent),
    }


PLUGIN = MetricCollector(name="memory", collect=collect)
