"""History writer: line protocol to an InfluxDB v2 write API, batched, gzip, retried, buffered on disk.

Producers (ingest on the event loop, the SNMP poller) call `write(lines)`: an append under a lock, never
I/O, so a slow or absent store can never hold up ingest or polling. The writer's own thread cuts
batches (`batch_size` points, or whatever arrived within `flush_interval_s`), gzips each once (level 1:
line protocol compresses ~10x and level 9 would cost more CPU than the send) and posts it through
influxdb-client's v2 write service.

While the store is unreachable, batches go to segment files in `buffer_dir` (each file is exactly the
gzip body to post, named `<order>-<points>.lp.gz`, written to a temp name and renamed so a crash never
leaves half a file). They are sent oldest first once the store answers, and deleted only after it
accepted them, so nothing is lost across a restart (a new writer on the same directory resumes them).
Past `buffer_max_mb` the oldest segments are deleted and their points counted in `dropped["buffer_full"]`.
A batch the store refuses as malformed (HTTP 400/422) is dropped and counted, not retried forever.
"""

from __future__ import annotations

import collections
import gzip
import logging
import math
import os
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from canhgac_collector.config import InfluxConfig

log = logging.getLogger("canhgac.influx")

SEGMENT_SUFFIX = ".lp.gz"
MAX_BACKOFF_S = 30.0
MEMORY_FACTOR = 20  # points held in memory at most: this many batches (the rest spill to disk)


# --- line protocol ---------------------------------------------------------------------------------


def _escape_key(value: str) -> str:
    """Measurement, tag key or tag value: commas, equals signs and spaces are escaped; no newlines."""
    if "," in value or "=" in value or " " in value or "\\" in value or "\n" in value:
        return (
            value.replace("\\", "\\\\")
            .replace("\n", " ")
            .replace(",", "\\,")
            .replace("=", "\\=")
            .replace(" ", "\\ ")
        )
    return value


def tag_set(measurement: str, tags: Iterable[tuple[str, str]]) -> str:
    """`measurement,k=v,…` with empty tag values left out (line protocol forbids them)."""
    parts = [_escape_key(measurement)]
    parts.extend(f"{_escape_key(k)}={_escape_key(v)}" for k, v in tags if v != "")
    return ",".join(parts)


def line(series: str, fields: dict[str, float | int | bool | str | None], ts_ms: int) -> str | None:
    """One point (`series` from `tag_set`); None fields and non-finite floats are left out, and a point
    with no field left is None (line protocol needs at least one)."""
    out: list[str] = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out.append(f"{_escape_key(key)}={'true' if value else 'false'}")
        elif isinstance(value, int):
            out.append(f"{_escape_key(key)}={value}i")
        elif isinstance(value, float):
            if math.isfinite(value):
                out.append(f"{_escape_key(key)}={value!r}")
        else:
            text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
            out.append(f'{_escape_key(key)}="{text}"')
    if not out:
        return None
    return f"{series} {','.join(out)} {ts_ms}"


# --- the writer ------------------------------------------------------------------------------------


@dataclass
class InfluxStats:
    """What the writer did, for `/metrics` (plain ints: a lost increment is harmless)."""

    points_written: int = 0
    batches_written: int = 0
    write_errors: int = 0
    dropped: dict[str, int] = field(
        default_factory=lambda: {"buffer_full": 0, "rejected": 0, "memory_full": 0}
    )
    buffer_bytes: int = 0
    buffer_segments: int = 0
    buffer_points: int = 0
    pending_points: int = 0
    last_success_unix: float = 0.0


@dataclass(slots=True)
class Segment:
    """One buffered batch on disk: the gzip body as it will be posted."""

    seq: int
    points: int
    path: Path
    size: int


class WriteRejectedError(Exception):
    """The store refused the batch as malformed: retrying will not help."""


