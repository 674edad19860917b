"""Agent report ingest: decode and validate on the event loop, store through one group-committing writer.

The writer thread takes every job queued since its last commit and stores them in one transaction
(one savepoint per job), then answers each request. Many agents' reports share one fsync, which is what
lets SQLite keep up with a province; an agent is acknowledged only after its reports are committed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import queue
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Engine, insert, select, update

from canhgac_api.problems import ProblemError, describe_errors, validation_errors
from canhgac_api.schemas.report import Report, ReportBatch
from canhgac_collector.hoststate import STATE_TEXT
from canhgac_collector.storage.models import Event, Host
from canhgac_collector.storage.models import Report as ReportRow
from canhgac_collector.telemetry import Telemetry

log = logging.getLogger("canhgac.ingest")
MAX_GROUP = 512


@dataclass(frozen=True)
class PreparedReport:
    seq: int
    collected_at: dt.datetime
    sha256: bytes
    body: bytes  # zlib(canonical JSON)


@dataclass
class IngestJob:
    """One agent request: its reports, and the newest report's sections for the host row."""

    host_id: str
    reports: list[PreparedReport]
    newest: Report
    security: Report | None  # the newest report in the batch that carries security facts
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[IngestResult]


@dataclass
class IngestResult:
    accepted: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # why the batch was refused
    last_seq: int = 0


def decode_batch(body: bytes, content_encoding: str, max_decompressed: int) -> ReportBatch:
    """gzip → JSON → validated batch, or a ProblemError saying what was wrong."""
    if content_encoding == "gzip":
        decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = decomp.decompress(body, max_decompressed + 1)
        except zlib.error as exc:
            raise ProblemError(
                400, "malformed-body", "Malformed request body", f"the body is not valid gzip: {exc}"
            ) from None
        if len(raw) > max_decompressed or decomp.unconsumed_tail:
            raise ProblemError(
                413,
                "body-too-large",
                "Request body too large",
                f"the decompressed body exceeds {max_decompressed} bytes",
            )
        if not decomp.eof:
            raise ProblemError(
                400, "malformed-body", "Malformed request body", "the gzip stream is truncated"
            )
    else:
        raw = body
    try:
        return ReportBatch.model_validate_json(raw)
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            raise ProblemError(
                400,
                "malformed-body",
                "Malformed request body",
                f"the body is not valid JSON: {describe_errors(errors, 1)}",
            ) from None
        raise ProblemError(
            422, "invalid-report", "Report failed validation", describe_errors(errors), errors=errors
        ) from None


def prepare(batch: ReportBatch, host_id: str) -> tuple[list[PreparedReport], Report, Report | None]:
    """Check the batch belongs to `host_id` and is ordered; compute each report's stored form."""
    prepared: list[PreparedReport] = []
    previous = 0
    security: Report | None = None
    for i, report in enumerate(batch.reports):
        if report.agent_id != host_id:
            raise ProblemError(
                403,
                "wrong-agent",
                "Report of another agent",
                f"reports[{i}].agent_id is not the agent this token was issued to",
            )
        if report.seq <= previous:
            raise ProblemError(
                422,
                "invalid-report",
                "Report failed validation",
                f"reports[{i}].seq: seqs in a batch must be strictly increasing "
                f"({report.seq} after {previous})",
            )
        previous = report.seq
        canonical = report.model_dump_json().encode()
        prepared.append(
            PreparedReport(
                report.seq,
                report.collected_at,
                hashlib.sha256(canonical).digest(),
                zlib.compress(canonical, 1),
            )
        )
        if report.security is not None:
            security = report
    return prepared, batch.reports[-1], security


