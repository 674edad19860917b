"""In-memory metrics for `/metrics` (no I/O at scrape time) and the hand-off of values to the history writer.

State arrives from where it is produced: the ingest worker after each commit (its `host_observation`
and history lines, applied by `apply_host_observation` on the event loop),
the SNMP poller on every device poll (`observe_poll`), the background loops (roll-ups by site and state).
Per-entity families (host, probe, device, interface) keep render-ready lines (metrics/exposition.py), so
a scrape of a whole province is a join. The small self-metric counters stay plain attributes, updated by
the event loop or the poller threads (a lost increment under a race is acceptable for metrics;
correctness never depends on them).

Names follow DESIGN §5: prefix `canhgac_`, units in the name, labels `site` (code) plus the entity
(`host_id`/`host`, `device`, `ifname`, `target`); `canhgac_site_info` carries `site_path`, so dashboards
select a subtree and join on `site`. `promtool check metrics` is the arbiter of naming: hence `ifname`
(not IF-MIB's camelCase `ifName`, kept as the InfluxDB tag) and rates in bytes per second (base unit).
Each per-entity family has a series cap (`max_series`); what it refuses is counted in
`canhgac_metrics_series_dropped_total{family}`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from canhgac_collector.metrics.exposition import Family, Registry, escape_label

if TYPE_CHECKING:
    from canhgac_collector.devices.snmp.results import DevicePoll
    from canhgac_collector.metrics.history import InfluxWriter
    from canhgac_collector.sitetree import SiteNode

log = logging.getLogger("canhgac.metrics")

HOST = ("site", "host_id", "host")
PROBE = (*HOST, "target", "kind")
DEVICE = ("site", "device")
INTERFACE = ("site", "device", "ifname")  # IF-MIB ifName; promtool lint wants lower case
HOST_STATES = ("up", "stale", "down")
DEVICE_STATES = ("up", "down", "error", "unknown")
# Series caps per family: a province is ~5,000 hosts and ~1,000 switches of ~50 ports (DESIGN §9).
MAX_HOSTS = 20_000
MAX_PROBES = 200_000
MAX_FILESYSTEMS = 200_000
MAX_DEVICES = 10_000
MAX_SENSORS = 50_000
MAX_INTERFACES = 500_000


@dataclass
class _HostSeen:
    site: str
    hostname: str
    last_report_unix: float
    labels: str = ""  # cached `site="…",host_id="…",host="…"`: scrape-time lines are one f-string each


def _ratio(percent: float | None) -> float | None:
    return None if percent is None else percent / 100.0


@dataclass
class Telemetry:
    ingest_requests: Counter[str] = field(default_factory=Counter)  # by HTTP status code
    ingest_reports: Counter[str] = field(default_factory=Counter)  # accepted | duplicate | refused
    ingest_batches_committed: int = 0
    ingest_commit_seconds_sum: float = 0.0
    ingest_queue_depth: int = 0
    ingest_worker_restarts: int = 0
    # (site code, state) → hosts; refreshed by the host-state loop.
    hosts_by_site_state: dict[tuple[str, str], int] = field(default_factory=dict)
    # (site code, host id, hostname) → reports waiting in that agent's spool, from its last report.
    agent_spool_backlog: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # SNMP poller: polls by outcome (ok or an SnmpError reason), time spent, devices by site and state.
    snmp_polls: Counter[str] = field(default_factory=Counter)
    snmp_poll_seconds_sum: float = 0.0
    snmp_varbinds: int = 0
    snmp_record_queue_depth: int = 0
    devices_by_site_state: dict[tuple[str, str], int] = field(default_factory=dict)
    # Host state thresholds (from config), so per-host state is derived from report age at scrape time.
    host_stale_after_s: float = 120.0
    host_down_after_s: float = 600.0
    site_codes: dict[int, str] = field(default_factory=dict)  # site id → code (ingest knows ids)
    influx: InfluxWriter | None = None  # set when history is enabled: points go there too
    render_seconds_last: float = 0.0
    hosts_dropped: int = 0  # hosts past MAX_HOSTS (not shown)
    handoff_dropped: int = 0  # committed report groups whose observation could not be applied
    # Hostile or broken input turned away before it cost anything: (what, reason) → requests.
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Failures confined to the one host, device or request that caused them (stage → count).
    confined_errors: Counter[str] = field(default_factory=Counter)
    # Reports refused for a date outside the window around the server's clock, by site.
    clock_refused: Counter[str] = field(default_factory=Counter)
    registry: Registry = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._hosts: dict[str, _HostSeen] = {}
        self._sites: list[tuple[tuple[str, ...], float]] = []
        self._device_ifs: dict[str, set[tuple[str, ...]]] = {}
        self._device_site: dict[str, str] = {}
        self._build_registry()

    # -- families ------------------------------------------------------------------------------------

    def _build_registry(self) -> None:
        r = self.registry = Registry()
        g = r.family
        d = r.dynamic
        d(
            "canhgac_site_info",
            "gauge",
            "Sites of the tree: 1 per site, with its path (join on site for subtrees).",
            ("site", "site_path", "parent", "name"),
            lambda: self._sites,
        )
        # roll-ups by site (refreshed from the store by the background loops)
        d(
            "canhgac_hosts",
            "gauge",
            "Hosts by site and state (up, stale, down, new).",
            ("site", "state"),
            lambda: (((s, st), n) for (s, st), n in sorted(self.hosts_by_site_state.items())),
        )
        d(
            "canhgac_devices",
            "gauge",
            "Devices by site and state (up, down, error, unknown).",
            ("site", "state"),
            lambda: (((s, st), n) for (s, st), n in sorted(self.devices_by_site_state.items())),
        )
        # hosts: state and report age are derived from the last report time at scrape (one per host)
        d(
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
        self.host_cpu = g(
            "canhgac_host_cpu_usage_ratio",
            "gauge",
            "CPU busy, 0..1, from the host's last report.",
            HOST,
            MAX_HOSTS,
        )
        self.host_load1 = g(
            "canhgac_host_load1",
            "gauge",
            "1-minute load average from the host's last report.",
            HOST,
            MAX_HOSTS,
        )
        self.host_mem = g(
            "canhgac_host_memory_usage_ratio",
            "gauge",
            "Memory used, 0..1 (1 - available/total).",
            HOST,
            MAX_HOSTS,
        )
        self.host_mem_total = g(
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
        # devices polled over SNMP
        self.device_up = g(
            "canhgac_device_up",
            "gauge",
            "1 when the device answered its last SNMP poll.",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_state = g(
            "canhgac_device_state",
            "gauge",
            "1 for the device's state of its last poll.",
            (*DEVICE, "state"),
            MAX_DEVICES * 4,
        )
        self.device_poll = g(
            "canhgac_device_poll_duration_seconds",
            "gauge",
            "Wall time of the device's last poll.",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_last_poll = g(
            "canhgac_device_last_poll_timestamp_seconds",
            "gauge",
            "Unix time the device's last poll started.",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_cpu = g(
            "canhgac_device_cpu_usage_ratio",
            "gauge",
            "Device CPU load, 0..1 (HOST-RESOURCES).",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_mem = g(
            "canhgac_device_memory_usage_ratio", "gauge", "Device memory used, 0..1.", DEVICE, MAX_DEVICES
        )
        self.device_temp = g(
            "canhgac_device_temperature_celsius",
            "gauge",
            "Device sensor temperature.",
            (*DEVICE, "sensor"),
            MAX_SENSORS,
        )
        # interfaces of those devices
        self.if_up = g(
            "canhgac_interface_oper_up",
            "gauge",
            "1 when ifOperStatus is up, else 0.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_admin = g(
            "canhgac_interface_admin_up",
            "gauge",
            "1 when ifAdminStatus is up, else 0.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_speed = g(
            "canhgac_interface_speed_bytes_per_second", "gauge", "Interface speed.", INTERFACE, MAX_INTERFACES
        )
        self.if_in = g(
            "canhgac_interface_in_bytes_per_second",
            "gauge",
            "Received rate between the last two polls.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_out = g(
            "canhgac_interface_out_bytes_per_second",
            "gauge",
            "Sent rate between the last two polls.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_util = g(
            "canhgac_interface_utilisation_ratio",
            "gauge",
            "max(in, out) / speed, 0..1.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_errors = g(
            "canhgac_interface_errors_per_second",
            "gauge",
            "Errored packets per second.",
            (*INTERFACE, "direction"),
            MAX_INTERFACES * 2,
        )
        self.if_discards = g(
            "canhgac_interface_discards_per_second",
            "gauge",
            "Discarded packets per second.",
            (*INTERFACE, "direction"),
            MAX_INTERFACES * 2,
        )
        # compliance: the family is declared now, filled when compliance scans land (issue on compliance)
        self.compliance_score = g(
            "canhgac_compliance_score_ratio",
            "gauge",
            "Share of machine-checkable rules passed at the site's declared level, 0..1.",
            ("site", "level"),
            10_000,
        )
        # self-metrics
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
            lambda: (((o,), self.ingest_reports[o]) for o in ("accepted", "duplicate", "refused")),
        )
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
            "canhgac_snmp_polls_total",
            "counter",
            "Device polls by outcome (ok, or why it failed).",
            ("outcome",),
            lambda: (((o,), n) for o, n in sorted(self.snmp_polls.items())),
        )
        d(
            "canhgac_snmp_poll_seconds_total",
            "counter",
            "Wall time spent polling devices.",
            (),
            lambda: [((), round(self.snmp_poll_seconds_sum, 6))],
        )
        d(
            "canhgac_snmp_varbinds_total",
            "counter",
            "Varbinds received from devices.",
            (),
            lambda: [((), self.snmp_varbinds)],
        )
        d(
            "canhgac_snmp_record_queue_depth",
            "gauge",
            "Device polls waiting to be stored.",
            (),
            lambda: [((), self.snmp_record_queue_depth)],
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
            lambda: (
                (k, v + self.hosts_dropped if k == ("canhgac_host_up",) else v)
                for k, v in self.registry.dropped()
            ),
        )
        d(
            "canhgac_metrics_reports_dropped_total",
            "counter",
            "Committed report groups not applied to metrics/history (an error, logged).",
            (),
            lambda: [((), self.handoff_dropped)],
        )
        d(
            "canhgac_metrics_render_seconds",
            "gauge",
            "Time the previous /metrics render took.",
            (),
            lambda: [((), round(self.render_seconds_last, 6))],
        )

    # -- configuration -------------------------------------------------------------------------------

    def set_sites(self, tree: dict[str, SiteNode], site_ids: dict[str, int]) -> None:
        """The site tree as `canhgac_site_info`, and site ids → codes for ingest."""
        self._sites = [
            ((code, node.path, node.parent_code or "", node.config.name), 1) for code, node in tree.items()
        ]
        self.site_codes = {v: k for k, v in site_ids.items()}

    def set_compliance_scores(self, scores: dict[tuple[str, int], float]) -> None:
        """The newest scan score per (site code, level): `canhgac_compliance_score_ratio`."""
        wanted = {(site, str(level)): score for (site, level), score in scores.items()}
        self.compliance_score.remove_where(lambda labels: labels not in wanted)
        for labels, score in wanted.items():
            self.compliance_score.set(labels, score)

    def seed_host(self, host_id: str, site: str, hostname: str, last_report_unix: float | None) -> None:
        """A host known from the store at start-up, so a silent host still shows (as stale/down)."""
        if last_report_unix is not None and host_id not in self._hosts:
            self._see_host(host_id, site, hostname, last_report_unix)

    # -- scrape-time families ------------------------------------------------------------------------

    def _state(self, age: float) -> str:
        if age >= self.host_down_after_s:
            return "down"
        if age >= self.host_stale_after_s:
            return "stale"
        return "up"

    def _host_items(self) -> list[_HostSeen]:
        return list(self._hosts.values())

    def _host_up(self) -> list[str]:
        now = time.time()
        stale = self.host_stale_after_s
        return [
            f"canhgac_host_up{{{h.labels}}} {1 if now - h.last_report_unix < stale else 0}\n"
            for h in self._host_items()
        ]

    def _host_state(self) -> list[str]:
        now = time.time()
        out = []
        for h in self._host_items():
            state = self._state(now - h.last_report_unix)
            for s in HOST_STATES:
                out.append(f'canhgac_host_state{{{h.labels},state="{s}"}} {1 if s == state else 0}\n')
        return out

    def _host_age(self) -> list[str]:
        now = time.time()
        return [
            f"canhgac_host_last_report_age_seconds{{{h.labels}}} {max(0.0, now - h.last_report_unix):.3f}\n"
            for h in self._host_items()
        ]

    def _see_host(self, host_id: str, site: str, hostname: str, at: float) -> None:
        seen = self._hosts.get(host_id)
        if seen is not None and seen.site == site and seen.hostname == hostname:
            seen.last_report_unix = at
            return
        if seen is None and len(self._hosts) >= MAX_HOSTS:
            self.hosts_dropped += 1
            return
        labels = (
            f'site="{escape_label(site)}",host_id="{escape_label(host_id)}",host="{escape_label(hostname)}"'
        )
        self._hosts[host_id] = _HostSeen(site, hostname, at, labels)

    def forget_host(self, host_id: str) -> None:
        """A removed host's series disappear from /metrics at once."""
        self._hosts.pop(host_id, None)
        for key in [k for k in self.agent_spool_backlog if k[1] == host_id]:
            del self.agent_spool_backlog[key]
        for fam in self.registry.families:
            if isinstance(fam, Family) and "host_id" in fam.labelnames:
                at = fam.labelnames.index("host_id")
                fam.remove_where(lambda labels, at=at: labels[at] == host_id)  # type: ignore[misc]

    def render(self) -> str:
        started = time.perf_counter()
        text = self.registry.render()
        self.render_seconds_last = time.perf_counter() - started
        return text

    # -- producers -----------------------------------------------------------------------------------

    def apply_host_observation(
        self, host_id: str, site_id: int, obs: dict[str, Any], lines: list[str] | None
    ) -> None:
        """The newest report's values (`host_observation`) become the host's current series; `lines`
        (its reports' history points) go to the history writer."""
        try:
            self._apply_host_observation(host_id, site_id, obs)
        except Exception:  # metrics must never stop ingest: log, count and go on
            self.handoff_dropped += 1
            log.exception("could not apply the reports of host_id=%s to metrics", host_id)
        if lines and self.influx is not None:
            self.influx.write(lines)

    def _apply_host_observation(self, host_id: str, site_id: int, obs: dict[str, Any]) -> None:
        site = self.site_codes.get(site_id, str(site_id))
        hostname = obs["hostname"]
        key: tuple[str, ...] = (site, host_id, hostname)
        # received now, as the store's last_report_at (a spooled report's collected_at is old)
        self._see_host(host_id, site, hostname, time.time())
        if obs["cpu"] is not None:
            self.host_cpu.set(key, obs["cpu"])
        if obs["load1"] is not None:
            self.host_load1.set(key, obs["load1"])
        if obs["mem"] is not None:
            self.host_mem.set(key, obs["mem"])
            self.host_mem_total.set(key, obs["mem_total"])
        for mountpoint, usage, size, free in obs["fs"]:
            k = (*key, mountpoint)
            self.fs_usage.set(k, usage)
            self.fs_size.set(k, size)
            self.fs_free.set(k, free)
        for device, read, written in obs["disk"]:
            k = (*key, device)
            self.disk_read.set(k, read)
            self.disk_written.set(k, written)
        self.spool_dropped.set(key, obs["spool_dropped"])
        self.agent_cycle_cpu.set(key, obs["cycle_cpu"])
        for name, kind, ok, loss, latency, jitter in obs["probes"]:
            k = (*key, name, kind)
            self.probe_up.set(k, 1 if ok else 0)
            self.probe_loss.set(k, loss)
            if latency is not None:
                self.probe_latency.set(k, latency)
            else:
                self.probe_latency.remove(k)
            if jitter is not None:
                self.probe_jitter.set(k, jitter)
            else:
                self.probe_jitter.remove(k)

    def observe_poll(self, site: str, poll: DevicePoll) -> None:
        """One device poll (SNMP poller thread): device and interface values, and history points."""
        dev = poll.device
        key = (site, dev)
        self._device_site[dev] = site
        self.device_up.set(key, 1 if poll.state == "up" else 0)
        for s in DEVICE_STATES:
            self.device_state.set((site, dev, s), 1 if s == poll.state else 0)
        self.device_poll.set(key, round(poll.duration_s, 6))
        self.device_last_poll.set(key, round(poll.started_at, 3))
        res = poll.resources
        if res is not None:
            if res.cpu_percent is not None:
                self.device_cpu.set(key, res.cpu_percent / 100.0)
            if res.memory_total_bytes and res.memory_used_bytes is not None:
                self.device_mem.set(key, res.memory_used_bytes / res.memory_total_bytes)
            for sensor, celsius in res.temperatures_c.items():
                self.device_temp.set((site, dev, sensor), celsius)
        if poll.state == "up" and poll.interfaces:
            seen: set[tuple[str, ...]] = set()
            for itf in poll.interfaces:
                k = (site, dev, interface_name(itf))
                seen.add(k)
                self.if_up.set(k, 1 if itf.ifOperStatus == "up" else 0)
                self.if_admin.set(k, 1 if itf.ifAdminStatus == "up" else 0)
                speed = interface_speed(itf)
                if speed is not None:
                    self.if_speed.set(k, speed / 8.0)
                for fam, value in (
                    (self.if_in, None if itf.in_bps is None else itf.in_bps / 8.0),
                    (self.if_out, None if itf.out_bps is None else itf.out_bps / 8.0),
                    (self.if_util, itf.utilisation),
                ):
                    if value is not None:
                        fam.set(k, value)
                for fam, direction, value in (
                    (self.if_errors, "in", itf.in_errors_ps),
                    (self.if_errors, "out", itf.out_errors_ps),
                    (self.if_discards, "in", itf.in_discards_ps),
                    (self.if_discards, "out", itf.out_discards_ps),
                ):
                    if value is not None:
                        fam.set((*k, direction), value)
            gone = self._device_ifs.get(dev, set()) - seen
            if gone:  # ports that disappeared (module removed, renumbered): drop their series
                self._forget_interfaces(gone)
            self._device_ifs[dev] = seen
        if self.influx is not None:
            self.influx.write(device_lines(site, poll))

    def _forget_interfaces(self, keys: set[tuple[str, ...]]) -> None:
        for fam in (self.if_up, self.if_admin, self.if_speed, self.if_in, self.if_out, self.if_util):
            for k in keys:
                fam.remove(k)
        for fam in (self.if_errors, self.if_discards):
            fam.remove_where(lambda labels: labels[:3] in keys)

    def families(self) -> list[Family]:
        """The stored (not scrape-time) families, for tests and benches."""
        return [f for f in self.registry.families if isinstance(f, Family)]