class InfluxWriter:
    """`start()`, then `write(lines)` from any thread; `stop()` persists what was not sent."""

    def __init__(self, config: InfluxConfig, base_dir: Path | None = None) -> None:
        self.config = config
        buffer_dir = Path(config.buffer_dir)
        if not buffer_dir.is_absolute() and base_dir is not None:
            buffer_dir = base_dir / buffer_dir
        self.buffer_dir = buffer_dir
        self.max_buffer_bytes = int(config.buffer_max_mb * 1024 * 1024)
        self.stats = InfluxStats()
        self._pending: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._failures = 0
        self._retry_at = 0.0
        self._client: object | None = None
        self._service: object | None = None
        try:
            self.buffer_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"influx.buffer_dir {self.buffer_dir}: cannot create it: {exc}") from None
        self._segments = self._scan()
        self._buffer_bytes = sum(seg.size for seg in self._segments)
        self._buffer_points = sum(seg.points for seg in self._segments)
        self._seq = max((seg.seq for seg in self._segments), default=0)
        self._stop_deadline = 0.0
        self._update_buffer_stats()

    # -- producers -----------------------------------------------------------------------------------

    def write(self, lines: Iterable[str]) -> None:
        """Queue points (line protocol, one per string). Never blocks on I/O."""
        limit = self.config.batch_size * MEMORY_FACTOR
        with self._cond:
            before = len(self._pending)
            self._pending.extend(lines)
            over = len(self._pending) - limit
            if over > 0:  # the writer thread is far behind (disk too slow): keep the newest
                for _ in range(over):
                    self._pending.popleft()
                self.stats.dropped["memory_full"] += over
            self.stats.pending_points = len(self._pending)
            if before < self.config.batch_size <= len(self._pending):
                self._cond.notify()

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Flush: send what the store takes within `timeout`, keep the rest on disk for the next start."""
        with self._cond:
            self._stopping = True
            self._stop_deadline = time.monotonic() + timeout
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout + 5)
        else:  # never started: just persist
            self._persist_pending()
        self._close_client()

    # -- the writer thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # the writer must not die silently: log, persist, end
            log.exception("influx writer stopped on an unexpected error")
            self._persist_pending()

    def _loop(self) -> None:
        interval = self.config.flush_interval_s
        batch_size = self.config.batch_size
        next_flush = time.monotonic() + interval
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    if len(self._pending) >= batch_size or now >= next_flush:
                        break
                    if self._segments and now >= self._retry_at:
                        break
                    wake = next_flush if not self._segments else min(next_flush, self._retry_at)
                    self._cond.wait(max(0.0, wake - now))
                stopping = self._stopping
            if stopping:
                self._drain_on_stop()
                return
            if time.monotonic() >= next_flush or self._pending_count() >= batch_size:
                self._flush_pending()
                next_flush = time.monotonic() + interval
            self._send_segments()

    def _pending_count(self) -> int:
        with self._cond:
            return len(self._pending)

    def _take(self, n: int) -> list[str]:
        with self._cond:
            k = min(n, len(self._pending))
            batch = [self._pending.popleft() for _ in range(k)]
            self.stats.pending_points = len(self._pending)
            return batch

    def _flush_pending(self) -> None:
        """Cut batches of what is pending (the last one may be partial): post each directly when nothing
        waits on disk and the store is not in backoff; otherwise, or when the post fails, append it to the
        disk buffer, so points always reach the store in the order they were written."""
        batch_size = self.config.batch_size
        while True:
            batch = self._take(batch_size)
            if not batch:
                return
            body = gzip.compress(("\n".join(batch) + "\n").encode(), compresslevel=1)
            if self._segments or time.monotonic() < self._retry_at:
                self._persist(body, len(batch))
            else:
                try:
                    self._post(body)
                except WriteRejectedError as exc:
                    self.stats.dropped["rejected"] += len(batch)
                    log.error("influx refused a batch of %d points as malformed: %s", len(batch), exc)
                except Exception as exc:
                    self._failed(exc)
                    self._persist(body, len(batch))
                else:
                    self._succeeded(len(batch))
            if len(batch) < batch_size:
                return

    def _send_segments(self, deadline: float | None = None) -> None:
        """Send buffered segments oldest first; stop at the first failure (and back off), when asked to
        stop (`deadline` None) or at `deadline` (while stopping)."""
        while self._segments and time.monotonic() >= self._retry_at:
            if deadline is None and self._stopping:
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            seg = self._segments[0]
            try:
                body = seg.path.read_bytes()
            except OSError as exc:
                log.error("influx buffer segment %s unreadable, dropping it: %s", seg.path, exc)
                self._forget_first("rejected")
                continue
            try:
                self._post(body)
            except WriteRejectedError as exc:
                log.error(
                    "influx refused buffered segment %s (%d points): %s", seg.path.name, seg.points, exc
                )
                self._forget_first("rejected")
            except Exception as exc:
                self._failed(exc)
                return
            else:
                self._succeeded(seg.points)
                self._forget_first(None)

    def _drain_on_stop(self) -> None:
        """One last delivery attempt bounded by the stop timeout; what remains is kept on disk."""
        deadline = self._stop_deadline
        if self._failures == 0:
            self._send_segments(deadline)
            if not self._segments and time.monotonic() < deadline:
                self._flush_pending()
        self._persist_pending()

    def _persist_pending(self) -> None:
        while True:
            batch = self._take(self.config.batch_size)
            if not batch:
                return
            self._persist(gzip.compress(("\n".join(batch) + "\n").encode(), compresslevel=1), len(batch))

    # -- the store -----------------------------------------------------------------------------------

    def _ensure_client(self) -> object:
        if self._service is None:
            from influxdb_client.client.influxdb_client import InfluxDBClient
            from influxdb_client.service.write_service import WriteService

            token = self.config.token.get_secret_value() if self.config.token else ""
            client = InfluxDBClient(
                url=self.config.url, token=token, org=self.config.org, timeout=10_000, retries=False
            )
            self._client = client
            self._service = WriteService(client.api_client)  # type: ignore[no-untyped-call]
        return self._service

    def _close_client(self) -> None:
        client, self._client, self._service = self._client, None, None
        if client is not None:
            client.close()  # type: ignore[attr-defined]

    def _post(self, body: bytes) -> None:
        from influxdb_client.rest import ApiException

        service = self._ensure_client()
        try:
            service.post_write(  # type: ignore[attr-defined]
                org=self.config.org,
                bucket=self.config.bucket,
                body=body,
                content_encoding="gzip",
                content_type="text/plain; charset=utf-8",
                precision="ms",
            )
        except ApiException as exc:
            if exc.status in (400, 422):
                raise WriteRejectedError(f"HTTP {exc.status}: {str(exc.body)[:300]}") from None
            raise

    def _succeeded(self, points: int) -> None:
        if self._failures:
            log.info("influx store reachable again at %s", self.config.url)
        self._failures = 0
        self._retry_at = 0.0
        self.stats.points_written += points
        self.stats.batches_written += 1
        self.stats.last_success_unix = time.time()

    def _failed(self, exc: Exception) -> None:
        self._failures += 1
        self.stats.write_errors += 1
        delay = min(MAX_BACKOFF_S, 0.5 * 2 ** min(self._failures - 1, 10)) * (0.75 + random.random() / 2)  # noqa: S311
        self._retry_at = time.monotonic() + delay
        if self._failures in (1, 10) or self._failures % 100 == 0:
            log.warning(
                "influx write to %s failed (%d in a row), buffering on disk, retry in %.1f s: %s",
                self.config.url,
                self._failures,
                delay,
                str(exc)[:300],
            )

    # -- the disk buffer -----------------------------------------------------------------------------

    def _scan(self) -> list[Segment]:
        segments: list[Segment] = []
        for tmp in self.buffer_dir.glob("*.tmp"):  # a crash mid-write: never renamed, never complete
            tmp.unlink(missing_ok=True)
        for path in self.buffer_dir.glob(f"*{SEGMENT_SUFFIX}"):
            stem = path.name[: -len(SEGMENT_SUFFIX)]
            try:
                seq_text, points_text = stem.split("-", 1)
                segments.append(Segment(int(seq_text), int(points_text), path, path.stat().st_size))
            except (ValueError, OSError):
                log.warning("influx buffer: ignoring unexpected file %s", path)
        segments.sort(key=lambda seg: seg.seq)
        return segments

    def _persist(self, body: bytes, points: int) -> None:
        self._seq += 1
        path = self.buffer_dir / f"{self._seq:016d}-{points}{SEGMENT_SUFFIX}"
        tmp = path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            log.error("influx buffer: cannot write %s, dropping %d points: %s", path, points, exc)
            self.stats.dropped["buffer_full"] += points
            return
        self._segments.append(Segment(self._seq, points, path, len(body)))
        self._buffer_bytes += len(body)
        self._buffer_points += points
        while self._buffer_bytes > self.max_buffer_bytes and len(self._segments) > 1:
            oldest = self._segments[0]
            log.warning(
                "influx buffer over %d bytes: dropping the oldest %d points",
                self.max_buffer_bytes,
                oldest.points,
            )
            self._forget_first("buffer_full")
        self._update_buffer_stats()

    def _forget_first(self, dropped_reason: str | None) -> None:
        seg = self._segments.pop(0)
        seg.path.unlink(missing_ok=True)
        self._buffer_bytes -= seg.size
        self._buffer_points -= seg.points
        if dropped_reason is not None:
            self.stats.dropped[dropped_reason] += seg.points
        self._update_buffer_stats()

    def _update_buffer_stats(self) -> None:
        self.stats.buffer_segments = len(self._segments)
        self.stats.buffer_bytes = self._buffer_bytes
        self.stats.buffer_points = self._buffer_points
