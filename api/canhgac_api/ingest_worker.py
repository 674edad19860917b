"""The ingest worker: a child process that decodes, validates and stores agent reports (ADR 0009).

The API's event loop only authenticates, checks the headers and reads the body; everything else a
report costs runs here, on another core and outside the API's GIL: gunzip, validation, canonical JSON,
the group commit and the extraction of metrics and history points. The two talk over a Unix socket pair
in length-prefixed frames:

- request (API → worker): `!IQBHH` = frame length, request id, gzip flag, host id length, site code
  length; then the host id, the site code and the raw body;
- reply (worker → API): `!I` length, then one orjson object per group:
  `{"commit_s": …, "replies": [[request id, {"ok": …} | {"problem": …}], …]}`; an accepted request's
  `ok` carries its host's `HostObservation` (`canhgac_collector.hosts.metrics`, a JSON array encoded by
  msgspec and spliced in as is) and, with history on, its history lines.

A request is answered after its group is committed. If the worker dies, the API answers the pending
and new requests 503 (agents retry; a retried batch is a duplicate where it was committed, so nothing is
stored twice) and starts a new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import socket
import struct
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

import msgspec
import orjson

from canhgac_api.ingest import decode_batch, make_job
from canhgac_api.problems import ProblemError
from canhgac_collector.devices.edge.ingest import EdgeStore
from canhgac_collector.hosts import metrics as host_metrics
from canhgac_collector.hosts.ingest import IngestJob, IngestLimits, IngestResult, IngestStore, Refusal
from canhgac_collector.lan.ingest import LanLimits, LanStore
from canhgac_collector.logs import setup_logging
from canhgac_collector.metrics.telemetry import Telemetry
from canhgac_collector.store.db import make_engine

log = logging.getLogger("canhgac.ingest")

REQUEST_HEAD = struct.Struct("!IQBHH")  # frame length (after these 4 bytes), id, gzip, host len, site len
LENGTH = struct.Struct("!I")
MAX_GROUP = 512  # requests per transaction
RESTART_DELAY_S = 0.5  # doubled after each worker that dies before answering anything, up to a minute
MAX_RESTART_DELAY_S = 60.0
OBSERVATION = msgspec.json.Encoder()


class IngestUnavailable(RuntimeError):
    """The worker is not running (starting, restarting after a crash, or stopped)."""


@dataclass(frozen=True)
class WorkerSettings:
    """What the worker needs from the server config (picklable, sent to the child at start)."""

    database_url: str
    max_decompressed_bytes: int
    history: bool  # produce history lines (the API has an InfluxDB writer)
    log_level: int
    stall_timeout_s: float = 60.0  # API side: restart a worker that answers nothing this long
    limits: IngestLimits = field(default_factory=IngestLimits)
    lan: LanLimits = field(default_factory=LanLimits)
    edge_delay: tuple[float, float] = (60.0, 180.0)  # snmp.poll_interval_s, snmp.edge_delay_min_s


# --- the worker process -------------------------------------------------------------------------------


def worker_main(sock: socket.socket, settings: WorkerSettings) -> None:
    """Serve requests until the API closes its end; then answer what was read and exit."""
    # Ctrl-C and systemd's stop signal reach the whole process group: the API shuts down first and then
    # closes the socket, so the worker answers what it read (EOF, or the API's exit, is its signal).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the API's reload signal: nothing to do here
    setup_logging(settings.log_level)
    engine = make_engine(settings.database_url)
    store = IngestStore(engine, settings.limits)
    lan = LanStore(engine, settings.lan)
    edge = EdgeStore(engine, *settings.edge_delay)
    buf = bytearray()
    eof = False
    while not eof:
        data = sock.recv(1 << 20)
        if not data:
            break
        buf += data
        while True:  # take everything already queued: it all goes into one group
            try:
                more = sock.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if not more:
                eof = True
                break
            buf += more
        frames, used = _split_requests(buf)
        del buf[:used]
        for start in range(0, len(frames), MAX_GROUP):
            group = frames[start : start + MAX_GROUP]
            try:
                reply = _serve_group(store, group, settings, lan, edge)
            except Exception:  # a bug: these requests fail, the worker and everyone else go on
                log.exception("ingest: a group of %d requests failed", len(group))
                reply = orjson.dumps(
                    {
                        "commit_s": store.commit_seconds_sum,
                        "commits": store.groups_committed,
                        "replies": [[frame[0], {"problem": _problem(_INTERNAL)}] for frame in group],
                    }
                )
            sock.sendall(LENGTH.pack(len(reply)) + reply)
    sock.close()


def _split_requests(buf: bytearray) -> tuple[list[tuple[int, bool, str, str, bytes]], int]:
    frames = []
    pos = 0
    size = len(buf)
    while size - pos >= REQUEST_HEAD.size:
        length, req_id, gz, host_len, site_len = REQUEST_HEAD.unpack_from(buf, pos)
        end = pos + 4 + length
        if end > size:
            break
        at = pos + REQUEST_HEAD.size
        host_id = bytes(buf[at : at + host_len]).decode()
        at += host_len
        site = bytes(buf[at : at + site_len]).decode()
        at += site_len
        frames.append((req_id, bool(gz), host_id, site, bytes(buf[at:end])))
        pos = end
    return frames, pos


def _serve_group(
    store: IngestStore,
    frames: list[tuple[int, bool, str, str, bytes]],
    settings: WorkerSettings,
    lan: LanStore | None = None,
    edge: EdgeStore | None = None,
) -> bytes:
    replies: list[tuple[int, dict[str, Any]]] = []
    jobs: list[IngestJob] = []
    waiting: list[tuple[int, str]] = []
    for req_id, gz, host_id, site, body in frames:
        try:
            batch = decode_batch(body, "gzip" if gz else "identity", settings.max_decompressed_bytes)
            jobs.append(make_job(host_id, batch))
            waiting.append((req_id, site))
        except ProblemError as exc:
            replies.append((req_id, {"problem": _problem(exc)}))
        except Exception:  # a bug, not bad input: answer this request alone
            log.exception("ingest: could not decode a request of host_id=%s", host_id)
            replies.append((req_id, {"problem": _problem(_INTERNAL)}))
    outcomes = store.write_group(jobs) if jobs else []
    for (req_id, site), job, outcome in zip(waiting, jobs, outcomes, strict=True):
        answer = _answer(job, outcome, site, settings.history)
        if lan is not None and isinstance(outcome, IngestResult) and outcome.stored and "ok" in answer:
            answer["ok"].update(_lan_step(lan, job.host_id, outcome.stored))
        if edge is not None and isinstance(outcome, IngestResult) and outcome.stored and "ok" in answer:
            answer["ok"].update(_edge_step(edge, job.host_id, outcome.stored))
        replies.append((req_id, answer))
    head = {"commit_s": store.commit_seconds_sum, "commits": store.groups_committed}
    try:
        return orjson.dumps({**head, "replies": replies})
    except (TypeError, ValueError):  # one reply's extracted values the encoder refuses: drop them alone
        return orjson.dumps({**head, "replies": [_encodable(r) for r in replies]})


def _encodable(reply: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The reply, or (when its metrics/history extraction cannot be encoded) the reply without them:
    its reports are committed, so the agent still gets its acknowledgement."""
    try:
        orjson.dumps(reply)
        return reply
    except (TypeError, ValueError):
        req_id, answer = reply
        ok = answer.get("ok")
        if ok is None:
            return req_id, {"problem": _problem(_INTERNAL)}
        log.error("ingest: the metrics/history of one request could not be encoded; dropped")
        return req_id, {"ok": {k: v for k, v in ok.items() if k not in ("observation", "lines", "edge")}}