def interface_name(itf: Any) -> str:
    return str(itf.ifName or itf.ifDescr or f"ifIndex{itf.ifIndex}")


def interface_speed(itf: Any) -> float | None:
    if itf.ifHighSpeed:
        return float(itf.ifHighSpeed) * 1_000_000
    if itf.ifSpeed is not None:
        return float(itf.ifSpeed)
    return None


# --- history points (DESIGN §5: measurements host, probe, device, interface) --------------------------


def host_observation(reports: Sequence[Any]) -> dict[str, Any]:
    """What `/metrics` shows of a host, from its newest report, as plain JSON-able values: computed by
    the ingest worker (which holds the validated reports), applied by `Telemetry.apply_host_observation`."""
    newest = reports[-1]
    m = newest.metrics
    return {
        "hostname": newest.host.hostname,
        "cpu": m.cpu.percent / 100.0 if m.cpu is not None else None,
        "load1": m.cpu.load_1m if m.cpu is not None else None,
        "mem": 1.0 - m.memory.available_bytes / m.memory.total_bytes
        if m.memory is not None and m.memory.total_bytes
        else None,
        "mem_total": m.memory.total_bytes if m.memory is not None else None,
        "fs": [
            (fs.mountpoint, fs.percent / 100.0, fs.total_bytes, fs.free_bytes) for fs in m.filesystems or ()
        ],
        "disk": [(d.device, d.read_bytes, d.write_bytes) for d in m.disk_io or ()],
        "spool_dropped": newest.agent.spool_dropped_total,
        "cycle_cpu": newest.agent.cycle_cpu_s,
        "probes": [
            (
                p.name,
                p.kind,
                p.ok,
                p.loss_ratio,
                None if p.rtt_avg_ms is None else p.rtt_avg_ms / 1000.0,
                None if p.jitter_ms is None else p.jitter_ms / 1000.0,
            )
            for p in newest.probes
        ],
    }


