"""Hosts on `/metrics` and in history: host and probe series, agent spool, the ingest path's self-metrics,
and the `host` and `probe` history measurements.

The ingest worker, which holds the validated reports, computes each host's `HostObservation` and history
lines after the commit and sends them in its reply; the API applies them here on the event loop
(`apply_handover`). Host state and report age are derived from the last report time at scrape, so a
silent host turns stale, then down, without anyone writing to it; `seed_from_store` loads every known host
at start-up for that reason.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from canhgac_collector.metrics.exposition import Registry, escape_label
from canhgac_collector.metrics.history import line, tag_set
from canhgac_collector.metrics.telemetry import MetricsPlugin, Telemetry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("canhgac.metrics")

HOST = ("site", "host_id", "host")
PROBE = (*HOST, "target", "kind")
HOST_STATES = ("up", "stale", "down")
INGEST_OUTCOMES = ("accepted", "duplicate", "refused")
# Series caps: a province is ~5,000 hosts.
MAX_HOSTS = 20_000
MAX_PROBES = 200_000
MAX_FILESYSTEMS = 200_000


# --- the hand-over from the ingest worker ------------------------------------------------------------


class FilesystemSample(msgspec.Struct, array_like=True, frozen=True):
    mountpoint: str
    usage_ratio: float
    size_bytes: int
    free_bytes: int


class DiskSample(msgspec.Struct, array_like=True, frozen=True):
    device: str
    read_bytes: int
    written_bytes: int


class ProbeSample(msgspec.Struct, array_like=True, frozen=True):
    target: str
    kind: str
    ok: bool
    loss_ratio: float
    latency_seconds: float | None
    jitter_seconds: float | None


class HostObservation(msgspec.Struct, array_like=True):
    """What `/metrics` shows of a host, from its newest report. Encoded as a JSON array (field order is
    the wire order): the worker and the API run the same code, so no field names travel."""

    hostname: str
    cpu_ratio: float | None
    load1: float | None
    memory_ratio: float | None
    memory_total_bytes: int | None
    filesystems: list[FilesystemSample]
    disks: list[DiskSample]
    spool_dropped: int
    cycle_cpu_seconds: float
    probes: list[ProbeSample]


def host_observation(reports: Sequence[Any]) -> HostObservation:
    """The observation of a host from its stored reports (the newest counts)."""
    newest = reports[-1]
    m = newest.metrics
    cpu, memory = m.cpu, m.memory
    return HostObservation(
        newest.host.hostname,
        cpu.percent / 100.0 if cpu is not None else None,
        cpu.load_1m if cpu is not None else None,
        1.0 - memory.available_bytes / memory.total_bytes
        if memory is not None and memory.total_bytes
        else None,
        memory.total_bytes if memory is not None else None,
        [
            FilesystemSample(fs.mountpoint, fs.percent / 100.0, fs.total_bytes, fs.free_bytes)
            for fs in m.filesystems or ()
        ],
        [DiskSample(d.device, d.read_bytes, d.write_bytes) for d in m.disk_io or ()],
        newest.agent.spool_dropped_total,
        newest.agent.cycle_cpu_s,
        [
            ProbeSample(
                p.name,
                p.kind,
                p.ok,
                p.loss_ratio,
                None if p.rtt_avg_ms is None else p.rtt_avg_ms / 1000.0,
                None if p.jitter_ms is None else p.jitter_ms / 1000.0,
            )
            for p in newest.probes
        ],
    )


# --- /metrics ------------------------------------------------------------------------------------------


@dataclass
class HostSeen:
    site: str
    hostname: str
    last_report_unix: float
    labels: str = ""  # cached `site="…",host_id="…",host="…"`: scrape-time lines are one f-string each


class HostMetrics:
    """Written on the event loop (ingest hand-over, the host-state loop)."""

    def __init__(self, registry: Registry, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        # Host state thresholds (from config), so per-host state is derived from report age at scrape time.
        self.stale_after_s = 120.0
        self.down_after_s = 600.0
        # (site code, state) → hosts; refreshed by the host-state loop.
        self.hosts_by_site_state: dict[tuple[str, str], int] = {}
        # (site code, host id, hostname) → reports waiting in that agent's spool, from its last report.
        self.agent_spool_backlog: dict[tuple[str, str, str], int] = {}
        # The ingest path: requests by HTTP status, reports by outcome, clock refusals by site.
        self.ingest_requests: Counter[str] = Counter()
        self.ingest_reports: Counter[str] = Counter()
        self.clock_refused: Counter[str] = Counter()
        self.ingest_batches_committed = 0
        self.ingest_commit_seconds_sum = 0.0
        self.ingest_queue_depth = 0
        self.ingest_worker_restarts = 0
        self.handoff_dropped = 0  # committed report groups whose observation could not be applied
        self._hosts: dict[str, HostSeen] = {}
        telemetry.on_forget_host(self.forget_host)
        self._declare(registry)

    def _declare(self, registry: Registry) -> None:
        g = registry.family
        d = registry.dynamic
        d(
            "canhgac_hosts",
            "gauge",
            "Hosts by site and state (up, stale, down, new).",
            ("site", "state"),
            lambda: (((s, st), n) for (s, st), n in sorted(self.hosts_by_site_state.items())),
        )
        # state and report age are derived from the last report time at scrape (one line per host)
        self.host_up = d(
            "canhgac_host_up",
            "gauge",
            "1 when the host's agent reported within the stale threshold, else 0.",
            HOST,
            list,
            MAX_HOSTS,
            self._host_up,
        )
        d(
            "canhgac_host_state",
            "gauge",
            "1 for the host's current state (up, stale, down), 0 for the others.",
            (*HOST, "state"),
            list,
            MAX_HOSTS * 3,
            self._host_state,
        )
        d(
            "canhgac_host_last_report_age_seconds",
            "gauge",
            "Seconds since the host's newest accepted report.",
            HOST,
            list,
            MAX_HOSTS,
            self._host_age,
        )
        self.cpu = g(
            "canhgac_host_cpu_usage_ratio",
            "gauge",
            "CPU busy, 0..1, from the host's last report.",
            HOST,
            MAX_HOSTS,
        )
        self.load1 = g(
            "canhgac_host_load1",
            "gauge",
            "1-minute load average from the host's last report.",
            HOST,
            MAX_HOSTS,
        )
        self.mem = g(
            "canhgac_host_memory_usage_ratio",
            "gauge",
            "Memory used, 0..1 (1 - available/total).",
            HOST,
            MAX_HOSTS,
        )
        self.mem_total = g(
            "canhgac_host_memory_total_bytes", "gauge", "Physical memory of the host.", HOST, MAX_HOSTS
        )
        self.fs_usage = g(
            "canhgac_host_filesystem_usage_ratio",
            "gauge",
            "Filesystem space used, 0..1.",
            (*HOST, "mountpoint"),
            MAX_FILESYSTEMS,
        )
        self.fs_size = g(
            "canhgac_host_filesystem_size_bytes",
            "gauge",
            "Filesystem size.",
            (*HOST, "mountpoint"),
            MAX_FILESYSTEMS,
        )
        self.fs_free = g(
            "canhgac_host_filesystem_free_bytes",
            "gauge",
            "Filesystem space free.",
            (*HOST, "mountpoint"),
            MAX_FILESYSTEMS,
        )
        self.disk_read = g(
            "canhgac_host_disk_read_bytes_total",
            "counter",
            "Bytes read from the disk since boot.",
            (*HOST, "disk"),
            MAX_FILESYSTEMS,
        )
        self.disk_written = g(
            "canhgac_host_disk_written_bytes_total",
            "counter",
            "Bytes written to the disk since boot.",
            (*HOST, "disk"),
            MAX_FILESYSTEMS,
        )
        self.spool_dropped = g(
            "canhgac_agent_spool_dropped_total",
            "counter",
            "Reports the agent's spool dropped (size/age bound) since install.",
            HOST,
            MAX_HOSTS,
        )
        self.agent_cycle_cpu = g(
            "canhgac_agent_cycle_cpu_seconds",
            "gauge",
            "CPU the agent's previous collection cycle cost.",
            HOST,
            MAX_HOSTS,
        )
        d(
            "canhgac_agent_spool_backlog",
            "gauge",
            "Reports waiting in an agent's spool, as it last said.",
            HOST,
            lambda: (((s, h, n), v) for (s, h, n), v in sorted(self.agent_spool_backlog.items())),
            MAX_HOSTS,
        )
        # connectivity probes run by agents
        self.probe_up = g(
            "canhgac_probe_up",
            "gauge",
            "1 when the probe's last round reached its target.",
            PROBE,
            MAX_PROBES,
        )
        self.probe_latency = g(
            "canhgac_probe_latency_seconds",
            "gauge",
            "Mean round-trip time of the last round.",
            PROBE,
            MAX_PROBES,
        )
        self.probe_loss = g(
            "canhgac_probe_loss_ratio",
            "gauge",
            "Share of the last round's attempts lost, 0..1.",
            PROBE,
            MAX_PROBES,
        )
        self.probe_jitter = g(
            "canhgac_probe_jitter_seconds",
            "gauge",
            "Mean absolute difference of consecutive round-trip times.",
            PROBE,
            MAX_PROBES,
        )
        # the ingest path's self-metrics
        d(
            "canhgac_ingest_requests_total",
            "counter",
            "Agent report requests answered, by HTTP status.",
            ("code",),
            lambda: (((c,), n) for c, n in sorted(self.ingest_requests.items())),
        )
        d(
            "canhgac_ingest_reports_total",
            "counter",
            "Agent reports by outcome.",
            ("outcome",),
            lambda: (((o,), self.ingest_reports[o]) for o in INGEST_OUTCOMES),
        )
        d(
            "canhgac_ingest_clock_refused_total",
            "counter",
            "Agent reports refused because their date lies outside the window around the server's clock "
            "(a PC with a wrong clock), by site.",
            ("site",),
            lambda: (((k,), n) for k, n in sorted(self.clock_refused.items())),
        )
        d(
            "canhgac_ingest_commits_total",
            "counter",
            "Group commits of the ingest worker.",
            (),
            lambda: [((), self.ingest_batches_committed)],
        )
        d(
            "canhgac_ingest_commit_seconds_total",
            "counter",
            "Time spent in ingest group commits.",
            (),
            lambda: [((), round(self.ingest_commit_seconds_sum, 6))],
        )
        d(
            "canhgac_ingest_queue_depth",
            "gauge",
            "Agent requests waiting for the ingest worker.",
            (),
            lambda: [((), self.ingest_queue_depth)],
        )
        d(
            "canhgac_ingest_worker_restarts_total",
            "counter",
            "Ingest worker processes started again after one stopped unexpectedly.",
            (),
            lambda: [((), self.ingest_worker_restarts)],
        )
        d(
            "canhgac_metrics_reports_dropped_total",
            "counter",
            "Committed report groups not applied to metrics/history (an error, logged).",
            (),
            lambda: [((), self.handoff_dropped)],
        )

    # -- scrape-time lines ----------------------------------------------------------------------------

    def state(self, age: float) -> str:
        if age >= self.down_after_s:
            return "down"
        if age >= self.stale_after_s:
            return "stale"
        return "up"

    def _host_up(self) -> list[str]:
        now = time.time()
        stale = self.stale_after_s
        return [
            f"canhgac_host_up{{{h.labels}}} {1 if now - h.last_report_unix < stale else 0}\n"
            for h in list(self._hosts.values())
        ]

    def _host_state(self) -> list[str]:
        now = time.time()
        out = []
        for h in list(self._hosts.values()):
            state = self.state(now - h.last_report_unix)
            for s in HOST_STATES:
                out.append(f'canhgac_host_state{{{h.labels},state="{s}"}} {1 if s == state else 0}\n')
        return out

    def _host_age(self) -> list[str]:
        now = time.time()
        return [
            f"canhgac_host_last_report_age_seconds{{{h.labels}}} {max(0.0, now - h.last_report_unix):.3f}\n"
            for h in list(self._hosts.values())
        ]

    # -- producers ------------------------------------------------------------------------------------

    def see_host(self, host_id: str, site: str, hostname: str, at: float) -> None:
        seen = self._hosts.get(host_id)
        if seen is not None and seen.site == site and seen.hostname == hostname:
            seen.last_report_unix = at
            return
        if seen is None and len(self._hosts) >= MAX_HOSTS:
            self.host_up.dropped += 1  # counted under canhgac_host_up in the series-dropped family
            return
        labels = (
            f'site="{escape_label(site)}",host_id="{escape_label(host_id)}",host="{escape_label(hostname)}"'
        )
        self._hosts[host_id] = HostSeen(site, hostname, at, labels)

    def seed_host(self, host_id: str, site: str, hostname: str, last_report_unix: float | None) -> None:
        """A host known from the store at start-up, so a silent host still shows (as stale/down)."""
        if last_report_unix is not None and host_id not in self._hosts:
            self.see_host(host_id, site, hostname, last_report_unix)

    def seed_from_store(self, sessions: sessionmaker[Session]) -> int:
        """Load every host with a report from the store (start-up, not at scrape), so hosts that stay
        silent after a restart still show as stale/down instead of vanishing from `/metrics`."""
        from sqlalchemy import select

        from canhgac_collector.store.models import Host, Site

        with sessions() as session:
            rows = session.execute(
                select(Host.id, Site.code, Host.hostname, Host.last_report_at).join(
                    Site, Host.site_id == Site.id
                )
            ).all()
        for host_id, site, hostname, last_report_at in rows:
            self.seed_host(
                host_id, site, hostname, last_report_at.timestamp() if last_report_at is not None else None
            )
        return len(rows)

    def forget_host(self, host_id: str) -> None:
        self._hosts.pop(host_id, None)
        for key in [k for k in self.agent_spool_backlog if k[1] == host_id]:
            del self.agent_spool_backlog[key]

    def apply_handover(self, host_id: str, site: str, observation: object, lines: list[str] | None) -> None:
        """One request's share of the ingest worker's reply, as decoded JSON: the observation (a
        `HostObservation` array) becomes the host's current series, `lines` go to the history writer."""
        try:
            self.apply(host_id, site, msgspec.convert(observation, HostObservation))
        except msgspec.ValidationError:
            self.handoff_dropped += 1
            log.exception("could not read the observation of host_id=%s", host_id)
        if lines:
            self.telemetry.write_history(lines)

    def apply(self, host_id: str, site: str, obs: HostObservation) -> None:
        """The newest report's values become the host's current series."""
        try:
            self._apply(host_id, site, obs)
        except Exception:  # metrics must never stop ingest: log, count and go on
            self.handoff_dropped += 1
            log.exception("could not apply the reports of host_id=%s to metrics", host_id)

    def _apply(self, host_id: str, site: str, obs: HostObservation) -> None:
        key: tuple[str, ...] = (site, host_id, obs.hostname)
        # received now, as the store's last_report_at (a spooled report's collected_at is old)
        self.see_host(host_id, site, obs.hostname, time.time())
        if obs.cpu_ratio is not None:
            self.cpu.set(key, obs.cpu_ratio)
        if obs.load1 is not None:
            self.load1.set(key, obs.load1)
        if obs.memory_ratio is not None:
            self.mem.set(key, obs.memory_ratio)
            if obs.memory_total_bytes is not None:
                self.mem_total.set(key, obs.memory_total_bytes)
        for fs in obs.filesystems:
            k = (*key, fs.mountpoint)
            self.fs_usage.set(k, fs.usage_ratio)
            self.fs_size.set(k, fs.size_bytes)
            self.fs_free.set(k, fs.free_bytes)
        for disk in obs.disks:
            k = (*key, disk.device)
            self.disk_read.set(k, disk.read_bytes)
            self.disk_written.set(k, disk.written_bytes)
        self.spool_dropped.set(key, obs.spool_dropped)
        self.agent_cycle_cpu.set(key, obs.cycle_cpu_seconds)
        for probe in obs.probes:
            k = (*key, probe.target, probe.kind)
            self.probe_up.set(k, 1 if probe.ok else 0)
            self.probe_loss.set(k, probe.loss_ratio)
            if probe.latency_seconds is not None:
                self.probe_latency.set(k, probe.latency_seconds)
            else:
                self.probe_latency.remove(k)
            if probe.jitter_seconds is not None:
                self.probe_jitter.set(k, probe.jitter_seconds)
            else:
                self.probe_jitter.remove(k)


