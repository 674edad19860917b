"""The edge poller: its own thread and event loop, one `SnmpEngine`, one task per configured switch.

Each switch is polled every `interval_s` with the shared `poll_device` (its previous poll kept, so the
agent computes rates); each finished poll becomes an `EdgePoll` dict in a bounded queue that the runner
empties into each report (`section()`, oldest first, at most 64 and ~8 MB a report). A switch that times
out, answers garbage or trips a bug costs that switch that poll, logged once per change of its state;
the other switches and the agent's own reports go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import threading
import time
from collections import deque
from typing import Any, NamedTuple

from canhgac_agent.config import SnmpConfig, SnmpDeviceConfig, fields
from canhgac_agent.edge.config import split_address
from canhgac_agent.edge.wire import edge_poll, topology_of
from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.poller import endpoint, poll_device
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import Credentials, DeviceTarget, Target

QUEUE_MAX = 256  # finished polls waiting for a report (4 minutes of 64 switches polled every minute)
SECTION_MAX_POLLS = 64  # SnmpSection.polls
SECTION_MAX_BYTES = 8 * 1024 * 1024  # JSON per report: well inside the server's decompressed limit
MAX_DEADLINE_S = 120.0  # one switch's whole poll; never longer than its interval
STAGGER_S = 0.5  # first polls spread out, so the switches are not all asked at the same instant

_log = logging.getLogger(__name__)


def device_target(device: SnmpDeviceConfig, config: SnmpConfig) -> DeviceTarget:
    """The shared poller's view of one configured switch (secrets revealed here, kept in memory only)."""
    host, port = split_address(device.address)

    def raw(secret: Any) -> bytes:
        return secret.reveal().encode() if secret is not None else b""

    credentials = Credentials(
        version=device.version,  # type: ignore[arg-type]  # checked at load: "1", "2c" or "3"
        community=raw(device.community),
        user=(device.user or "").encode(),
        auth_protocol=device.auth_protocol if device.version == "3" else "none",  # type: ignore[arg-type]
        auth_key=raw(device.auth_key),
        priv_protocol=device.priv_protocol if device.version == "3" else "none",  # type: ignore[arg-type]
        priv_key=raw(device.priv_key),
        context_name=device.context_name.encode(),
    )
    target = Target(host, port, timeout_s=config.timeout_s, retries=config.retries)
    return DeviceTarget(device.name, "", target, credentials, interval_s=config.interval_s)


def address_of(target: Target) -> str:
    """What the poll says was polled: host, or host:port when the port is not 161."""
    if target.port == 161:
        return target.host
    return endpoint(target)


class _Queued(NamedTuple):
    poll: dict[str, Any]
    size: int  # bytes of its JSON


