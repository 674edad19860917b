""" "Delayed": an edge-polled device whose newest edge poll is older than max(3 × its interval,
`snmp.edge_delay_min_s`, 180 s by default), or whose agent's host is down.

Its site's link is most likely cut and the agent's spool holds the polls; the device is not known to be
down, so it is neither reported nor alerted as down. The next poll that arrives sets its state again
(up, down or error, as the edge poller saw it). Run from the server's maintenance loop.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.devices.edge.view import edge_polled
from canhgac_collector.devices.metrics import DEVICE_STATES, DeviceMetrics
from canhgac_collector.devices.queries import state_counts
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Device, Host, Site

DELAYED = "delayed"
MIN_WINDOW_S = 180.0
WINDOW_INTERVALS = 3


def delay_window_s(
    interval_s: float | None, default_interval_s: float, floor_s: float = MIN_WINDOW_S
) -> float:
    interval = interval_s if interval_s is not None else default_interval_s
    return max(WINDOW_INTERVALS * interval, floor_s)


def mark_delayed(
    session: Session, default_interval_s: float, now: dt.datetime | None = None, floor_s: float = MIN_WINDOW_S
) -> list[str]:
    """Set "delayed" on every edge-polled device past its window, or whose agent's host is down (its
    polls cannot arrive either), with an event each; returns their names."""
    now = now or dt.datetime.now(dt.UTC)
    earliest = now - dt.timedelta(seconds=floor_s)
    down_hosts = set(session.scalars(select(Host.id).where(Host.state == "down")))
    candidates = session.scalars(
        select(Device).where(
            edge_polled(),
            Device.state.in_(("up", "down", "error")),
            Device.edge_polled_at.is_not(None),
            (Device.edge_polled_at < earliest) | Device.edge_host_id.in_(down_hosts),
        )
    )
    marked: list[str] = []
    for device in candidates:
        assert device.edge_polled_at is not None
        age = (now - device.edge_polled_at).total_seconds()
        window = delay_window_s(device.poll_interval_s, default_interval_s, floor_s)
        if age < window and device.edge_host_id not in down_hosts:
            continue
        record_event(
            session,
            kind="device.state",
            subject_type="device",
            subject_id=device.name,
            site_id=device.site_id,
            from_state=device.state,
            to_state=DELAYED,
            at=now,
            message=f"Thiết bị {device.name}: chậm dữ liệu, chưa nhận kết quả thăm dò từ tác tử tại chỗ "
            f"trong {age:.0f} s / device {device.name}: data delayed, no edge poll for {age:.0f} s",
            data={"edge_polled_at": device.edge_polled_at.isoformat()},
        )
        device.state = DELAYED
        device.state_reason = None
        device.state_changed_at = now
        marked.append(device.name)
    return marked


def refresh_edge_states(
    sessions: sessionmaker[Session],
    default_interval_s: float,
    metrics: DeviceMetrics,
    floor_s: float = MIN_WINDOW_S,
) -> list[str]:
    """`mark_delayed` in its own transaction, then the device roll-up and the delayed flags on /metrics."""
    with sessions.begin() as session:
        marked = mark_delayed(session, default_interval_s, floor_s=floor_s)
    with sessions() as session:
        counts = state_counts(session)
        delayed = session.execute(
            select(Site.code, Device.name)
            .join(Device, Device.site_id == Site.id)
            .where(Device.state == DELAYED)
        ).all()
    metrics.devices_by_site_state = counts
    for code, name in delayed:
        for state in DEVICE_STATES:
            metrics.device_state.set((code, name, state), 1 if state == DELAYED else 0)
    return marked
