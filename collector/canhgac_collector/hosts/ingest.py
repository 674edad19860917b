"""The writer of agent reports: groups of agent requests stored in one transaction, each judged alone.

The ingest worker process (`canhgac_api.ingest_worker`) decodes and validates each request, then hands
the jobs of everything queued since its last commit to `IngestStore.write_group`: one transaction for
many agents, which is what lets SQLite keep up with a province; an agent is acknowledged only after its
reports are committed. A job the store refuses whole (dates outside the window, a seq out of range) or
that conflicts with what is stored comes back as its outcome, never as an exception for the group.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, Engine, LargeBinary, bindparam, case, func, insert, select, update

from canhgac_collector.hosts.states import STATE_TEXT
from canhgac_collector.store.models import Event, Host, UTCDateTime
from canhgac_collector.store.models import Report as ReportRow

log = logging.getLogger("canhgac.ingest")


@dataclass(frozen=True)
class PreparedReport:
    seq: int
    collected_at: dt.datetime
    sha256: bytes
    canonical: bytes  # the report's JSON as validated (what `latest_report` keeps)


@dataclass
class IngestJob:
    """One agent request: its reports, and what the host row needs from the newest of them."""

    host_id: str
    reports: list[PreparedReport]
    hostname: str
    agent_version: str
    os_name: str
    security: dict[str, Any] | None  # the newest security facts in the batch, if any
    security_at: dt.datetime | None
    validated: list[Any] = field(default_factory=list)  # the batch's reports (structs), for metrics/history


@dataclass(frozen=True)
class IngestLimits:
    """What the store refuses although the schema allows it: reports dated outside a window around the
    server's clock (a PC with a wrong clock), and seqs that jump far past the host's last one (one such
    report would leave the agent unable to send anything again)."""

    max_report_age_s: float = 15 * 86400.0
    max_clock_ahead_s: float = 3600.0
    max_seq_gap: int = 10_000_000
    clock_event_every_s: float = 3600.0  # one "clock wrong" event per host this often, not per report


@dataclass(frozen=True)
class Refusal:
    """A job refused as a whole by the store (nothing of it stored); answered as a problem detail."""

    status: int
    slug: str
    title: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
    clock: bool = False  # refused for its dates: counted so the officer learns the PC's clock is wrong


@dataclass
class IngestResult:
    accepted: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # why the batch was refused
    last_seq: int = 0
    stored: list[Any] = field(default_factory=list)  # the accepted reports, once committed


class IngestStore:
    """Group commit of ingest jobs: one transaction for many agents' requests, each judged on its own."""

    def __init__(self, engine: Engine, limits: IngestLimits | None = None) -> None:
        self._engine = engine
        self.limits = limits or IngestLimits()
        self._clock_events: dict[str, float] = {}  # host id → monotonic time of its last clock event
        dialect = engine.dialect
        self._datetime = UTCDateTime().bind_processor(dialect) or (lambda value: value)
        self._insert_reports = DriverStatement(_INSERT_REPORTS, dialect, _REPORT_COLUMNS)
        self._update_hosts = DriverStatement(_UPDATE_HOST, dialect)
        self.groups_committed = 0
        self.commit_seconds_sum = 0.0

    def write_group(self, jobs: list[IngestJob]) -> list[IngestResult | Refusal | BaseException]:
        """Store a group in one transaction; if that fails, each job alone, so one bad job fails alone."""
        started = time.perf_counter()
        try:
            outcomes = self._store(jobs)
        except Exception as exc:
            if len(jobs) == 1:
                log.error("ingest write failed host_id=%s: %s", jobs[0].host_id, exc)
                outcomes = [exc]
            else:
                log.warning("ingest group of %d failed (%s); storing its jobs one by one", len(jobs), exc)
                outcomes = []
                for job in jobs:
                    try:
                        outcomes.extend(self._store([job]))
                    except Exception as job_exc:
                        log.error("ingest write failed host_id=%s: %s", job.host_id, job_exc)
                        outcomes.append(job_exc)
        self.groups_committed += 1
        self.commit_seconds_sum += time.perf_counter() - started
        return outcomes

    def _refusal(self, job: IngestJob, host: HostState, now: dt.datetime) -> Refusal | None:
        """Why the store refuses `job` whole, or None."""
        limits = self.limits
        earliest = now - dt.timedelta(seconds=limits.max_report_age_s)
        latest = now + dt.timedelta(seconds=limits.max_clock_ahead_s)
        window = f"{earliest.isoformat(timespec='seconds')} … {latest.isoformat(timespec='seconds')}"
        for i, r in enumerate(job.reports):
            if not earliest <= r.collected_at <= latest:
                return Refusal(
                    422,
                    "clock-out-of-window",
                    "Report date outside the accepted window",
                    f"reports[{i}].collected_at {r.collected_at.isoformat()} is outside the accepted "
                    f"window {window}"
                    " (server time minus ingest.max_report_age_s to plus ingest.max_clock_ahead_s); "
                    "check the PC's clock",
                    {"accepted_from": earliest.isoformat(), "accepted_until": latest.isoformat()},
                    clock=True,
                )
            if r.seq > host.last_seq + limits.max_seq_gap:
                return Refusal(
                    422,
                    "seq-out-of-range",
                    "Sequence number out of range",
                    f"reports[{i}].seq {r.seq} jumps more than {limits.max_seq_gap} past the last stored "
                    f"seq {host.last_seq}",
                    {"last_seq": host.last_seq},
                )
        return None

    def _clock_event_due(self, host_id: str) -> bool:
        """Whether to record a clock event for this host now (at most one per `clock_event_every_s`)."""
        mono = time.monotonic()
        last = self._clock_events.get(host_id)
        if last is not None and mono - last < self.limits.clock_event_every_s:
            return False
        if len(self._clock_events) > 100_000:
            self._clock_events.clear()
        self._clock_events[host_id] = mono
        return True

    def _store(self, jobs: list[IngestJob]) -> list[IngestResult | Refusal | BaseException]:
        """Plan the whole group in memory, then write it with a handful of executemany statements."""
        now = dt.datetime.now(dt.UTC)
        to_db = self._datetime
        now_db = to_db(now)
        outcomes: list[IngestResult | Refusal | BaseException] = []
        new_reports: list[dict[str, Any]] = []
        host_updates: list[dict[str, Any]] = []
        security_updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        with self._engine.begin() as conn:
            ids = list({job.host_id for job in jobs})
            hosts = {
                row.id: HostState(row.last_seq, row.state, row.site_id, row.hostname)
                for row in conn.execute(_SELECT_HOSTS, {"ids": ids})
            }
            planned: dict[str, dict[int, bytes]] = {}  # seqs this group stores, per host
            for job in jobs:
                host = hosts.get(job.host_id)
                if host is None:
                    outcomes.append(LookupError(f"host {job.host_id} no longer exists"))
                    continue
                refusal = self._refusal(job, host, now)
                if refusal is not None:
                    outcomes.append(refusal)
                    if refusal.clock and self._clock_event_due(job.host_id):
                        events.append(
                            {
                                "at": now,
                                "kind": "host.clock_wrong",
                                "subject_type": "host",
                                "subject_id": job.host_id,
                                "site_id": host.site_id,
                                "from_state": None,
                                "to_state": None,
                                "actor": "system",
                                "message": f"Máy {host.hostname}: đồng hồ sai, báo cáo bị từ chối / "
                                f"the PC's clock is wrong, its reports are refused ({refusal.detail})"[:1000],
                                "data": None,
                            }
                        )
                    continue
                result = _classify(conn, job, host, planned.setdefault(job.host_id, {}))
                outcomes.append(result)
                if result.conflicts:
                    continue
                fresh = [r for r in job.reports if r.seq in result.accepted]
                for r in fresh:
                    planned[job.host_id][r.seq] = r.sha256
                    new_reports.append(
                        {
                            "host_id": job.host_id,
                            "seq": r.seq,
                            "collected_at": to_db(r.collected_at),
                            "received_at": now_db,
                            "body_sha256": r.sha256,
                            "size": len(r.canonical),
                        }
                    )
                if fresh:
                    host.last_seq = fresh[-1].seq
                    result.last_seq = host.last_seq
                    seqs = {r.seq for r in fresh}
                    result.stored = [r for r in job.validated if r.seq in seqs]
                host_updates.append(
                    {
                        "b_id": job.host_id,
                        "b_now": now_db,
                        "b_last_seq": host.last_seq,
                        "b_n": len(fresh),
                        "b_advanced": bool(fresh),
                        "b_collected_at": to_db(fresh[-1].collected_at) if fresh else None,
                        "b_hostname": job.hostname,
                        "b_agent_version": job.agent_version,
                        "b_os_name": job.os_name,
                        "b_latest": fresh[-1].canonical if fresh else None,
                    }
                )
                if fresh and job.security is not None:
                    security_updates.append(
                        {"b_id": job.host_id, "b_security": job.security, "b_security_at": job.security_at}
                    )
                if host.state != "up":
                    events.append(
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
                    )
                    host.state = "up"
            if new_reports:
                self._insert_reports.execute(conn, new_reports)
            if host_updates:
                self._update_hosts.execute(conn, host_updates)
            if security_updates:
                conn.execute(_UPDATE_SECURITY, security_updates)
            if events:
                conn.execute(_INSERT_EVENTS, events)
        return outcomes


