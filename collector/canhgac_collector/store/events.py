"""Recording events: state changes and administrative actions (the audit log)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from canhgac_collector.store.models import Event


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
