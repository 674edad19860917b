"""Events: state changes and administrative actions (the audit log), recorded and read back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.sitetree import within
from canhgac_collector.store.models import Event, Site


def record_event(
    session: Session,
    *,
    kind: str,
    subject_type: str,
    subject_id: str,
    message: str,
    site_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    actor: str | None = "system",
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> Event:
    event = Event(
        at=at or dt.datetime.now(dt.UTC),
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        site_id=site_id,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        message=message,
        data=data,
    )
    session.add(event)
    return event


def list_events(
    session: Session,
    scope_path: str | None,
    *,
    kind: str | None = None,
    subject_id: str | None = None,
    limit: int = 100,
) -> Sequence[tuple[Event, str | None]]:
    """The newest events in scope with their site's code, newest first. Province-wide events (no site)
    are for callers of the whole province only."""
    stmt = within(select(Event, Site.code).outerjoin(Site, Event.site_id == Site.id), scope_path)
    if kind:
        stmt = stmt.where(Event.kind == kind)
    if subject_id:
        stmt = stmt.where(Event.subject_id == subject_id)
    return session.execute(stmt.order_by(Event.id.desc()).limit(limit)).all()