class IngestWriter:
    """The single writer: group commit of queued ingest jobs."""

    def __init__(self, engine: Engine, telemetry: Telemetry) -> None:
        self._engine = engine
        self._telemetry = telemetry
        self._queue: queue.Queue[IngestJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the queued jobs, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    async def submit(
        self, host_id: str, reports: list[PreparedReport], newest: Report, security: Report | None
    ) -> IngestResult:
        loop = asyncio.get_running_loop()
        job = IngestJob(host_id, reports, newest, security, loop, loop.create_future())
        self._queue.put(job)
        self._telemetry.ingest_queue_depth = self._queue.qsize()
        return await job.future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
            self._write_group(jobs)
            self._telemetry.ingest_queue_depth = self._queue.qsize()
            if stop:
                return

    def _write_group(self, jobs: list[IngestJob]) -> None:
        started = time.perf_counter()
        outcomes: list[IngestResult | BaseException] = []
        try:
            with self._engine.begin() as conn:
                now = dt.datetime.now(dt.UTC)
                for job in jobs:
                    try:
                        with conn.begin_nested():
                            outcomes.append(self._write_job(conn, job, now))
                    except Exception as exc:  # one bad job must not fail the group
                        log.exception("ingest job failed host_id=%s", job.host_id)
                        outcomes.append(exc)
        except Exception as exc:  # the commit itself failed: nobody is acknowledged
            log.error("ingest commit failed: %s", exc)
            outcomes = [exc] * len(jobs)
        self._telemetry.ingest_batches_committed += 1
        self._telemetry.ingest_commit_seconds_sum += time.perf_counter() - started
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, outcome)

    def _write_job(self, conn: Any, job: IngestJob, now: dt.datetime) -> IngestResult:
        host = conn.execute(
            select(Host.last_seq, Host.state, Host.site_id, Host.hostname).where(Host.id == job.host_id)
        ).one_or_none()
        if host is None:
            raise LookupError(f"host {job.host_id} no longer exists")
        seqs = [r.seq for r in job.reports]
        stored = dict(
            conn.execute(
                select(ReportRow.seq, ReportRow.body_sha256).where(
                    ReportRow.host_id == job.host_id, ReportRow.seq.in_(seqs)
                )
            ).all()
        )
        result = IngestResult(last_seq=host.last_seq)
        fresh: list[PreparedReport] = []
        for r in job.reports:
            if r.seq in stored:
                if bytes(stored[r.seq]) == r.sha256:
                    result.duplicates.append(r.seq)
                else:
                    result.conflicts.append(f"seq {r.seq} is already stored with different content")
            elif r.seq <= host.last_seq:
                result.conflicts.append(
                    f"seq {r.seq} is not newer than the last stored seq {host.last_seq} and is not held "
                    "(replayed, or older than the report retention)"
                )
            else:
                fresh.append(r)
        if result.conflicts:
            return result
        if fresh:
            conn.execute(
                insert(ReportRow),
                [
                    {
                        "host_id": job.host_id,
                        "seq": r.seq,
                        "collected_at": r.collected_at,
                        "received_at": now,
                        "body_sha256": r.sha256,
                        "body": r.body,
                    }
                    for r in fresh
                ],
            )
            result.accepted = [r.seq for r in fresh]
        values: dict[str, Any] = {"last_report_at": now}
        newest = job.newest
        if fresh and newest.seq > host.last_seq:
            values.update(
                last_seq=newest.seq,
                reports_total=Host.reports_total + len(fresh),
                last_collected_at=newest.collected_at,
                hostname=newest.host.hostname,
                agent_version=newest.agent.version,
                identity=newest.host.model_dump(mode="json"),
                metrics=newest.metrics.model_dump(mode="json", exclude_none=True),
                probes=[p.model_dump(mode="json", exclude_none=True) for p in newest.probes],
                agent_status=newest.agent.model_dump(mode="json"),
                errors=[e.model_dump(mode="json") for e in newest.errors],
            )
            result.last_seq = newest.seq
            if job.security is not None and job.security.security is not None:
                values["security"] = job.security.security.model_dump(mode="json", exclude_none=True)
                values["security_collected_at"] = job.security.collected_at
        if host.state != "up":
            values.update(state="up", state_changed_at=now)
            conn.execute(
                insert(Event),
                [
                    {
                        "at": now,
                        "kind": "host.state",
                        "subject_type": "host",
                        "subject_id": job.host_id,
                        "site_id": host.site_id,
                        "from_state": host.state,
                        "to_state": "up",
                        "actor": "system",
                        "message": f"Máy {host.hostname}: {STATE_TEXT.get(host.state, host.state)} → "
                        f"{STATE_TEXT['up']} (nhận báo cáo / report received)",
                        "data": None,
                    }
                ],
            )
        conn.execute(update(Host).where(Host.id == job.host_id).values(**values))
        return result


def _resolve(future: asyncio.Future[IngestResult], outcome: IngestResult | BaseException) -> None:
    if future.done():  # the client went away
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
