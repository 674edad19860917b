"""Probes each site's declared `link_probe` address from the data centre, every `interval_s`.

A site whose agents are all silent is "unreachable" only when this side cannot reach it either; with
the line up the alert is `site_silent_link_up` (alerting/rules.py). The packets are the agent's own
probe code (ICMP echo with a TCP-connect fallback, loss/latency/jitter), run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from canhgac_agent.probes.run import run_probes
from canhgac_collector.sitelink.settings import SiteLinkSettings
from canhgac_collector.sitelink.state import LinkReading, SiteLinks
from canhgac_collector.sitetree import SiteNode
from canhgac_collector.tasks import cancel_and_wait

log = logging.getLogger("canhgac.sitelink")


def probe_targets(tree: dict[str, SiteNode]) -> list[dict[str, Any]]:
    """One agent-style probe target per site that declares `link_probe` (named by its site code)."""
    targets: list[dict[str, Any]] = []
    for code, node in tree.items():
        p = node.config.link_probe
        if p is None:
            continue
        target: dict[str, Any] = {"name": code, "kind": p.method, "host": str(p.address)}
        if p.port is not None:
            target["port"] = p.port
        targets.append(target)
    return targets


class SiteLinkProber:
    def __init__(
        self,
        settings: SiteLinkSettings,
        tree: dict[str, SiteNode],
        links: SiteLinks,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.links = links
        self.clock = clock
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None
        self.configure(settings, tree)

    def configure(self, settings: SiteLinkSettings, tree: dict[str, SiteNode]) -> None:
        """Use new settings and site tree from the next round (reload)."""
        self.settings = settings
        self.targets = probe_targets(tree)
        self.links.max_age_s = settings.interval_s * settings.fresh_intervals + settings.timeout_s * 2
        self.links.keep_only({t["name"] for t in self.targets})

    def probe_once(self) -> int:
        """Probe every declared address once (concurrently); returns how many were reached."""
        targets = list(self.targets)
        if not targets:
            return 0
        s = self.settings
        results = run_probes(targets, gateway=False, count=s.count, timeout_s=s.timeout_s)
        now = self.clock()
        reached = 0
        for r in results:
            reading = LinkReading(
                ok=bool(r.get("ok")),
                method=str(r.get("method")),
                loss_ratio=float(r.get("loss_ratio", 1.0)),
                rtt_avg_ms=r.get("rtt_avg_ms"),
                jitter_ms=r.get("jitter_ms"),
                at=now,
            )
            self.links.record(str(r.get("name")), reading)
            reached += reading.ok
        self.rounds += 1
        return reached

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="site-link-probes")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait([task])

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.probe_once)
            except Exception:
                log.exception("site line probes failed; retrying next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.sleep(self.settings.interval_s)

    def register_metrics(self, registry: object) -> None:
        dynamic = getattr(registry, "dynamic", None)
        if dynamic is None:
            return

        def series(pick: Callable[[LinkReading], float | None]) -> Callable[[], list[Any]]:
            def read() -> list[Any]:
                out = []
                for site, r in sorted(self.links.readings().items()):
                    value = pick(r)
                    if value is not None:
                        out.append(((site,), float(value)))
                return out

            return read

        for name, help_text, pick in (
            ("up", "1 when the data centre reached the site's declared address in the last round.", _ok),
            ("loss_ratio", "Share of the last round's probes of the site's address lost.", _loss),
            ("rtt_ms", "Mean round-trip time to the site's declared address, last round.", _rtt),
            ("jitter_ms", "Mean difference of consecutive round-trip times, last round.", _jitter),
        ):
            dynamic(f"canhgac_site_link_{name}", "gauge", help_text, ("site",), series(pick))


def _ok(r: LinkReading) -> float:
    return 1.0 if r.ok else 0.0


def _loss(r: LinkReading) -> float:
    return r.loss_ratio


def _rtt(r: LinkReading) -> float | None:
    return r.rtt_avg_ms


def _jitter(r: LinkReading) -> float | None:
    return r.jitter_ms
