"""The trap receiver inside `canhgac serve`: a UDP socket read by one thread, stored by another.

`snmp-traps` decodes, authenticates, maps each datagram to its device, answers informs and applies a
token bucket per device (a storm is counted, summed up in one `trap.storm` event once it calmed
down, and never floods the store); accepted traps go through a bounded queue (full: counted drops) to
`snmp-trap-writer`, which stores them in batches, one transaction each. Every rejected datagram is
counted by reason and dropped; nothing a sender does stops the receiver.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.types import Credentials
from canhgac_collector.config import TrapsConfig
from canhgac_collector.devices.traps.decode import TrapDecoder, TrapRejected
from canhgac_collector.devices.traps.store import DeviceDirectory, Received, normal_address, write_batch
from canhgac_collector.devices.traps.translate import Translated, translate

log = logging.getLogger("canhgac.traps")

DEVICE_REFRESH_S = 30.0
WRITE_BATCH_MAX = 1000
POLL_S = 0.2  # how often the threads look up from their socket / queue (stop, storm sweeps)
MAX_DATAGRAM = 65535
MAX_BUCKETS = 100_000
UNKNOWN = -1  # the bucket every unknown source shares


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    suppressed: int = 0
    storm_from: float = 0.0
    storm_last: float = 0.0


def users_of(config: TrapsConfig) -> list[Credentials]:
    out = []
    for u in config.v3_users:
        out.append(
            Credentials(
                "3",
                user=u.user.encode(),
                auth_protocol=u.auth_protocol,
                auth_key=u.auth_key.get_secret_value().encode() if u.auth_key else b"",
                priv_protocol=u.priv_protocol,
                priv_key=u.priv_key.get_secret_value().encode() if u.priv_key else b"",
            )
        )
    return out


class TrapService:
    """`start()` binds and starts both threads (raises OSError when the port cannot be bound);
    `stop()` ends them, storing what was already queued."""

    def __init__(
        self,
        config: TrapsConfig,
        sessions: sessionmaker[Session],
        on_link_change: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.on_link_change = on_link_change
        self.decoder = TrapDecoder(
            [c.get_secret_value().encode() for c in config.communities], users_of(config)
        )
        self.directory = DeviceDirectory(config.engine_ids)
        self.received: Counter[str] = Counter()  # by result (accepted or the reason it was dropped)
        self.informs_answered = 0
        self.unknown_sources = 0
        self.stored = 0
        self.store_failures = 0
        self._queue: queue.Queue[Received] = queue.Queue(config.queue_max)
        self._buckets: dict[int, _Bucket] = {}
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        """Where the socket is bound (the port chosen when configured as 0)."""
        assert self._sock is not None
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        host = self.config.listen_host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        try:
            sock.bind((host, self.config.listen_port))
        except OSError as exc:
            sock.close()
            raise OSError(
                exc.errno,
                f"traps: cannot listen on UDP {host}:{self.config.listen_port}: {exc.strerror} "
                "(port 162 needs root or CAP_NET_BIND_SERVICE; or set traps.listen_port to a high port)",
            ) from exc
        sock.settimeout(POLL_S)
        self._sock = sock
        self._refresh_devices()
        self._threads = [
            threading.Thread(target=self._receive_loop, name="snmp-traps", daemon=True),
            threading.Thread(target=self._write_loop, name="snmp-trap-writer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("trap receiver listening", extra={"address": f"{host}:{self.address[1]}"})

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- receiving ------------------------------------------------------------------------------------

    def _refresh_devices(self) -> None:
        try:
            with self.sessions() as session:
                self.directory.load(session)
        except Exception:
            log.exception("could not read the device list; traps keep the previous one")

    def _receive_loop(self) -> None:
        sock = self._sock
        assert sock is not None
        next_refresh = time.monotonic() + DEVICE_REFRESH_S
        next_sweep = time.monotonic() + 1.0
        while not self._stopping.is_set():
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                data = b""
            except OSError:
                if self._stopping.is_set():
                    break
                log.exception("trap socket error")
                time.sleep(POLL_S)
                continue
            now = time.monotonic()
            if data:
                try:
                    self._handle(sock, data, addr, now)
                except Exception:  # a bug on one datagram must not stop the receiver
                    self.received["internal_error"] += 1
                    log.exception("trap handling failed for a datagram from %s", addr[0])
            if now >= next_sweep:
                self._end_storms(now, False)
                next_sweep = now + 1.0
            if now >= next_refresh:
                self._refresh_devices()
                next_refresh = now + DEVICE_REFRESH_S
        self._end_storms(time.monotonic(), True)

    def _handle(self, sock: socket.socket, data: bytes, addr: tuple[str, int], now: float) -> None:
        source = normal_address(str(addr[0])) or str(addr[0])
        try:
            note = self.decoder.decode(data, source)
        except TrapRejected as rejected:
            self.received[rejected.reason] += 1
            return
        if note.reply is not None:
            with contextlib.suppress(OSError):
                sock.sendto(note.reply, addr[:2] if sock.family == socket.AF_INET else addr)
                self.informs_answered += 1
        device = self.directory.find(source, note.engine_id)
        if device is None:
            self.unknown_sources += 1
        if not self._take(device.id if device is not None else UNKNOWN, now):
            self.received["rate_limited"] += 1
            return
        self._put(Received(dt.datetime.now(dt.UTC), source, device, translate(note)), "accepted")

    def _put(self, item: Received, result: str | None) -> None:
        """Queue for storage; `result` is what the datagram is counted as once queued (None: no
        datagram, a storm summary)."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.received["queue_full" if result else "summary_dropped"] += 1
            return
        if result:
            self.received[result] += 1

    def _take(self, key: int, now: float) -> bool:
        """The token bucket of `key` (a device id, or all unknown sources together)."""
        unknown = key == UNKNOWN
        rate = self.config.unknown_rate_per_s if unknown else self.config.rate_per_s
        burst = float(max(1, int(rate)) if unknown else self.config.burst)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._end_storms(now, True)
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        if not bucket.suppressed:
            bucket.storm_from = now
        bucket.suppressed += 1
        bucket.storm_last = now
        return False

    def _end_storms(self, now: float, all_of_them: bool) -> None:
        """One `trap.storm` event per storm that has been quiet for `storm_quiet_s` (all at stop)."""
        refs = {ref.id: ref for ref in self.directory.by_address.values()}
        refs.update({ref.id: ref for ref in self.directory.by_engine.values()})
        for key, bucket in self._buckets.items():
            if not bucket.suppressed or (
                not all_of_them and now - bucket.storm_last < self.config.storm_quiet_s
            ):
                continue
            device = refs.get(key)
            summary = Translated(
                "trap.storm",
                {"suppressed": bucket.suppressed, "seconds": round(bucket.storm_last - bucket.storm_from, 1)},
            )
            source = "unknown" if device is None else device.name
            self._put(Received(dt.datetime.now(dt.UTC), source, device, summary), None)
            bucket.suppressed = 0

    # -- storing --------------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=POLL_S)]
            except queue.Empty:
                if self._stopping.is_set() and not any(t.is_alive() for t in self._threads[:1]):
                    return
                continue
            with contextlib.suppress(queue.Empty):
                while len(batch) < WRITE_BATCH_MAX:
                    batch.append(self._queue.get_nowait())
            self._store(batch)

    def _store(self, batch: list[Received]) -> None:
        for attempt in range(3):
            try:
                with self.sessions.begin() as session:
                    changed = write_batch(session, batch)
                self.stored += len(batch)
                if changed and self.on_link_change is not None:
                    self.on_link_change()
                return
            except Exception:
                log.exception("storing %d traps failed (attempt %d)", len(batch), attempt + 1)
                if self._stopping.wait(0.5 * (attempt + 1)):
                    break
        self.store_failures += len(batch)

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    # -- metrics --------------------------------------------------------------------------------------

    def metric_received(self) -> Iterator[tuple[tuple[str, ...], float]]:
        for result, n in sorted(self.received.items()):
            yield (result,), float(n)

    def register_metrics(self, registry: object) -> None:
        dynamic = getattr(registry, "dynamic", None)
        if dynamic is None:
            return
        dynamic(
            "canhgac_traps_received_total",
            "counter",
            "SNMP trap datagrams by result: accepted, or why they were dropped (malformed, bad_community, "
            "unknown_user, wrong_digest, rate_limited, queue_full, …).",
            ("result",),
            self.metric_received,
        )
        dynamic(
            "canhgac_traps_stored_total",
            "counter",
            "Trap events written to the store (storm summaries included).",
            (),
            lambda: [((), float(self.stored))],
        )
        dynamic(
            "canhgac_traps_store_failures_total",
            "counter",
            "Trap events lost because the store refused their batch three times.",
            (),
            lambda: [((), float(self.store_failures))],
        )
        dynamic(
            "canhgac_traps_unknown_source_total",
            "counter",
            "Accepted traps from an address (or v3 engine) that is no known device's.",
            (),
            lambda: [((), float(self.unknown_sources))],
        )
        dynamic(
            "canhgac_traps_informs_answered_total",
            "counter",
            "InformRequests answered with a Response.",
            (),
            lambda: [((), float(self.informs_answered))],
        )
        dynamic(
            "canhgac_traps_queue_depth",
            "gauge",
            "Traps received and waiting to be stored.",
            (),
            lambda: [((), float(self.queue_depth))],
        )
