"""Poll every device on its interval, each in its own task, so a dead or slow device never delays the rest.

Each device is polled at `t0 + offset + k·interval_s`, where `offset` is a stable per-device jitter in
[0, interval) derived from its name: a thousand switches spread over the minute instead of bursting at
its start, and the same device keeps its slot across restarts. A semaphore bounds how many devices are
polled at once; `device_deadline_s` bounds one device's poll (then: state "error", reason "deadline").
Missed slots (a poll longer than its interval) are skipped, never queued.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from canhgac_agent.snmp.modules.base import Engine
from canhgac_agent.snmp.poller import endpoint, poll_device
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import DeviceTarget

log = logging.getLogger(__name__)

OnPoll = Callable[[DevicePoll], Awaitable[None] | None]


def jitter_fraction(name: str) -> float:
    """A stable number in [0, 1) for a device name (the same on every run and machine)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(slots=True)
class _Cycle:
    started: float
    ended: float = 0.0
    done: set[str] = field(default_factory=set)


class PollScheduler:
    """Polls `devices` forever (`run()`) or once (`poll_once()`), handing each DevicePoll to `on_poll`.

    Self-stats are plain attributes: `polls`, `failures` (state not "up"), `deadlines`, `skipped_slots`,
    `last_cycle_duration_s` (first start → last end of the most recent cycle in which every device was
    polled once), `last_cycle_polls`. `previous` holds each device's last successful poll (for rates).
    `on_poll` may be sync or async; it runs on the event loop, so it must not block.
    """

    def __init__(
        self,
        engine: Engine,
        devices: list[DeviceTarget],
        on_poll: OnPoll,
        *,
        max_concurrency: int = 128,
        device_deadline_s: float = 30.0,
        max_repetitions: int = 25,
        jitter: bool = True,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.engine = engine
        self.on_poll = on_poll
        self.max_concurrency = max_concurrency
        self.device_deadline_s = device_deadline_s
        self.max_repetitions = max_repetitions
        self.jitter = jitter
        self.devices: dict[str, DeviceTarget] = {}
        self.previous: dict[str, DevicePoll] = {}
        self.polls = 0
        self.failures = 0
        self.deadlines = 0
        self.skipped_slots = 0
        self.last_cycle_duration_s: float | None = None
        self.last_cycle_polls = 0
        self._semaphore: asyncio.Semaphore | None = None
        self._semaphore_loop: asyncio.AbstractEventLoop | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._t0: float | None = None
        self._cycles: dict[int, _Cycle] = {}
        self.update_devices(devices)

    # -- public ---------------------------------------------------------------------------------------

    def offset(self, device: DeviceTarget) -> float:
        """Seconds after the cycle start at which this device is polled."""
        return jitter_fraction(device.name) * device.interval_s if self.jitter else 0.0

    def update_devices(self, devices: Iterable[DeviceTarget]) -> None:
        """Replace the device list live: new devices start at their next slot, removed ones stop, changed
        ones restart (keeping their previous poll unless their address changed). Call from the loop."""
        wanted = {d.name: d for d in devices}
        for name in list(self.devices):
            old, new = self.devices[name], wanted.get(name)
            if new == old:
                continue
            self._stop_task(name)
            del self.devices[name]
            if new is None or new.target.host != old.target.host or new.target.port != old.target.port:
                self.previous.pop(name, None)
        for name, device in wanted.items():
            if name not in self.devices:
                self.devices[name] = device
                if self._t0 is not None:
                    self._start_task(device)

    async def poll_once(self, names: Iterable[str] | None = None) -> list[DevicePoll]:
        """Poll the named devices (default: all) once, concurrently within the bound; in device order."""
        chosen = list(self.devices.values()) if names is None else [self.devices[n] for n in names]
        began = time.monotonic()
        polls = await asyncio.gather(*(self._poll_and_report(d) for d in chosen))
        self.last_cycle_duration_s = time.monotonic() - began
        self.last_cycle_polls = len(polls)
        return list(polls)

    async def run(self) -> None:
        """Poll every device on its schedule until cancelled."""
        loop = asyncio.get_running_loop()
        self._t0 = loop.time()
        log.info("snmp scheduler started", extra={"devices": len(self.devices)})
        try:
            for device in self.devices.values():
                self._start_task(device)
            await asyncio.Event().wait()  # until cancelled
        finally:
            tasks = list(self._tasks.values())
            for name in list(self._tasks):
                self._stop_task(name)
            await asyncio.gather(*tasks, return_exceptions=True)
            self._t0 = None
            log.info("snmp scheduler stopped", extra={"polls": self.polls, "failures": self.failures})

    # -- internals ------------------------------------------------------------------------------------

    def _start_task(self, device: DeviceTarget) -> None:
        self._tasks[device.name] = asyncio.create_task(self._device_loop(device), name=f"snmp:{device.name}")

    def _stop_task(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()

    async def _device_loop(self, device: DeviceTarget) -> None:
        loop = asyncio.get_running_loop()
        assert self._t0 is not None
        interval, base = device.interval_s, self._t0 + self.offset(device)
        cycle = max(0, math.ceil((loop.time() - base) / interval))
        while True:
            await asyncio.sleep(max(0.0, base + cycle * interval - loop.time()))
            await self._poll_and_report(device, cycle)
            later = math.ceil((loop.time() - base) / interval)
            if later > cycle + 1:
                self.skipped_slots += later - cycle - 1
                log.warning(
                    "device %s: poll outlasted its interval, %d slot(s) skipped",
                    device.name,
                    later - cycle - 1,
                    extra={"device": device.name},
                )
            cycle = max(cycle + 1, later)

    async def _poll(self, device: DeviceTarget) -> DevicePoll:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:  # a semaphore serves one loop
            self._semaphore, self._semaphore_loop = asyncio.Semaphore(self.max_concurrency), loop
        async with self._semaphore:
            started, clock = time.time(), time.perf_counter()
            try:
                async with asyncio.timeout(self.device_deadline_s):
                    return await poll_device(
                        self.engine,
                        device,
                        previous=self.previous.get(device.name),
                        max_repetitions=self.max_repetitions,
                    )
            except TimeoutError:
                self.deadlines += 1
                return DevicePoll(
                    device=device.name,
                    started_at=started,
                    duration_s=time.perf_counter() - clock,
                    state="error",
                    reason="deadline",
                    detail=(
                        f"poll of {endpoint(device.target)} did not finish within "
                        f"{self.device_deadline_s:g} s and was stopped"
                    ),
                )
            except Exception as exc:  # a bug must cost one device one poll, not the scheduler
                log.exception("device %s: poll failed unexpectedly", device.name)
                return DevicePoll(
                    device=device.name,
                    started_at=started,
                    duration_s=time.perf_counter() - clock,
                    state="error",
                    reason="internal_error",
                    detail=f"poll of {endpoint(device.target)} failed: {exc!r}",
                )

    async def _poll_and_report(self, device: DeviceTarget, cycle: int | None = None) -> DevicePoll:
        began = time.monotonic()
        poll = await self._poll(device)
        self.polls += 1
        if poll.state == "up":
            self.previous[device.name] = poll
        else:
            self.failures += 1
        if cycle is not None:
            self._note_cycle(device.name, cycle, began, time.monotonic())
        try:
            result = self.on_poll(poll)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_poll failed for device %s", device.name)
        return poll

    def _note_cycle(self, name: str, cycle: int, began: float, ended: float) -> None:
        entry = self._cycles.setdefault(cycle, _Cycle(started=began))
        entry.started = min(entry.started, began)
        entry.ended = max(entry.ended, ended)
        entry.done.add(name)
        if set(self.devices) <= entry.done:
            self.last_cycle_duration_s = entry.ended - entry.started
            self.last_cycle_polls = len(entry.done)
            for old in [c for c in self._cycles if c <= cycle]:
                del self._cycles[old]
        for old in [c for c in self._cycles if c < cycle - 3]:  # devices removed mid-cycle
            del self._cycles[old]
