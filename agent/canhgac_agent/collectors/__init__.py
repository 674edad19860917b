"""Metric collectors, one module each. Each module's `PLUGIN` is a `MetricCollector` whose `collect()`
returns a JSON-ready value for one section of `Report.metrics` (see `canhgac_api.schemas.report.Metrics`);
it may raise, and the caller records the error in `Report.errors` while the other sections still go out.

Host identity (`Report.host`) is not a metrics section: it lives in `identity.collect`.
"""

from __future__ import annotations

from canhgac_agent.collectors import cpu, disk_io, filesystems, memory, network, sensors, uptime
from canhgac_agent.collectors.base import MetricCollector
from canhgac_agent.plugins import registry

__all__ = ["COLLECTORS", "MetricCollector"]

# Registration: one line per collector, in report order; the names are the Report.metrics sections.
COLLECTORS = registry(
    cpu.PLUGIN,
    memory.PLUGIN,
    filesystems.PLUGIN,
    disk_io.PLUGIN,
    network.PLUGIN,
    sensors.PLUGIN,
    uptime.PLUGIN,
)