@dataclass
class HostState:
    """What the writer tracks per host while planning a group."""

    last_seq: int
    state: str
    site_id: int
    hostname: str


def _classify(conn: Any, job: IngestJob, host: HostState, planned: dict[int, bytes]) -> IngestResult:
    """Which of the job's seqs are new, already stored (same content) or in conflict."""
    result = IngestResult(last_seq=host.last_seq)
    if job.reports[0].seq > host.last_seq:  # the usual case: all new, nothing to look up
        result.accepted = [r.seq for r in job.reports]
        return result
    old = [r.seq for r in job.reports if r.seq <= host.last_seq]
    stored = {seq: sha for seq, sha in planned.items() if seq in old}
    missing = [seq for seq in old if seq not in stored]
    if missing:
        stored.update(
            (row.seq, bytes(row.body_sha256))
            for row in conn.execute(_SELECT_STORED, {"host_id": job.host_id, "seqs": missing})
        )
    for r in job.reports:
        if r.seq > host.last_seq:
            result.accepted.append(r.seq)
        elif r.seq not in stored:
            result.conflicts.append(
                f"seq {r.seq} is not newer than the last stored seq {host.last_seq} and is not held "
                "(replayed, or older than the report retention)"
            )
        elif stored[r.seq] == r.sha256:
            result.duplicates.append(r.seq)
        else:
            result.conflicts.append(f"seq {r.seq} is already stored with different content")
    return result


