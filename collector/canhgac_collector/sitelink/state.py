"""The newest probe reading of each site's line, shared by the prober (writer) and the alert engine."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class LinkReading:
    ok: bool
    method: str  # icmp | tcp (the ICMP probe falls back to TCP where echo requests are not permitted)
    loss_ratio: float
    rtt_avg_ms: float | None
    jitter_ms: float | None
    at: dt.datetime


class SiteLinks:
    """Site code → newest `LinkReading`; thread-safe. Readings older than `max_age_s` are ignored, so a
    stopped prober never keeps a site "reachable"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readings: dict[str, LinkReading] = {}
        self.max_age_s = 0.0

    def record(self, site: str, reading: LinkReading) -> None:
        with self._lock:
            self._readings[site] = reading

    def keep_only(self, sites: set[str]) -> None:
        """Forget sites no longer probed (after a reload)."""
        with self._lock:
            self._readings = {k: v for k, v in self._readings.items() if k in sites}

    def readings(self) -> dict[str, LinkReading]:
        with self._lock:
            return dict(self._readings)

    def reachable(self, now: dt.datetime) -> dict[str, bool]:
        """Site code → whether the data centre reached it, for sites with a fresh reading only."""
        oldest = now - dt.timedelta(seconds=self.max_age_s)
        return {site: r.ok for site, r in self.readings().items() if r.at >= oldest}
