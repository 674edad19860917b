"""Maintenance windows (silences) over site subtrees: create, list, delete. Admins anywhere, officers in
their subtree; operators and auditors read. Config windows (`alerting.maintenance`) are not listed here."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import select

from canhgac_api.auth import Principal, Reader, require
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.alerts import DatesIn, OnceIn, SilenceIn, SilenceList, SilenceOut, WeeklyIn
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Silence, Site

router = APIRouter(prefix="/api/v1/silences", tags=["alerts"])
PLUGIN = Routes("silences", router)
Id = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # silences.id is a 32-bit INTEGER
Writer = Annotated[Principal, Depends(require("admin", "officer"))]


def _utc(t: dt.datetime) -> dt.datetime:
    try:
        return t.astimezone(dt.UTC)
    except OverflowError:  # year 1 or 9999 with an offset: the window is simply unbounded there
        return (dt.datetime.min if t.year < 5000 else dt.datetime.max).replace(tzinfo=dt.UTC)


def window_fields(
    body: SilenceIn,
) -> tuple[str, dt.datetime | None, dt.datetime | None, dict[str, Any]]:
    """(kind, starts_at, ends_at, schedule) as stored (maintenance.py reads them)."""
    w = body.window
    if isinstance(w, OnceIn):
        start = _utc(w.starts_at)
        try:
            end = start + dt.timedelta(seconds=w.duration_s)
        except OverflowError:
            end = dt.datetime.max.replace(tzinfo=dt.UTC)
        return "once", start, end, {}
    if isinstance(w, WeeklyIn):
        return "weekly", None, None, {"weekly": {"days": w.days, "start": w.start, "end": w.end}}
    if isinstance(w, DatesIn):
        ranges = []
        for r in w.ranges:
            try:
                last = r.start + dt.timedelta(days=r.days - 1)
            except OverflowError:
                last = dt.date.max
            ranges.append({"start": r.start.isoformat(), "end": last.isoformat()})
        return "dates", None, None, {"dates": ranges}
    first = dt.date(2000, w.month, min(w.day, calendar.monthrange(2000, w.month)[1]))  # 2000: a leap year
    last = first + dt.timedelta(days=w.days - 1)
    return "dates", None, None, {"dates": [{"start": first.strftime("%m-%d"), "end": last.strftime("%m-%d")}]}


def silence_out(s: Silence, code: str) -> SilenceOut:
    sched = s.schedule or {}
    return SilenceOut(
        id=s.id,
        name=s.name,
        site=code,
        rules=list(s.rules or []),
        kind=s.kind,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        weekly=sched.get("weekly"),
        dates=sched.get("dates", []),
        comment=s.comment,
        created_by=s.created_by,
        created_at=s.created_at,
    )


@router.get(
    "", response_model=SilenceList, responses=problem_responses(401, 403), summary="Silences in scope"
)
def list_silences(principal: Reader, ctx: Ctx) -> SilenceList:
    stmt = select(Silence, Site.code).join(Site, Silence.site_id == Site.id)
    if principal.scope_path is not None:
        stmt = stmt.where(Site.path.startswith(principal.scope_path, autoescape=True))
    with ctx.sessions() as session:
        rows = session.execute(stmt.order_by(Silence.id)).all()
    return SilenceList(silences=[silence_out(s, c) for s, c in rows])


@router.post(
    "",
    response_model=SilenceOut,
    status_code=201,
    responses=problem_responses(401, 403, 404),
    summary="Create a maintenance window (one-off, weekly or dates) over a site subtree",
)
def create_silence(body: SilenceIn, principal: Writer, ctx: Ctx) -> SilenceOut:
    now = dt.datetime.now(dt.UTC)
    with ctx.sessions.begin() as session:
        site = session.scalar(select(Site).where(Site.code == body.site))
        if site is None or not principal.sees_path(site.path):
            raise ProblemError(404, "not-found", "Not found", f"no site {body.site!r} within your scope")
        kind, starts_at, ends_at, schedule = window_fields(body)
        s = Silence(
            name=body.name,
            site_id=site.id,
            rules=list(body.rules),
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            schedule=schedule,
            comment=body.comment,
            created_by=principal.token_id,
            created_at=now,
        )
        session.add(s)
        session.flush()
        record_event(
            session,
            kind="silence.created",
            subject_type="site",
            subject_id=site.code,
            site_id=site.id,
            actor=principal.token_id,
            message=f"Thêm thời gian bảo trì {body.name!r} ({kind}) / maintenance window added",
            data={"silence_id": s.id},
        )
        return silence_out(s, site.code)


@router.delete(
    "/{silence_id}", status_code=204, responses=problem_responses(401, 403, 404), summary="Delete a silence"
)
def delete_silence(silence_id: Id, principal: Writer, ctx: Ctx) -> Response:
    with ctx.sessions.begin() as session:
        row = session.execute(
            select(Silence, Site).join(Site, Silence.site_id == Site.id).where(Silence.id == silence_id)
        ).one_or_none()
        if row is None or not principal.sees_path(row[1].path):
            raise ProblemError(404, "not-found", "Not found", f"no silence {silence_id} within your scope")
        s, site = row
        session.delete(s)
        record_event(
            session,
            kind="silence.deleted",
            subject_type="site",
            subject_id=site.code,
            site_id=site.id,
            actor=principal.token_id,
            message=f"Xóa thời gian bảo trì {s.name!r} / maintenance window removed",
            data={"silence_id": silence_id},
        )
    return Response(status_code=204)
