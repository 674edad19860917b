"""Temperatures, fans and battery where psutil exposes them (Report.metrics.sensors).

psutil has temperatures and fans on Linux/FreeBSD only and the battery on all desktop OSes; where a
reading is unavailable the list is empty or the battery None, which is a normal result, not an error.
"""

from __future__ import annotations

import math
from typing import Any

import psutil

from canhgac_agent.collectors.base import MetricCollector


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def collect() -> dict[str, Any]:
    """Return a dict matching `Sensors`."""
    temperatures: list[dict[str, Any]] = []
    if hasattr(psutil, "sensors_temperatures"):
        for sensor, entries in psutil.sensors_temperatures().items():
            for i, t in enumerate(entries):
                current = _finite(t.current)
                if current is None:
                    continue
                temperatures.append(
                    {
                        "sensor": sensor[:256],
                        "label": (t.label or f"{sensor}-{i}")[:256],
                        "current_c": current,
                        "high_c": _finite(t.high),
                        "critical_c": _finite(t.critical),
                    }
                )
    fans: list[dict[str, Any]] = []
    if hasattr(psutil, "sensors_fans"):
        for sensor, fan_entries in psutil.sensors_fans().items():
            for i, f in enumerate(fan_entries):
                label = (f.label or f"{sensor}-{i}")[:256]
                fans.append({"sensor": sensor[:256], "label": label, "rpm": max(0, int(f.current))})
    battery: dict[str, Any] | None = None
    bat = psutil.sensors_battery() if hasattr(psutil, "sensors_battery") else None
    if bat is not None:
        secs = bat.secsleft
        unknown = secs in (psutil.POWER_TIME_UNKNOWN, psutil.POWER_TIME_UNLIMITED) or secs < 0
        battery = {
            "percent": round(min(100.0, max(0.0, float(bat.percent))), 1),
            "plugged": bat.power_plugged,
            "secs_left": None if unknown else int(secs),
        }
    return {"temperatures": temperatures[:512], "fans": fans[:128], "battery": battery}


PLUGIN = MetricCollector(name="sensors", collect=collect)
