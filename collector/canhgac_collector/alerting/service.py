"""Alerting inside `canhgac serve`: the evaluation loop and the outbox dispatcher, each in its own asyncio
task whose blocking work runs in a thread (never on the event loop, so ingest is never held up)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.alerting.engine import AlertEngine
from canhgac_collector.alerting.links import LinkSigner, default_key_path, load_or_create_key
from canhgac_collector.alerting.outbox import Dispatcher
from canhgac_collector.config import ServerConfig
from canhgac_collector.sitetree import SiteNode
from canhgac_collector.store.models import Alert
from canhgac_collector.tasks import cancel_and_wait

log = logging.getLogger("canhgac.alerting")


class AlertService:
    def __init__(
        self,
        config: ServerConfig,
        sessions: sessionmaker[Session],
        tree: dict[str, SiteNode],
        site_ids: dict[str, int],
    ) -> None:
        self.config = config
        self.sessions = sessions
        key = load_or_create_key(default_key_path(config))
        self.signer = LinkSigner(key, config.alerting.ack_link_ttl_s)
        self.engine = AlertEngine(config, sessions, tree, site_ids, self.signer)
        self.dispatcher = Dispatcher(config.alerting, sessions)
        self.alerts_by_state: dict[tuple[str, str, str], int] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._nudged = asyncio.Event()  # set: evaluate now, not at the next interval
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def prepare(
        self, config: ServerConfig, tree: dict[str, SiteNode], site_ids: dict[str, int]
    ) -> AlertEngine:
        """The engine for a reloaded configuration (ValueError for an unknown site code); nothing
        changes until `apply`."""
        return self.engine.reconfigured(config, tree, site_ids)

    def apply(self, config: ServerConfig, engine: AlertEngine) -> None:
        """Use a reloaded configuration from the next evaluation and dispatch pass on (rules, windows,
        routing, contacts, channels); pending notifications and channel health carry over."""
        self.config = config
        self.engine = engine
        self.dispatcher.config = config.alerting

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._evaluate_loop(), name="alert-evaluate"),
            asyncio.create_task(self._dispatch_loop(), name="alert-dispatch"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)

    def nudge(self) -> None:
        """Evaluate now (from any thread): a trap changed a link's state and should not wait for the
        next evaluation interval."""
        loop = self._loop
        if loop is not None and self._tasks:
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(self._nudged.set)

    def evaluate_once(self) -> None:
        res = self.engine.evaluate()
        if res.opened or res.fired or res.resolved or res.notifications:
            log.info(
                "alerts evaluated conditions=%d opened=%d fired=%d resolved=%d escalated=%d queued=%d",
                res.conditions,
                res.opened,
                res.fired,
                res.resolved,
                res.escalated,
                res.notifications,
            )
        with self.sessions() as session:
            rows = session.execute(
                select(Alert.site_id, Alert.state, Alert.severity, func.count())
                .where(Alert.state != "resolved")
                .group_by(Alert.site_id, Alert.state, Alert.severity)
            ).all()
        codes = self.engine.site_codes
        self.alerts_by_state = {(codes.get(s, "?"), st, sev): int(n) for s, st, sev, n in rows}

    async def _evaluate_loop(self) -> None:
        while True:
            self._nudged.clear()  # a nudge during this evaluation runs another one right after
            try:
                await asyncio.to_thread(self.evaluate_once)
                self._wake.set()
            except Exception:
                log.exception("alert evaluation failed; retrying")
            with contextlib.suppress(TimeoutError):  # the interval is read each time: reloadable
                async with asyncio.timeout(self.config.alerting.evaluate_interval_s):
                    await self._nudged.wait()

    async def _dispatch_loop(self) -> None:
        # Due retries are checked at least every second; a fresh evaluation wakes the loop at once.
        while True:
            tick = min(1.0, self.config.alerting.retry_initial_s)
            try:
                await asyncio.to_thread(self.dispatcher.send_due)
            except Exception:
                log.exception("notification dispatch failed; retrying")
            self._wake.clear()
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that meets the
            # wake-up, and the loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(tick):
                    await self._wake.wait()

    # -- metrics (registered on the telemetry registry by the app) ----------------------------------

    def metric_skipped(self) -> Iterator[tuple[tuple[str, ...], float]]:
        for stage, n in sorted(self.engine.confined.items()):
            yield (stage,), n

    def metric_alerts(self) -> Iterator[tuple[tuple[str, ...], float]]:
        for (site, state, sev), n in sorted(self.alerts_by_state.items()):
            yield (site, state, sev), float(n)

    def metric_channel_up(self) -> Iterator[tuple[tuple[str, ...], float]]:
        for channel, h in sorted(self.dispatcher.health.items()):
            yield (channel,), 1.0 if h.up else 0.0

    def metric_pending(self) -> Iterator[tuple[tuple[str, ...], float]]:
        for channel, n in sorted(self.dispatcher.pending.items()):
            yield (channel,), float(n)

    def register_metrics(self, registry: object) -> None:
        dynamic = getattr(registry, "dynamic", None)
        if dynamic is None:
            return
        dynamic(
            "canhgac_alerts",
            "gauge",
            "Open alerts by site, state and severity.",
            ("site", "state", "severity"),
            self.metric_alerts,
        )
        dynamic(
            "canhgac_alert_evaluation_skipped_total",
            "counter",
            "Hosts, devices, interfaces or conditions skipped by alert evaluation because their stored "
            "data could not be read (the rest were evaluated), by stage.",
            ("stage",),
            self.metric_skipped,
        )
        dynamic(
            "canhgac_alert_channel_up",
            "gauge",
            "1 when the channel's last send succeeded, 0 after a failure (retries pending).",
            ("channel",),
            self.metric_channel_up,
        )
        dynamic(
            "canhgac_alert_notifications_pending",
            "gauge",
            "Notifications waiting in the outbox (new or retrying) by channel.",
            ("channel",),
            self.metric_pending,
        )
