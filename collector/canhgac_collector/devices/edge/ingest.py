"""Storing the `snmp` section of agent reports: the edge polls, one more step of ingest after the
reports are committed (runs in the ingest worker, in its own transaction, like the `lan` step).

Each poll names a device of the server's inventory. It is refused (counted by reason, never stored)
when the device is unknown, lies in another site than the reporting host (a commune PC never writes
another site's switch), is `poller: server`, or is already owned by another host, and when its time does
not fit its report: a poll is taken before the report that carries it is collected (`collected_at`, itself
held to the server's clock window), and waits at most `POLL_MAX_WAIT_S` for it. A poll stamped in the
future would otherwise pin the device's newest time and make every later real poll "late". Otherwise the host
claims the device (the server stops polling it) and the poll is stored the way the server's own polls
are (`devices.store.record_polls`), at its real time: a poll older than the stored one (late, duplicate,
replayed) leaves the current state alone and still reaches history. Each poll is stored in its own
savepoint: one that fails is counted and the others of the report are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.results import DevicePoll
from canhgac_collector.devices.edge.convert import device_poll, edge_fields, poll_json
from canhgac_collector.devices.edge.states import delay_window_s
from canhgac_collector.devices.store import record_polls
from canhgac_collector.store.db import begin_write
from canhgac_collector.store.models import Device, Host, Site

log = logging.getLogger("canhgac.devices.edge")

#: How long before its report a poll may have started (the agent's queue holds polls until the next
#: report; a day covers any report interval) and after it (clock steps, durations rounding).
POLL_MAX_WAIT_S = 86400.0
POLL_MAX_AHEAD_S = 120.0

#: Every outcome of one edge poll (the label set of `canhgac_edge_polls_total`).
OUTCOMES = (
    "stored",
    "late",  # older than the device's newest stored poll: history only
    "unknown_device",
    "other_site",
    "server_polled",
    "other_host",
    "bad_time",  # started after its report was collected, or long before it
    "failed",  # could not be converted or stored (a bug, logged)
)


@dataclass
class EdgeObservation:
    """What one host's edge polls change on /metrics and in history (the worker's reply)."""

    site: str
    host_id: str
    outcomes: Counter[str] = field(default_factory=Counter)
    dropped: int = 0  # polls the agent could not fit into its reports (`polls_dropped`)
    polls: list[dict[str, Any]] = field(default_factory=list)  # accepted polls (stored or late), JSON
    claimed: list[str] = field(default_factory=list)  # devices this host owns from now on

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "host_id": self.host_id,
            "outcomes": dict(self.outcomes),
            "dropped": self.dropped,
            "polls": self.polls,
            "claimed": self.claimed,
        }


class EdgeStore:
    """The edge step of ingest over one engine."""

    def __init__(
        self, engine: Engine, default_interval_s: float = 60.0, delay_floor_s: float = 180.0
    ) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.default_interval_s = default_interval_s
        self.delay_floor_s = delay_floor_s

    def record(self, host_id: str, reports: Sequence[Any]) -> EdgeObservation | None:
        """Store the `snmp` sections of `reports` (one host's accepted reports, oldest first)."""
        carrying = [r for r in reports if getattr(r, "snmp", None) is not None]
        if not carrying:
            return None
        with self._sessions.begin() as session:
            begin_write(session)
            return record_sections(
                session,
                host_id,
                [r.snmp for r in carrying],
                [_aware(r.collected_at) for r in carrying],
                window=lambda d: delay_window_s(
                    d.poll_interval_s, self.default_interval_s, self.delay_floor_s
                ),
            )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def bad_time(started_at: float, collected_at: dt.datetime) -> bool:
    """Whether a poll that started at `started_at` (unix s) cannot belong to a report collected then."""
    collected = collected_at.timestamp()
    return not collected - POLL_MAX_WAIT_S <= started_at <= collected + POLL_MAX_AHEAD_S


def refusal(device: Device | None, host: Host) -> str | None:
    """Why `host` may not store a poll of `device`, or None when it may."""
    if device is None:
        return "unknown_device"
    if device.site_id != host.site_id:
        return "other_site"
    if device.poller == "server":
        return "server_polled"
    if device.edge_host_id is not None and device.edge_host_id != host.id:
        return "other_host"
    return None


def record_sections(
    session: Session,
    host_id: str,
    sections: Sequence[Any],
    collected: Sequence[dt.datetime] | None = None,
    window: Callable[[Device], float] | None = None,
) -> EdgeObservation:
    """Store each section's polls; `collected[i]` is the collected_at of the report carrying
    `sections[i]` (the polls' times are held to it); `window(device)`: its delay window, past which a
    poll of a "delayed" device is backlog and leaves that state alone."""
    host = session.get(Host, host_id)
    if host is None:
        raise LookupError(f"host {host_id} no longer exists")
    site = session.get(Site, host.site_id)
    assert site is not None
    obs = EdgeObservation(site.code, host_id)
    names = {p.device for s in sections for p in s.polls}
    devices = {d.name: d for d in session.scalars(select(Device).where(Device.name.in_(names)))}
    for index, section in enumerate(sections):
        obs.dropped += section.polls_dropped
        for edge in section.polls:
            device = devices.get(edge.device)
            why = refusal(device, host)
            if why is not None or device is None:
                obs.outcomes[why or "unknown_device"] += 1
                continue
            try:
                poll = device_poll(edge_fields(edge))
            except Exception:
                log.exception("edge poll of device=%s from host_id=%s not converted", edge.device, host_id)
                obs.outcomes["failed"] += 1
                continue
            if collected is not None and bad_time(poll.started_at, collected[index]):
                obs.outcomes["bad_time"] += 1
                continue
            try:
                with session.begin_nested():
                    claims = device.edge_host_id is None
                    outcome = _store_one(session, device, host, poll, edge.topology, window)
            except Exception:
                log.exception("edge poll of device=%s from host_id=%s not stored", edge.device, host_id)
                obs.outcomes["failed"] += 1
                continue
            obs.outcomes[outcome] += 1
            obs.polls.append(poll_json(poll))
            if claims:
                obs.claimed.append(device.name)
    return obs


def _store_one(
    session: Session,
    device: Device,
    host: Host,
    poll: DevicePoll,
    topology: bool,
    window: Callable[[Device], float] | None,
) -> str:
    """Store one accepted poll: "stored", or "late" (older than the device's newest: history only)."""
    at = dt.datetime.fromtimestamp(poll.started_at, dt.UTC)
    finished = dt.datetime.fromtimestamp(poll.started_at + poll.duration_s, dt.UTC)
    late = device.last_poll_at is not None and finished < device.last_poll_at
    backlog = window is not None and time.time() - poll.started_at > window(device)
    record_polls(session, [poll], () if topology else (poll,), (poll,) if backlog else ())
    if device.edge_host_id is None:
        log.info("device %s is polled by the agent of host %s from now on", device.name, host.hostname)
    device.edge_host_id = host.id
    if device.edge_polled_at is None or at > device.edge_polled_at:
        device.edge_polled_at = at
    session.flush()
    return "late" if late else "stored"
