"""Periodic compliance scans: every site that declares a level is scanned at it every `interval_h`.

Runs in one daemon thread (a scan is CPU and database work, not asyncio work); each site's scan commits
on its own, so one failing site never stops the others. `on_scan` hears every stored scan (the app
uses it to refresh the scores /metrics shows).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.compliance.exposure import ExposureSettings
from canhgac_collector.compliance.scan import ScanOptions, run_site_scan
from canhgac_collector.config import ServerConfig, walk_sites
from canhgac_collector.store.models import Scan
from canhgac_collector.store.secrets import SecretBox

log = logging.getLogger("canhgac.compliance")


def management_networks(config: ServerConfig) -> dict[str, list[str]]:
    """Site code → management CIDRs: the site's own `management_networks`, else its nearest ancestor's."""
    out: dict[str, list[str]] = {}
    for site, parent in walk_sites(config.sites):
        own = [str(net) for net in site.management_networks]
        out[site.code] = own or (out.get(parent.code, []) if parent else [])
    return out


def scan_options(config: ServerConfig, box: SecretBox | None) -> ScanOptions:
    public = config.compliance.public_address_scan
    return ScanOptions(
        management_networks=management_networks(config),
        box=box,
        probe_default_communities=config.compliance.active_probe_default_communities,
        public_addresses={
            site.code: [str(a) for a in site.public_addresses] for site, _ in walk_sites(config.sites)
        },
        public_scan=ExposureSettings(
            tcp_ports=list(public.tcp_ports),
            snmp=public.snmp,
            timeout_s=public.timeout_s,
            max_probes_per_s=public.max_probes_per_s,
        )
        if public.enabled
        else None,
    )


def scheduled_sites(config: ServerConfig) -> list[str]:
    """Sites that declare a level themselves (children that only inherit it are inside their scan)."""
    return [site.code for site, _ in walk_sites(config.sites) if site.level is not None]


class ComplianceScheduler:
    """Scan each scheduled site every `interval_h` hours, first after `initial_delay_s` (default: 30 s,
    or the interval if shorter)."""

    def __init__(
        self,
        config: ServerConfig,
        sessions: sessionmaker[Session],
        box: SecretBox | None,
        *,
        on_scan: Callable[[Scan, Mapping[str, Any]], None] | None = None,
        initial_delay_s: float | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.box = box
        self.options = scan_options(config, box)
        self.on_scan = on_scan
        # First pass soon after start (not a whole interval later), but not in the start-up rush.
        interval_s = config.compliance.interval_h * 3600
        self.initial_delay_s = initial_delay_s if initial_delay_s is not None else min(30.0, interval_s)
        self.runs = 0  # completed passes over all sites
        self.failures = 0  # site scans that raised
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reconfigure(self, config: ServerConfig) -> None:
        """Scan a reloaded site tree from the next site on (declared levels, management networks,
        public addresses); the interval stays the one the scheduler started with."""
        self.options = scan_options(config, self.box)
        self.config = config

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="compliance-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def run_once(self) -> list[int]:
        """Scan every scheduled site now; returns the stored scan ids."""
        ids: list[int] = []
        for code in scheduled_sites(self.config):
            if self._stop.is_set():
                break
            try:
                with self.sessions.begin() as session:
                    scan, report = run_site_scan(
                        session, code, options=self.options, trigger="scheduled", actor="system"
                    )
                ids.append(scan.id)
                if self.on_scan is not None:
                    self.on_scan(scan, report)
            except Exception:
                self.failures += 1
                log.exception("scheduled compliance scan failed site=%s; next pass retries", code)
        self.runs += 1
        return ids

    def _loop(self) -> None:
        if self._stop.wait(self.initial_delay_s):
            return
        interval_s = self.config.compliance.interval_h * 3600
        while not self._stop.is_set():
            self.run_once()
            if self._stop.wait(interval_s):
                return