def host_lines(site: str, host_id: str, reports: Iterable[Any]) -> list[str]:
    """Line protocol for reports of one host: `host` (+ per mountpoint), `probe` per target."""
    from canhgac_collector.metrics.history import line, tag_set

    out: list[str] = []
    for report in reports:
        ts = int(report.collected_at.timestamp() * 1000)
        hostname = report.host.hostname
        tags = (("site", site), ("host", hostname), ("host_id", host_id))
        m = report.metrics
        fields: dict[str, float | int | bool | str | None] = {
            "cpu_usage_ratio": _ratio(m.cpu.percent) if m.cpu else None,
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


def device_lines(site: str, poll: DevicePoll) -> list[str]:
    """Line protocol for one poll: `device`, and `interface` per port (rates once two samples exist)."""
    from canhgac_collector.metrics.history import line, tag_set

    ts = int(poll.started_at * 1000)
    res = poll.resources
    fields: dict[str, float | int | bool | str | None] = {
        "up": 1.0 if poll.state == "up" else 0.0,
        "poll_duration_seconds": float(poll.duration_s),
    }
    if res is not None:
        fields["cpu_usage_ratio"] = _ratio(res.cpu_percent)
        if res.memory_total_bytes and res.memory_used_bytes is not None:
            fields["memory_usage_ratio"] = res.memory_used_bytes / res.memory_total_bytes
        if res.temperatures_c:
            fields["temperature_max_celsius"] = float(max(res.temperatures_c.values()))
    out = [line(tag_set("device", (("site", site), ("device", poll.device))), fields, ts)]
    for itf in poll.interfaces:
        out.append(
            line(
                tag_set(
                    "interface", (("site", site), ("device", poll.device), ("ifName", interface_name(itf)))
                ),
                {
                    "oper_up": 1.0 if itf.ifOperStatus == "up" else 0.0,
                    "in_bps": itf.in_bps,
                    "out_bps": itf.out_bps,
                    "utilisation_ratio": itf.utilisation,
                    "in_errors_ps": itf.in_errors_ps,
                    "out_errors_ps": itf.out_errors_ps,
                    "in_discards_ps": itf.in_discards_ps,
                    "out_discards_ps": itf.out_discards_ps,
                },
                ts,
            )
        )
    return [p for p in out if p]


def seed_hosts(telemetry: Telemetry, sessions: Any) -> int:
    """Load every host with a report from the store (start-up, not at scrape), so hosts that stay silent
    after a restart still show as stale/down instead of vanishing from `/metrics`."""
    from sqlalchemy import select

    from canhgac_collector.store.models import Host, Site

    with sessions() as session:
        rows = session.execute(
            select(Host.id, Site.code, Host.hostname, Host.last_report_at).join(Site, Host.site_id == Site.id)
        ).all()
    for host_id, site, hostname, last_report_at in rows:
        telemetry.seed_host(
            host_id, site, hostname, last_report_at.timestamp() if last_report_at is not None else None
        )
    return len(rows)