_INTERNAL = ProblemError(500, "internal-error", "Internal error", "the report could not be processed")


def _answer(
    job: IngestJob, outcome: IngestResult | Refusal | BaseException, site: str, history: bool
) -> dict[str, Any]:
    if isinstance(outcome, Refusal):
        problem = ProblemError(outcome.status, outcome.slug, outcome.title, outcome.detail, **outcome.extra)
        return {"problem": _problem(problem), "refused": len(job.reports), "clock": outcome.clock}
    if isinstance(outcome, LookupError):
        return {
            "problem": _problem(
                ProblemError(
                    403, "unknown-agent", "Unknown agent", "this agent's host no longer exists; enroll again"
                )
            )
        }
    if isinstance(outcome, BaseException):
        return {
            "problem": _problem(
                ProblemError(
                    503,
                    "storage-unavailable",
                    "Storage unavailable",
                    "the reports could not be stored; retry later",
                )
            )
        }
    if outcome.conflicts:
        problem = ProblemError(
            409,
            "seq-conflict",
            "Sequence conflict",
            "; ".join(outcome.conflicts[:3]) + "; nothing of this batch was stored",
            last_seq=outcome.last_seq,
        )
        return {"problem": _problem(problem), "refused": len(job.reports)}
    newest = job.validated[-1]
    ok: dict[str, Any] = {
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
        "last_seq": outcome.last_seq,
        "hostname": newest.host.hostname,
        "spool_backlog": newest.agent.spool_backlog,
    }
    if outcome.stored:
        try:  # committed already: metrics and history must not turn it into an error
            observation = host_metrics.host_observation(outcome.stored)
            ok["observation"] = orjson.Fragment(OBSERVATION.encode(observation))
            if history:
                ok["lines"] = host_metrics.host_lines(site, job.host_id, outcome.stored)
        except Exception:
            log.exception("could not extract metrics/history of host_id=%s", job.host_id)
    return {"ok": ok}


