"""Maintenance windows (silences) managed through the API: the ones a caller may see, adding one over a
site, removing one. Each change is recorded as an event with who made it.

Reads take the caller's `scope_path` (None: the whole province): a silence over a site outside it is
answered exactly like one that does not exist. `maintenance` reads the same rows to mute alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.sitetree import within
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Silence, Site


def list_silences(session: Session, scope_path: str | None) -> Sequence[tuple[Silence, str]]:
    """The silences over sites in scope, with their site codes, oldest first."""
    stmt = within(select(Silence, Site.code).join(Site, Silence.site_id == Site.id), scope_path)
    return [(s, code) for s, code in session.execute(stmt.order_by(Silence.id))]


def find_silence(session: Session, scope_path: str | None, silence_id: int) -> tuple[Silence, Site] | None:
    """Silence `silence_id` with its site, or None when it is absent or out of scope."""
    stmt = within(
        select(Silence, Site).join(Site, Silence.site_id == Site.id).where(Silence.id == silence_id),
        scope_path,
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class StoredWindow:
    """When a silence applies, as stored: `kind` once (starts_at…ends_at), weekly or dates, with the
    weekly or dates details in `schedule`."""

    kind: str
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    schedule: dict[str, Any] = field(default_factory=dict)


def add_silence(
    session: Session,
    site: Site,
    *,
    name: str,
    rules: Sequence[str],
    window: StoredWindow,
    comment: str | None,
    actor: str,
    now: dt.datetime,
) -> Silence:
    """Store a silence over `site`'s subtree (every rule when `rules` is empty) and record who added it.
    The caller has checked that `site` is in its scope."""
    silence = Silence(
        name=name,
        site_id=site.id,
        rules=list(rules),
        kind=window.kind,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        schedule=window.schedule,
        comment=comment,
        created_by=actor,
        created_at=now,
    )
    session.add(silence)
    session.flush()
    record_event(
        session,
        kind="silence.created",
        subject_type="site",
        subject_id=site.code,
        site_id=site.id,
        actor=actor,
        message=f"Thêm thời gian bảo trì {name!r} ({window.kind}) / maintenance window added",
        data={"silence_id": silence.id},
    )
    return silence


def remove_silence(session: Session, silence: Silence, site: Site, *, actor: str) -> None:
    """Delete `silence` (over `site`, as `find_silence` gave them) and record who removed it."""
    silence_id = silence.id
    session.delete(silence)
    record_event(
        session,
        kind="silence.deleted",
        subject_type="site",
        subject_id=site.code,
        site_id=site.id,
        actor=actor,
        message=f"Xóa thời gian bảo trì {silence.name!r} / maintenance window removed",
        data={"silence_id": silence_id},
    )
