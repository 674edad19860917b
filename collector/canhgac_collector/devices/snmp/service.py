"""The SNMP poller as it runs inside `canhgac serve`: its own thread and event loop.

Polling costs CPU (BER decoding); on its own loop it never stalls the API's request handling. Polls go
through a queue to one writer task that stores them in batches (one transaction per batch), so a thousand
devices a minute cost a few dozen commits, not a thousand. The device list is re-read from the store
periodically, so devices added or removed through the API are picked up without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import DeviceTarget
from canhgac_collector.config import SnmpPollConfig
from canhgac_collector.devices.metrics import DeviceMetrics
from canhgac_collector.devices.queries import state_counts
from canhgac_collector.devices.snmp.scheduler import PollScheduler
from canhgac_collector.devices.store import DeviceSink, load_device_targets
from canhgac_collector.store.secrets import SecretBox

log = logging.getLogger("canhgac.snmp")

DEVICE_REFRESH_S = 30.0  # how soon a device added through the API is polled
WRITE_BATCH_MAX = 200


class SnmpService:
    """Start with `start()`, stop with `stop()`; both from any thread."""

    def __init__(
        self,
        config: SnmpPollConfig,
        sessions: sessionmaker[Session],
        box: SecretBox,
        telemetry: DeviceMetrics,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.sink = DeviceSink(sessions)  # one transaction per batch, as the storage tests exercise it
        self.box = box
        self.telemetry = telemetry
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run_thread, name="snmp-poller", daemon=True)
        self._started = threading.Event()
        self.scheduler: PollScheduler | None = None
        self._device_sites: dict[str, str] = {}
        self._refresh_wake: asyncio.Event | None = None  # set: re-read the device list now

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def refresh_devices(self, config: SnmpPollConfig | None = None) -> None:
        """Re-read the device list now, not at the next periodic refresh (after a config reload);
        `config` replaces the per-device defaults (interval, timeout, retries) from then on."""
        if config is not None:
            self.config = config
        loop, wake = self._loop, self._refresh_wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the poller has just stopped
                loop.call_soon_threadsafe(wake.set)

    def stop(self, timeout: float = 10.0) -> None:
        loop, task = self._loop, self._main_task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout)

    # -- the poller thread -----------------------------------------------------------------------------

    def _run_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._main_task = loop.create_task(self._main())
            self._started.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._main_task)
        except Exception:
            log.exception("snmp poller stopped on an unexpected error")
        finally:
            self._started.set()
            loop.close()

    async def _main(self) -> None:
        queue: asyncio.Queue[DevicePoll] = asyncio.Queue()

        def on_poll(poll: DevicePoll) -> None:
            outcome = "ok" if poll.state == "up" else (poll.reason or poll.state)
            self.telemetry.snmp_polls[outcome] += 1
            self.telemetry.snmp_poll_seconds_sum += poll.duration_s
            self.telemetry.snmp_varbinds += poll.varbinds
            try:  # device/interface metrics and history points; never fails the poll
                self.telemetry.observe_poll(self._device_sites.get(poll.device, ""), poll)
            except Exception:
                log.exception("could not hand the poll of %s to metrics/history", poll.device)
            queue.put_nowait(poll)
            self.telemetry.snmp_record_queue_depth = queue.qsize()

        async with SnmpEngine() as engine:
            targets = await asyncio.to_thread(self._load_targets)
            scheduler = PollScheduler(
                engine,
                targets,
                on_poll,
                max_concurrency=self.config.max_concurrency,
                device_deadline_s=self.config.device_deadline_s,
                max_repetitions=self.config.max_repetitions,
            )
            self.scheduler = scheduler
            log.info("snmp poller started", extra={"devices": len(targets)})
            tasks = [
                asyncio.create_task(scheduler.run(), name="snmp-scheduler"),
                asyncio.create_task(self._writer(queue), name="snmp-writer"),
                asyncio.create_task(self._refresh(scheduler), name="snmp-refresh"),
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self._drain(queue)

    def _load_targets(self) -> list[DeviceTarget]:
        with self.sessions() as session:
            targets = load_device_targets(session, self.box, self.config)
        self._device_sites = {t.name: t.site for t in targets}  # for metrics/history labels
        return targets

    async def _refresh(self, scheduler: PollScheduler) -> None:
        wake = self._refresh_wake = asyncio.Event()
        while True:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that meets the wake-up,
            # and the poller would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DEVICE_REFRESH_S):
                    await wake.wait()
            wake.clear()
            try:
                scheduler.update_devices(await asyncio.to_thread(self._load_targets))
                await asyncio.to_thread(self._count_states)
            except Exception:
                log.exception("could not refresh the device list; keeping the current one")

    async def _writer(self, queue: asyncio.Queue[DevicePoll]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < WRITE_BATCH_MAX:
                batch.append(queue.get_nowait())
            self.telemetry.snmp_record_queue_depth = queue.qsize()
            await self._store(batch)

    async def _store(self, batch: list[DevicePoll]) -> None:
        for attempt in range(5):
            try:
                await asyncio.to_thread(self._write, batch)
                return
            except Exception:
                log.exception("storing %d device polls failed (attempt %d)", len(batch), attempt + 1)
                await asyncio.sleep(min(30.0, 2.0**attempt))
        log.error("dropped %d device polls after 5 failed attempts", len(batch))

    def _write(self, batch: list[DevicePoll]) -> None:
        self.sink.write_many(batch)
        self._count_states()

    async def _drain(self, queue: asyncio.Queue[DevicePoll]) -> None:
        batch: list[DevicePoll] = []
        while not queue.empty():
            batch.append(queue.get_nowait())
        if batch:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._write, batch)

    def _count_states(self) -> None:
        started = time.monotonic()
        with self.sessions() as session:
            self.telemetry.devices_by_site_state = state_counts(session)
        log.debug("device states counted in %.3f s", time.monotonic() - started)