def _lan_step(lan: LanStore, host_id: str, stored: list[Any]) -> dict[str, Any]:
    """The LAN sections of the committed reports, stored in their own transaction: a failure is
    logged and reported to the API for counting; the reports stay stored and acknowledged."""
    try:
        observation = lan.record(host_id, stored)
    except Exception:
        log.exception("ingest: could not store the lan section of host_id=%s", host_id)
        return {"lan_failed": True}
    return {"lan": observation.to_json()} if observation is not None else {}


def _edge_step(edge: EdgeStore, host_id: str, stored: list[Any]) -> dict[str, Any]:
    """The edge polls of the committed reports, confined like `_lan_step`."""
    try:
        observation = edge.record(host_id, stored)
    except Exception:
        log.exception("ingest: could not store the snmp section of host_id=%s", host_id)
        return {"edge_failed": True}
    return {"edge": observation.to_json()} if observation is not None else {}


def _problem(exc: ProblemError) -> dict[str, Any]:
    return {
        "status": exc.status,
        "slug": exc.slug,
        "title": exc.title,
        "detail": exc.detail,
        "extra": exc.extra,
    }


# --- the API side ---------------------------------------------------------------------------------------


class IngestClient:
    """Runs the worker and hands it requests from the event loop; restarts it if it dies."""

    def __init__(self, settings: WorkerSettings, telemetry: Telemetry | None = None) -> None:
        self._settings = settings
        self._metrics = telemetry.get(host_metrics.PLUGIN) if telemetry is not None else None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._transport: asyncio.Transport | None = None
        self._process: BaseProcess | None = None
        self._stopping = False
        self._closed: asyncio.Future[None] | None = None
        self._restart: asyncio.Task[None] | None = None
        self.commits = 0  # the current worker's group commits and seconds, plus its predecessors'
        self.commit_seconds = 0.0
        self._base_commits = 0
        self._base_seconds = 0.0
        self.restarts = 0
        self._failed_starts = 0  # workers in a row that died before answering anything
        self._last_answer = 0.0  # loop time of the worker's last reply (or of its start)
        self._watchdog: asyncio.Task[None] | None = None
        self.stalls = 0  # workers killed for answering nothing within the stall timeout

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    @property
    def worker_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the worker (a fork of the preloaded fork server: milliseconds after the first)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["canhgac_api.ingest_worker"])
        process = context.Process(
            target=worker_main, args=(theirs, self._settings), name="canhgac-ingest", daemon=True
        )
        try:
            await asyncio.to_thread(process.start)
        finally:
            theirs.close()  # the child has its own copy: EOF here means the child is gone
        loop = asyncio.get_running_loop()
        self._closed = loop.create_future()
        transport, _ = await loop.create_connection(lambda: _Replies(self), sock=ours)
        self._transport = transport
        self._process = process
        self._base_commits, self._base_seconds = self.commits, self.commit_seconds
        self._last_answer = loop.time()
        if self._watchdog is None:
            self._watchdog = loop.create_task(self._watch(), name="ingest-watchdog")
        log.info("ingest worker started pid=%s", process.pid)

    async def submit(self, host_id: str, site: str, gzip: bool, body: bytes) -> dict[str, Any]:
        """The worker's answer for one request: `{"ok": …}` or `{"problem": …}`."""
        transport = self._transport
        if transport is None:
            raise IngestUnavailable("the ingest worker is not running")
        self._next_id += 1
        req_id = self._next_id
        host = host_id.encode()
        code = site.encode()
        length = REQUEST_HEAD.size - 4 + len(host) + len(code) + len(body)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        if not self._pending:  # work starts now: an idle worker has had nothing to answer
            self._last_answer = loop.time()
        self._pending[req_id] = future
        transport.writelines(
            (REQUEST_HEAD.pack(length, req_id, 1 if gzip else 0, len(host), len(code)), host, code, body)
        )
        try:
            return await future
        finally:
            self._pending.pop(req_id, None)

    async def stop(self, timeout: float = 30.0) -> None:
        """Let the worker answer what it has, then wait for it to exit."""
        self._stopping = True
        for task in (self._restart, self._watchdog):
            if task is not None:
                task.cancel()
        transport, closed = self._transport, self._closed
        if transport is not None and closed is not None:
            transport.write_eof()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(closed), timeout)
            transport.close()
        if self._process is not None:
            await asyncio.to_thread(self._reap, self._process, timeout)

    def _on_replies(self, payload: bytes) -> None:
        group = orjson.loads(payload)
        self._failed_starts = 0
        self._last_answer = asyncio.get_running_loop().time()
        self.commits = self._base_commits + group["commits"]
        self.commit_seconds = self._base_seconds + group["commit_s"]
        pending = self._pending
        metrics = self._metrics
        if metrics is not None:
            metrics.ingest_batches_committed = self.commits
            metrics.ingest_commit_seconds_sum = self.commit_seconds
            metrics.ingest_queue_depth = len(pending)
        for req_id, reply in group["replies"]:
            future = pending.get(req_id)
            if future is not None and not future.done():  # not done: the client may have gone away
                future.set_result(reply)

    def _on_lost(self) -> None:
        self._transport = None
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(IngestUnavailable("the ingest worker stopped"))
        if not self._stopping:
            self._failed_starts += 1
            log.error("ingest worker pid=%s stopped unexpectedly; starting a new one", self.worker_pid)
            self._restart = asyncio.get_running_loop().create_task(self._start_again(), name="ingest-restart")

    async def _watch(self) -> None:
        """Kill a worker that leaves requests unanswered for the stall timeout (a hang, not a slow
        commit: a busy worker answers each group as it commits); `_on_lost` then starts a new one."""
        timeout = self._settings.stall_timeout_s
        loop = asyncio.get_running_loop()
        while not self._stopping:
            await asyncio.sleep(min(1.0, timeout / 4))
            process = self._process
            if (
                self._pending
                and self._transport is not None
                and process is not None
                and loop.time() - self._last_answer > timeout
            ):
                self.stalls += 1
                log.error(
                    "ingest worker pid=%s answered nothing for %.0f s, %d requests waiting; restarting it",
                    process.pid,
                    loop.time() - self._last_answer,
                    len(self._pending),
                )
                process.kill()
                self._last_answer = loop.time()  # one kill per stall

    async def _start_again(self) -> None:
        process = self._process
        if process is not None:
            await asyncio.to_thread(self._reap, process, 5.0)
        delay = RESTART_DELAY_S
        while not self._stopping:
            await asyncio.sleep(min(MAX_RESTART_DELAY_S, delay * 2 ** min(self._failed_starts - 1, 8)))
            try:
                await self.start()
                self.restarts += 1
                if self._metrics is not None:
                    self._metrics.ingest_worker_restarts = self.restarts
                return
            except Exception:
                log.exception("could not start the ingest worker; retrying")
                delay *= 2

    @staticmethod
    def _reap(process: BaseProcess, timeout: float) -> None:
        process.join(timeout)
        if process.is_alive():
            log.warning("ingest worker pid=%s did not exit; killing it", process.pid)
            process.kill()
            process.join(5)


class _Replies(asyncio.Protocol):
    def __init__(self, client: IngestClient) -> None:
        self._client = client
        self._buf = bytearray()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        while len(buf) - pos >= 4:
            (length,) = LENGTH.unpack_from(buf, pos)
            end = pos + 4 + length
            if end > len(buf):
                break
            self._client._on_replies(bytes(buf[pos + 4 : end]))
            pos = end
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._client._on_lost()


def worker_settings(
    database_url: str,
    max_decompressed_bytes: int,
    history: bool,
    stall_timeout_s: float = 60.0,
    limits: IngestLimits | None = None,
    lan: LanLimits | None = None,
    edge_delay: tuple[float, float] = (60.0, 180.0),
) -> WorkerSettings:
    level = logging.getLogger().getEffectiveLevel()
    return WorkerSettings(
        database_url,
        max_decompressed_bytes,
        history,
        level,
        stall_timeout_s,
        limits or IngestLimits(),
        lan or LanLimits(),
        edge_delay,
    )
