"""The process-wide metrics object: one `Registry`, the domains' metric sets, the history writer, `/metrics`.

Each domain declares its families beside its code, in a `metrics.py` that exposes one `PLUGIN`
(`MetricsPlugin`): `hosts/metrics.py`, `devices/metrics.py`, `compliance/metrics.py`, `metrics/sites.py`.
The composition root (`canhgac_collector.server`) lists them once with `canhgac_agent.plugins.registry`
and installs them here; producers reach their domain's set with `telemetry.get(<module>.PLUGIN)`.

No I/O at scrape time: producers push values as they arrive (the ingest worker's hand-over on the event
loop, the SNMP poller on every poll, the background loops' roll-ups), and per-entity families keep
render-ready lines (`metrics/exposition.py`), so a scrape of a whole province is a join.

Kept here because every part of the server shares them: the counters the HTTP face writes
(`refused`, `confined_errors`), the history writer's self-metrics, the series each family refused at its
cap, and the render time.

Naming: prefix `canhgac_`, units in the name, labels `site` (code) plus the entity (`host_id`/`host`,
`device`, `ifname`, `target`); `canhgac_site_info` carries `site_path`, so dashboards select a subtree
and join on `site`. `promtool check metrics` is the arbiter of naming. Each per-entity family has a
series cap; what it refuses is counted in `canhgac_metrics_series_dropped_total{family}`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from canhgac_collector.metrics.exposition import Family, Registry

if TYPE_CHECKING:
    from canhgac_collector.metrics.history import InfluxWriter

S_co = TypeVar("S_co", covariant=True)
S = TypeVar("S")


@dataclass(frozen=True)
class MetricsPlugin(Generic[S_co]):
    """A domain's metrics: `register(registry, telemetry)` declares its families on the registry and
    returns the object its producers write through (kept by the telemetry under `name`)."""

    name: str
    register: Callable[[Registry, Telemetry], S_co]


class Telemetry:
    """Start empty, `install` the domains' plugins once, then render."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.influx: InfluxWriter | None = None  # set when history is enabled: points go there too
        # Hostile or broken input turned away before it cost anything: (what, reason) → requests.
        self.refused: Counter[tuple[str, str]] = Counter()
        # Failures confined to the one host, device or request that caused them (stage → count).
        self.confined_errors: Counter[str] = Counter()
        self.render_seconds_last = 0.0
        self._sets: dict[str, object] = {}
        self._forget_host: list[Callable[[str], None]] = []

    # -- the domains' sets ---------------------------------------------------------------------------

    def install(self, plugins: Mapping[str, MetricsPlugin[object]]) -> None:
        """Register each plugin's families (in order: the order of `/metrics`), then the shared ones."""
        if self._sets:
            raise RuntimeError("metric plugins are installed already")
        for plugin in plugins.values():
            self._sets[plugin.name] = plugin.register(self.registry, self)
        self._register_shared()

    def get(self, plugin: MetricsPlugin[S]) -> S:
        """The installed set of that plugin (KeyError if it was not installed)."""
        return cast(S, self._sets[plugin.name])

    def on_forget_host(self, forget: Callable[[str], None]) -> None:
        """`forget(host_id)` runs when a host is removed (its series in every family go anyway)."""
        self._forget_host.append(forget)

    def write_history(self, lines: list[str]) -> None:
        """Hand history points to the writer when history is enabled (an append, never I/O)."""
        if lines and self.influx is not None:
            self.influx.write(lines)

    # -- what the HTTP face calls --------------------------------------------------------------------

    def forget_host(self, host_id: str) -> None:
        """A removed host's series disappear from /metrics at once."""
        for forget in self._forget_host:
            forget(host_id)
        for fam in self.registry.families:
            if isinstance(fam, Family) and "host_id" in fam.labelnames:
                at = fam.labelnames.index("host_id")
                fam.remove_where(lambda labels, at=at: labels[at] == host_id)  # type: ignore[misc]

    def render(self) -> str:
        started = time.perf_counter()
        text = self.registry.render()
        self.render_seconds_last = time.perf_counter() - started
        return text

    def families(self) -> list[Family]:
        """The stored (not scrape-time) families, for tests and benches."""
        return [f for f in self.registry.families if isinstance(f, Family)]

    # -- shared families -----------------------------------------------------------------------------

    def _register_shared(self) -> None:
        d = self.registry.dynamic
        d(
            "canhgac_refused_requests_total",
            "counter",
            "Requests turned away before any work: enrollment (bad key, other site's host, rate), bodies "
            "too large or too slow, scans over the rate.",
            ("what", "reason"),
            lambda: sorted(self.refused.items()),
        )
        d(
            "canhgac_confined_errors_total",
            "counter",
            "Failures confined to the one host, device or request that caused them (the rest went on).",
            ("stage",),
            lambda: (((k,), n) for k, n in sorted(self.confined_errors.items())),
        )
        d(
            "canhgac_influx_points_written_total",
            "counter",
            "Points the history store accepted.",
            (),
            lambda: [((), self.influx.stats.points_written)] if self.influx else [],
        )
        d(
            "canhgac_influx_points_dropped_total",
            "counter",
            "Points given up: buffer over its bound, refused as malformed, or memory queue full.",
            ("reason",),
            lambda: (((k,), v) for k, v in sorted(self.influx.stats.dropped.items())) if self.influx else [],
        )
        d(
            "canhgac_influx_write_errors_total",
            "counter",
            "Failed writes to the history store (then buffered).",
            (),
            lambda: [((), self.influx.stats.write_errors)] if self.influx else [],
        )
        d(
            "canhgac_influx_buffer_bytes",
            "gauge",
            "Size of the on-disk buffer waiting for the history store.",
            (),
            lambda: [((), self.influx.stats.buffer_bytes)] if self.influx else [],
        )
        d(
            "canhgac_influx_buffer_points",
            "gauge",
            "Points in the on-disk buffer.",
            (),
            lambda: [((), self.influx.stats.buffer_points)] if self.influx else [],
        )
        d(
            "canhgac_influx_queue_points",
            "gauge",
            "Points in memory waiting for the history writer.",
            (),
            lambda: [((), self.influx.stats.pending_points)] if self.influx else [],
        )
        d(
            "canhgac_metrics_series_dropped_total",
            "counter",
            "Series not created because their family reached its cardinality cap.",
            ("family",),
            self.registry.dropped,
        )
        d(
            "canhgac_metrics_render_seconds",
            "gauge",
            "Time the previous /metrics render took.",
            (),
            lambda: [((), round(self.render_seconds_last, 6))],
        )
