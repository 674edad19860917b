"""Scheduled config pulls: every device with an `ssh:` block is pulled every `interval_h` hours, and at
once when someone asks (API/CLI "pull now" sets `config_pull_requested_at`).

One daemon thread finds the due devices every `check_interval_s`; the pulls themselves run in the pull
pool (bounded concurrency, per-device timeout, a deadline per pass), so neither the API nor the SNMP loop
ever waits on a device. Each result is recorded in its own transaction: one device that fails, or whose
record fails, stops nothing for the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from dataclasses import dataclass, replace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.devices.configs.credentials import ssh_target_for
from canhgac_collector.devices.configs.history import record_pull
from canhgac_collector.devices.configs.pool import pull_many
from canhgac_collector.devices.configs.settings import DeviceConfigsSettings
from canhgac_collector.devices.configs.target import PullError, PullResult, SshTarget
from canhgac_collector.store.models import Device
from canhgac_collector.store.secrets import SecretBox, SecretsError

log = logging.getLogger("canhgac.configs")


@dataclass
class PullCounts:
    """Pull outcomes since start, for /metrics (`canhgac_config_pulls_total{outcome}`)."""

    by_outcome: Counter[str]
    passes: int = 0
    seconds_sum: float = 0.0


def due_devices(session: Session, now: dt.datetime, interval: dt.timedelta) -> list[Device]:
    """Devices with SSH settings whose last pull is older than `interval`, never pulled, or asked for."""
    return list(
        session.scalars(
            select(Device)
            .where(Device.ssh_username.is_not(None))
            .where(
                or_(
                    Device.config_pull_requested_at.is_not(None),
                    Device.config_pull_at.is_(None),
                    Device.config_pull_at < now - interval,
                )
            )
            .order_by(Device.config_pull_requested_at.is_(None), Device.config_pull_at, Device.name)
        )
    )


class ConfigPullService:
    """Pull due devices' running configs in the background and record them in the history."""

    def __init__(
        self, settings: DeviceConfigsSettings, sessions: sessionmaker[Session], box: SecretBox
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.box = box
        self.counts = PullCounts(Counter())
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="config-puller", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def register_metrics(self, registry: object) -> None:
        dynamic = getattr(registry, "dynamic", None)
        if dynamic is None:
            return
        dynamic(
            "canhgac_config_pulls_total",
            "counter",
            "Device config pulls over SSH by outcome (ok, or the failure kind: auth, timeout, …).",
            ("outcome",),
            lambda: (((k,), float(n)) for k, n in sorted(self.counts.by_outcome.items())),
        )
        dynamic(
            "canhgac_config_pull_seconds_total",
            "counter",
            "Time spent in successful config pulls (divide by the ok pulls for the mean).",
            (),
            lambda: [((), self.counts.seconds_sum)],
        )

    def wake(self) -> None:
        """Look for due devices now (a pull was just requested)."""
        self._wake.set()

    def run_once(self, now: dt.datetime | None = None) -> Counter[str]:
        """One pass: pull every due device (at most `max_per_pass`) and record each result."""
        now = now or dt.datetime.now(dt.UTC)
        interval = dt.timedelta(hours=self.settings.pull_interval_h)
        work: list[tuple[int, SshTarget]] = []
        outcomes: Counter[str] = Counter()
        with self.sessions.begin() as session:
            for device in due_devices(session, now, interval)[: self.settings.max_per_pass]:
                try:
                    target = ssh_target_for(device, self.box)
                except (ValueError, SecretsError, KeyError) as exc:
                    record_pull(session, device.id, PullError("usage", str(exc)), now)
                    outcomes["usage"] += 1
                    continue
                if target is not None:
                    work.append((device.id, replace(target, timeout_s=self.settings.timeout_s)))
        if work:
            results = pull_many(
                [t for _, t in work],
                max_workers=self.settings.concurrency,
                deadline_s=self.settings.pass_deadline_s,
            )
            for (device_id, _), result in zip(work, results, strict=True):
                outcomes[self._record(device_id, result)] += 1
        self.counts.by_outcome.update(outcomes)
        self.counts.passes += 1
        return outcomes

    def _record(self, device_id: int, result: PullResult | PullError) -> str:
        try:
            with self.sessions.begin() as session:
                record_pull(
                    session,
                    device_id,
                    result,
                    dt.datetime.now(dt.UTC),
                    retention=self.settings.retention_versions,
                )
        except Exception:
            log.exception("could not record the config pull of device id=%d", device_id)
            return "record_failed"
        if isinstance(result, PullError):
            return result.kind
        self.counts.seconds_sum += result.duration_s
        return "ok"

    def _loop(self) -> None:
        if self._stop.wait(self.settings.initial_delay_s):
            return
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("config pull pass failed; the next pass retries")
            self._wake.wait(self.settings.check_interval_s)
            self._wake.clear()
