"""The LAN domain on `/metrics`: devices known/unknown per site, detections by site and type, and the
sensors' own capture health per reporting host.

The ingest worker's reply carries each stored LAN section's `LanObservation` (as JSON); the HTTP face
hands it to `LanMetrics.apply` on the event loop. Label sets are bounded: sites come from the
configuration, types from the report schema, hosts by the family's series cap.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from canhgac_collector.metrics.exposition import Registry
from canhgac_collector.metrics.telemetry import MetricsPlugin, Telemetry

log = logging.getLogger("canhgac.lan")

HOST = ("site", "host_id", "host")
EVENT_TYPES = ("device_new", "dhcp_rogue", "arp_spoof", "ip_conflict", "mac_flood")
MAX_SENSORS = 5_000  # a province: one sensor per site, ~300 sites
MAX_SITES = 10_000


class LanMetrics:
    """Written on the event loop from the ingest worker's replies."""

    def __init__(self, registry: Registry, telemetry: Telemetry) -> None:
        self.devices_by_site: dict[str, dict[str, int]] = {}  # site → known|unknown → devices
        self.events: Counter[tuple[str, str]] = Counter()  # (site, type) → stored detections
        self.dropped: Counter[str] = Counter()  # site → detections dropped (sensor or server bound)
        self.suppressed: Counter[str] = Counter()  # site → detections of approved DHCP servers
        self.evicted: Counter[str] = Counter()  # site → devices evicted past the per-site cap
        d = registry.dynamic
        g = registry.family
        d(
            "canhgac_lan_devices",
            "gauge",
            "LAN devices per site from the merged inventory, known (approved, agent host, inventoried "
            "device) or unknown.",
            ("site", "status"),
            lambda: (
                ((site, status), float(by.get(status, 0)))
                for site, by in sorted(self.devices_by_site.items())
                for status in ("known", "unknown")
            ),
        )
        d(
            "canhgac_lan_events_total",
            "counter",
            "LAN sensor detections stored, by site and type.",
            ("site", "type"),
            lambda: ((k, float(n)) for k, n in sorted(self.events.items())),
        )
        d(
            "canhgac_lan_events_dropped_total",
            "counter",
            "LAN detections not stored: dropped by the sensor's bound or the server's per-report bound.",
            ("site",),
            lambda: (((s,), float(n)) for s, n in sorted(self.dropped.items())),
        )
        d(
            "canhgac_lan_events_suppressed_total",
            "counter",
            "DHCP detections of servers approved for the site (not stored, no alert).",
            ("site",),
            lambda: (((s,), float(n)) for s, n in sorted(self.suppressed.items())),
        )
        d(
            "canhgac_lan_devices_evicted_total",
            "counter",
            "LAN devices evicted (the longest unseen) because the site reached lan.max_devices_per_site.",
            ("site",),
            lambda: (((s,), float(n)) for s, n in sorted(self.evicted.items())),
        )
        self.packets = g(
            "canhgac_lan_sensor_packets_total",
            "counter",
            "Packets the LAN sensor captured, all its interfaces, as it last reported.",
            HOST,
            MAX_SENSORS,
        )
        self.packets_dropped = g(
            "canhgac_lan_sensor_packets_dropped_total",
            "counter",
            "Packets the kernel dropped before the LAN sensor read them, as it last reported.",
            HOST,
            MAX_SENSORS,
        )
        self.capture_errors = g(
            "canhgac_lan_sensor_capture_errors",
            "gauge",
            "Interfaces on which the LAN sensor cannot capture (see the host's lan captures for why).",
            HOST,
            MAX_SENSORS,
        )

    def apply(self, observation: dict[str, Any]) -> None:
        """One host's stored LAN sections (`LanObservation.to_json`)."""
        site = str(observation["site"])
        host = (site, str(observation["host_id"]), str(observation["hostname"]))
        for kind, n in observation["events"].items():
            if kind in EVENT_TYPES:
                self.events[(site, kind)] += int(n)
        self.dropped[site] += int(observation["dropped"])
        self.suppressed[site] += int(observation["suppressed"])
        self.evicted[site] += int(observation["evicted"])
        if observation["devices"] and (site in self.devices_by_site or len(self.devices_by_site) < MAX_SITES):
            self.devices_by_site[site] = {k: int(v) for k, v in observation["devices"].items()}
        captures = observation["captures"]
        if captures:
            self.packets.set(host, float(sum(int(c[1]) for c in captures)))
            self.packets_dropped.set(host, float(sum(int(c[2]) for c in captures)))
            self.capture_errors.set(host, float(sum(1 for c in captures if c[3])))


PLUGIN = MetricsPlugin("lan", LanMetrics)