class EdgePoller:
    """`start()`, then `section()` once a report; `stop()` at the end. Counters are plain attributes."""

    def __init__(self, config: SnmpConfig, *, queue_max: int = QUEUE_MAX) -> None:
        self.config = config
        self.targets = [device_target(d, config) for d in config.devices]
        self.queue_max = queue_max
        self.deadline_s = min(config.interval_s, MAX_DEADLINE_S)
        self.polls = 0
        self.failures = 0  # polls whose state is not "up"
        self.internal_errors = 0  # polls a bug (ours or a reply we did not foresee) ended
        self._lock = threading.Lock()
        self._queue: deque[_Queued] = deque()
        self._dropped = 0
        self._previous: dict[str, DevicePoll] = {}
        self._topology_sent: dict[str, tuple[str, float]] = {}  # device → (digest, monotonic time)
        self._outcomes: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run_thread, name="edge-poller", daemon=True)

    # -- the runner's side -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        loop, task = self._loop, self._main
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout)

    def has_news(self) -> bool:
        with self._lock:
            return bool(self._queue) or self._dropped > 0

    def section(self) -> dict[str, Any]:
        """`Report.snmp`: the oldest waiting polls (≤ 64, ≤ ~8 MB of JSON, at least one) and how many
        polls the full queue dropped since the previous section."""
        polls: list[dict[str, Any]] = []
        size = 0
        with self._lock:
            while self._queue and len(polls) < SECTION_MAX_POLLS:
                if polls and size + self._queue[0].size > SECTION_MAX_BYTES:
                    break
                item = self._queue.popleft()
                polls.append(item.poll)
                size += item.size
            dropped, self._dropped = self._dropped, 0
        return {"polls": polls, "polls_dropped": dropped}

    # -- the poller thread -----------------------------------------------------------------------------

    def _run_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._main = loop.create_task(self._run())
            self._started.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._main)
        except Exception:
            _log.exception("edge poller stopped on an unexpected error")
        finally:
            self._started.set()
            loop.close()

    async def _run(self) -> None:
        async with SnmpEngine() as engine:
            _log.info("edge poller started", extra=fields(devices=len(self.targets)))
            tasks = [
                asyncio.create_task(self._device_loop(engine, target, i * STAGGER_S), name=target.name)
                for i, target in enumerate(self.targets)
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                _log.info("edge poller stopped", extra=fields(polls=self.polls, failures=self.failures))

    async def _device_loop(self, engine: SnmpEngine, device: DeviceTarget, offset: float) -> None:
        loop = asyncio.get_running_loop()
        interval = device.interval_s
        base = loop.time() + offset
        cycle = 0
        while True:
            await asyncio.sleep(max(0.0, base + cycle * interval - loop.time()))
            poll = await self._poll(engine, device)
            try:
                self._finish(device, poll)
            except Exception:  # a bug in our own conversion: this poll is lost, counted, the loop goes on
                self.internal_errors += 1
                _log.exception("edge poll of %s could not be queued", device.name)
            # A poll longer than its interval skips the missed slots rather than queueing them.
            cycle = max(cycle + 1, math.ceil((loop.time() - base) / interval))

    async def _poll(self, engine: SnmpEngine, device: DeviceTarget) -> DevicePoll:
        started, clock = time.time(), time.perf_counter()
        reason, detail = "deadline", ""
        try:
            async with asyncio.timeout(self.deadline_s):
                return await poll_device(
                    engine,
                    device,
                    previous=self._previous.get(device.name),
                    max_repetitions=self.config.max_repetitions,
                )
        except TimeoutError:
            detail = f"poll of {endpoint(device.target)} did not finish within {self.deadline_s:g} s"
        except Exception as exc:  # a reply the decoders did not foresee, or a bug: this switch, this poll
            self.internal_errors += 1
            reason, detail = "internal_error", f"poll of {endpoint(device.target)} failed: {exc!r}"
        return DevicePoll(
            device=device.name,
            started_at=started,
            duration_s=time.perf_counter() - clock,
            state="error",
            reason=reason,
            detail=detail,
        )

    def _finish(self, device: DeviceTarget, poll: DevicePoll) -> None:
        self.polls += 1
        if poll.state == "up":
            self._previous[device.name] = poll
        else:
            self.failures += 1
        self._log_change(device, poll)
        topology = self._topology_due(device.name, poll)
        entry = edge_poll(poll, address_of(device.target), topology=topology)
        size = len(json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode())
        with self._lock:
            while len(self._queue) >= self.queue_max:
                lost = self._queue.popleft().poll
                self._dropped += 1
                if lost.get("topology"):  # send it again with the next poll of that switch
                    self._topology_sent.pop(lost["device"], None)
            self._queue.append(_Queued(entry, size))

    def _topology_due(self, name: str, poll: DevicePoll) -> dict[str, list[dict[str, Any]]] | None:
        """neighbors/fdb/arp when they changed since last sent, or `topology_every_s` has passed."""
        if poll.state != "up":
            return None
        topology = topology_of(poll)
        digest = hashlib.sha256(json.dumps(topology, sort_keys=True).encode()).hexdigest()
        now = time.monotonic()
        sent = self._topology_sent.get(name)
        if sent is not None and sent[0] == digest and now - sent[1] < self.config.topology_every_s:
            return None
        self._topology_sent[name] = (digest, now)
        return topology

    def _log_change(self, device: DeviceTarget, poll: DevicePoll) -> None:
        outcome = poll.state if poll.state == "up" else f"{poll.state}:{poll.reason}"
        if self._outcomes.get(device.name) == outcome:
            return
        self._outcomes[device.name] = outcome
        level = logging.INFO if poll.state == "up" else logging.WARNING
        _log.log(
            level,
            "edge device %s",
            "answers" if poll.state == "up" else "does not answer",
            extra=fields(device=device.name, state=poll.state, reason=poll.reason, detail=poll.detail),
        )