PLUGIN = MetricsPlugin("hosts", HostMetrics)


# --- history: measurements `host` (+ per mountpoint) and `probe` -------------------------------------


def host_lines(site: str, host_id: str, reports: Iterable[Any]) -> list[str]:
    """Line protocol for reports of one host: `host` (+ per mountpoint), `probe` per target."""
    out: list[str] = []
    for report in reports:
        ts = int(report.collected_at.timestamp() * 1000)
        hostname = report.host.hostname
        tags = (("site", site), ("host", hostname), ("host_id", host_id))
        m = report.metrics
        fields: dict[str, float | int | bool | str | None] = {
            "cpu_usage_ratio": m.cpu.percent / 100.0 if m.cpu else None,
            "load1": m.cpu.load_1m if m.cpu else None,
            "memory_usage_ratio": (1.0 - m.memory.available_bytes / m.memory.total_bytes)
            if m.memory and m.memory.total_bytes
            else None,
            "memory_total_bytes": float(m.memory.total_bytes) if m.memory else None,
            "spool_backlog": float(report.agent.spool_backlog),
        }
        point = line(tag_set("host", tags), fields, ts)
        if point:
            out.append(point)
        for fs in m.filesystems or ():
            point = line(
                tag_set("host", (*tags, ("mountpoint", fs.mountpoint))),
                {
                    "fs_usage_ratio": fs.percent / 100.0,
                    "fs_size_bytes": float(fs.total_bytes),
                    "fs_free_bytes": float(fs.free_bytes),
                },
                ts,
            )
            if point:
                out.append(point)
        for probe in report.probes:
            point = line(
                tag_set("probe", (*tags, ("target", probe.name), ("kind", probe.kind))),
                {
                    "up": 1.0 if probe.ok else 0.0,
                    "loss_ratio": float(probe.loss_ratio),
                    "latency_seconds": probe.rtt_avg_ms / 1000.0 if probe.rtt_avg_ms is not None else None,
                    "jitter_seconds": probe.jitter_ms / 1000.0 if probe.jitter_ms is not None else None,
                },
                ts,
            )
            if point:
                out.append(point)
    return out
