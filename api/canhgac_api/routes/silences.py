"""Maintenance windows (silences) over site subtrees: create, list, delete. Admins anywhere, officers in
their subtree; operators and auditors read. Config windows (`alerting.maintenance`) are not listed here."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import Response

from canhgac_api.auth import Principal, Reader, require
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.alerts import DatesIn, OnceIn, SilenceIn, SilenceList, SilenceOut, WeeklyIn
from canhgac_collector.alerting import silences
from canhgac_collector.alerting.silences import StoredWindow
from canhgac_collector.store.models import Silence
from canhgac_collector.store.sites import visible_site

router = APIRouter(prefix="/api/v1/silences", tags=["alerts"])
PLUGIN = Routes("silences", router)
Id = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # silences.id is a 32-bit INTEGER
Writer = Annotated[Principal, Depends(require("admin", "officer"))]


def _utc(t: dt.datetime) -> dt.datetime:
    try:
        return t.astimezone(dt.UTC)
    except OverflowError:  # year 1 or 9999 with an offset: the window is simply unbounded there
        return (dt.datetime.min if t.year < 5000 else dt.datetime.max).replace(tzinfo=dt.UTC)


def window_fields(body: SilenceIn) -> StoredWindow:
    """The request's window as stored (maintenance.py reads it)."""
    w = body.window
    if isinstance(w, OnceIn):
        start = _utc(w.starts_at)
        try:
            end = start + dt.timedelta(seconds=w.duration_s)
        except OverflowError:
            end = dt.datetime.max.replace(tzinfo=dt.UTC)
        return StoredWindow("once", start, end)
    if isinstance(w, WeeklyIn):
        return StoredWindow("weekly", schedule={"weekly": {"days": w.days, "start": w.start, "end": w.end}})
    if isinstance(w, DatesIn):
        ranges = []
        for r in w.ranges:
            try:
                last = r.start + dt.timedelta(days=r.days - 1)
            except OverflowError:
                last = dt.date.max
            ranges.append({"start": r.start.isoformat(), "end": last.isoformat()})
        return StoredWindow("dates", schedule={"dates": ranges})
    first = dt.date(2000, w.month, min(w.day, calendar.monthrange(2000, w.month)[1]))  # 2000: a leap year
    last = first + dt.timedelta(days=w.days - 1)
    return StoredWindow(
        "dates", schedule={"dates": [{"start": first.strftime("%m-%d"), "end": last.strftime("%m-%d")}]}
    )


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
    with ctx.sessions() as session:
        rows = silences.list_silences(session, principal.scope_path)
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
        site = visible_site(session, body.site, principal.scope_path)
        if site is None:
            raise ProblemError(404, "not-found", "Not found", f"no site {body.site!r} within your scope")
        s = silences.add_silence(
            session,
            site,
            name=body.name,
            rules=body.rules,
            window=window_fields(body),
            comment=body.comment,
            actor=principal.token_id,
            now=now,
        )
        return silence_out(s, site.code)


@router.delete(
    "/{silence_id}", status_code=204, responses=problem_responses(401, 403, 404), summary="Delete a silence"
)
def delete_silence(silence_id: Id, principal: Writer, ctx: Ctx) -> Response:
    with ctx.sessions.begin() as session:
        row = silences.find_silence(session, principal.scope_path, silence_id)
        if row is None:
            raise ProblemError(404, "not-found", "Not found", f"no silence {silence_id} within your scope")
        silences.remove_silence(session, *row, actor=principal.token_id)
    return Response(status_code=204)
