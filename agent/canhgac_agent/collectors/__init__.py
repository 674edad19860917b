"""Metric collectors, one module each. Each `collect()` returns a JSON-ready value for one section of
`Report.metrics` (see `canhgac_api.schemas.report.Metrics`); it may raise, and the caller records the
error in `Report.errors` while the other sections still go out.

Host identity (`Report.host`) is not a metrics section: it lives in `identity.collect`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import cpu, disk_io, filesystems, memory, network, sensors, uptime

# Registration: section name in Report.metrics -> collector, in report order.
COLLECTORS: dict[str, Callable[[], Any]] = {
    "cpu": cpu.collect,
    "memory": memory.collect,
    "filesystems": filesystems.collect,
    "disk_io": disk_io.collect,
    "network": network.collect,
    "sensors": sensors.collect,
    "uptime": uptime.collect,
}