class DriverStatement:
    """A Core statement compiled once for the engine's dialect and run with the driver's executemany.

    SQLAlchemy's per-row parameter handling (construct_params, type processors) cost more than SQLite's
    own work for the two statements run per report; here rows arrive with their values already in the
    driver's form (datetimes through the column type's own bind processor, once per value)."""

    def __init__(self, statement: Any, dialect: Any, column_keys: list[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        # literal values of the statement itself (e.g. state='up'); the rest come with each row
        self._defaults = {
            k: b.value for k, b in compiled.binds.items() if not b.required and b.value is not None
        }
        self._positional: list[str] | None = list(compiled.positiontup) if compiled.positiontup else None

    def execute(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        defaults = self._defaults
        merged = [{**defaults, **row} for row in rows] if defaults else rows
        if self._positional is not None:
            names = self._positional
            params: list[Any] = [tuple([row[n] for n in names]) for row in merged]
        else:
            params = merged
        conn.exec_driver_sql(self.sql, params)


_REPORT_COLUMNS = ["host_id", "seq", "collected_at", "received_at", "body_sha256", "size"]
# Built once: constructing and cache-keying statements per request cost more than executing them.
_SELECT_HOSTS = select(Host.id, Host.last_seq, Host.state, Host.site_id, Host.hostname).where(
    Host.id.in_(bindparam("ids", expanding=True))
)
_SELECT_STORED = select(ReportRow.seq, ReportRow.body_sha256).where(
    ReportRow.host_id == bindparam("host_id"), ReportRow.seq.in_(bindparam("seqs", expanding=True))
)
_INSERT_REPORTS = insert(ReportRow)
_INSERT_EVENTS = insert(Event)
_NOW = bindparam("b_now", type_=UTCDateTime())
_UPDATE_HOST = (
    update(Host)
    .where(Host.id == bindparam("b_id"))
    .values(
        last_report_at=_NOW,
        state="up",
        state_changed_at=case((Host.state != "up", _NOW), else_=Host.state_changed_at),
        last_seq=bindparam("b_last_seq"),
        reports_total=Host.reports_total + bindparam("b_n"),
        last_collected_at=case(
            (bindparam("b_advanced", type_=Boolean()), bindparam("b_collected_at", type_=UTCDateTime())),
            else_=Host.last_collected_at,
        ),
        hostname=bindparam("b_hostname"),
        agent_version=bindparam("b_agent_version"),
        os_name=bindparam("b_os_name"),
        latest_report=func.coalesce(bindparam("b_latest", type_=LargeBinary), Host.latest_report),
    )
)
_UPDATE_SECURITY = (
    update(Host)
    .where(Host.id == bindparam("b_id"))
    .values(security=bindparam("b_security"), security_collected_at=bindparam("b_security_at"))
)
