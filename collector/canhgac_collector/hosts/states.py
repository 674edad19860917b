"""Host state from report age: up → stale → down, with an event on every change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canhgac_collector.config import HostStateConfig
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Host, Site

STATE_TEXT = {
    "up": "hoạt động / up",
    "stale": "chậm báo cáo / stale",
    "down": "mất liên lạc / down",
    "new": "mới đăng ký / new",
}


def state_for_age(age_s: float | None, cfg: HostStateConfig) -> str:
    if age_s is None:
        return "new"
    if age_s >= cfg.down_after_s:
        return "down"
    if age_s >= cfg.stale_after_s:
        return "stale"
    return "up"


def set_host_state(session: Session, host: Host, state: str, now: dt.datetime, reason: str) -> None:
    """Change `host.state` and record the transition."""
    if host.state == state:
        return
    record_event(
        session,
        kind="host.state",
        subject_type="host",
        subject_id=host.id,
        site_id=host.site_id,
        from_state=host.state,
        to_state=state,
        at=now,
        message=f"Máy {host.hostname}: {STATE_TEXT.get(host.state, host.state)} → "
        f"{STATE_TEXT.get(state, state)} ({reason})",
    )
    host.state = state
    host.state_changed_at = now


def evaluate_host_states(session: Session, cfg: HostStateConfig, now: dt.datetime | None = None) -> int:
    """Age every host's state; returns how many changed. Ingest marks hosts up as reports arrive."""
    now = now or dt.datetime.now(dt.UTC)
    changed = 0
    stale_before = now - dt.timedelta(seconds=cfg.stale_after_s)
    candidates = session.scalars(
        select(Host).where(Host.state.in_(("up", "stale")), Host.last_report_at < stale_before)
    )
    for host in candidates:
        assert host.last_report_at is not None
        age = (now - host.last_report_at).total_seconds()
        state = state_for_age(age, cfg)
        if state != host.state:
            set_host_state(
                session, host, state, now, f"không có báo cáo {int(age)} s / no report for {int(age)} s"
            )
            changed += 1
    return changed


def hosts_by_site_state(session: Session) -> dict[tuple[str, str], int]:
    """(site code, state) → hosts: the snapshot /metrics shows between refreshes."""
    rows = session.execute(
        select(Site.code, Host.state, func.count())
        .join(Host, Host.site_id == Site.id)
        .group_by(Site.code, Host.state)
    ).all()
    return {(code, state): n for code, state, n in rows}
