"""Alerts: list/filter by site subtree and state, detail, acknowledge (API and signed link), channel
health. Officers see and acknowledge only their subtree (out of scope answers 404, like absent)."""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from canhgac_api.auth import Principal, Reader, require, visible_site_path
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.alerts import AckIn, AlertList, AlertOut, AlertState, ChannelList, ChannelOut
from canhgac_collector.alerting.engine import AckError, acknowledge
from canhgac_collector.alerting.links import LinkError
from canhgac_collector.alerting.queries import find_alert
from canhgac_collector.alerting.queries import list_alerts as query_alerts
from canhgac_collector.alerting.service import AlertService
from canhgac_collector.store.models import Alert

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
PLUGIN = Routes("alerts", router)
Id = Annotated[int, PathParam(ge=1, le=2**62)]  # beyond a 64-bit key: 422, not a database error
Acker = Annotated[Principal, Depends(require("admin", "officer"))]


def _service(request: Request) -> AlertService:
    svc: AlertService | None = getattr(request.app.state, "alerting", None)
    if svc is None:
        raise ProblemError(503, "alerting-unavailable", "Alerting unavailable", "alerting is not running")
    return svc


def alert_out(a: Alert, code: str) -> AlertOut:
    data = a.data or {}
    return AlertOut(
        id=a.id,
        rule=a.rule,
        severity=a.severity,
        state=a.state,
        site=code,
        subject_type=a.subject_type,
        subject_id=a.subject_id,
        subject_name=a.subject_name,
        summary=a.summary,
        summary_en=data.get("summary_en"),
        since=a.since,
        started_at=a.started_at,
        firing_at=a.firing_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        ack_comment=a.ack_comment,
        resolved_at=a.resolved_at,
        flap_count=a.flap_count,
        escalation_level=a.escalation_level,
        silenced=a.silenced,
        value=a.value,
        affected=data.get("affected"),
        reconnecting=data.get("reconnecting"),
        missing=data.get("missing"),
    )


@router.get(
    "", response_model=AlertList, responses=problem_responses(401, 403, 404), summary="Alerts in your scope"
)
def list_alerts(
    principal: Reader,
    ctx: Ctx,
    site: Annotated[str | None, Query(description="site code: that site's whole subtree")] = None,
    state: Annotated[list[AlertState] | None, Query(description="one or more states")] = None,
    open_only: Annotated[bool, Query(alias="open", description="only pending/firing/acknowledged")] = False,
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertList:
    with ctx.sessions() as session:
        subtree = visible_site_path(session, principal, site) if site is not None else None
        found = query_alerts(
            session,
            principal.scope_path,
            subtree=subtree,
            states=state or (),
            open_only=open_only,
            rule=rule,
            limit=limit,
            offset=offset,
        )
    return AlertList(alerts=[alert_out(a, code) for a, code in found.rows], total=found.total)


@router.get(
    "/channels", response_model=ChannelList, responses=problem_responses(401, 403), summary="Channel health"
)
def channels(principal: Reader, request: Request) -> ChannelList:
    svc = _service(request)
    d = svc.dispatcher
    names = sorted(set(d.health) | set(d.pending))
    out = []
    for name in names:
        h = d.health.get(name)
        out.append(
            ChannelOut(
                channel=name,
                up=h.up if h else True,
                pending=d.pending.get(name, 0),
                last_ok_at=h.last_ok_at if h else None,
                last_error_at=h.last_error_at if h else None,
                last_error=h.last_error if h else None,
            )
        )
    return ChannelList(channels=out)


def _page(title: str, text: str, status: int = 200, form: str = "") -> HTMLResponse:
    body = (
        f"<!doctype html><html lang='vi'><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>"
    )
    return HTMLResponse(body, status_code=status)


def _verify(request: Request, token: str) -> tuple[AlertService, int, str]:
    svc = _service(request)
    try:
        claim = svc.signer.verify(token)
    except LinkError as exc:
        raise ProblemError(
            403,
            f"ack-link-{exc.reason}",
            "Acknowledge link refused",
            f"{exc} / liên kết không hợp lệ hoặc hết hạn",
        ) from None
    return svc, claim.alert_id, claim.recipient


@router.get(
    "/ack",
    response_class=HTMLResponse,
    responses=problem_responses(403),
    summary="The signed link in a message: a confirmation page (GET never changes state)",
)
def ack_link_page(request: Request, ctx: Ctx, token: Annotated[str, Query(max_length=2000)]) -> HTMLResponse:
    _svc, alert_id, _recipient = _verify(request, token)
    with ctx.sessions() as session:
        alert = session.get(Alert, alert_id)
    if alert is None:
        raise ProblemError(404, "not-found", "Not found", f"no alert {alert_id}")
    form = (
        f"<form method='post' action='/api/v1/alerts/ack'><input type='hidden' name='token' "
        f"value='{html.escape(token, quote=True)}'><textarea name='comment' placeholder='Ghi chú / comment'>"
        "</textarea><button type='submit'>Xác nhận đã nhận / Acknowledge</button></form>"
    )
    return _page(f"Cảnh báo #{alert.id} ({alert.state})", alert.summary, form=form)


@router.post(
    "/ack",
    response_class=HTMLResponse,
    responses=problem_responses(403, 404, 409, 413),
    summary="Acknowledge through a signed link (form post: token, comment)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "additionalProperties": False,
                        "properties": {
                            "token": {"type": "string", "minLength": 1, "maxLength": 2000},
                            "comment": {"type": "string", "maxLength": 2000},
                        },
                    }
                }
            },
        }
    },
)
async def ack_link(request: Request, ctx: Ctx) -> HTMLResponse:
    raw = await request.body()
    if len(raw) > 8192:
        raise ProblemError(413, "too-large", "Request too large", "the form is limited to 8 KiB")
    try:
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), max_num_fields=8)
    except ValueError:
        raise ProblemError(422, "invalid-request", "Invalid request", "too many form fields") from None
    token = (form.get("token") or [""])[0]
    comment = (form.get("comment") or [""])[0]
    if not token:
        raise ProblemError(422, "invalid-request", "Invalid request", "form field 'token' is required")
    _svc, alert_id, recipient = _verify(request, token)

    def apply() -> str:
        with ctx.sessions.begin() as session:
            alert = acknowledge(
                session, alert_id, f"link:{recipient}", comment or None, dt.datetime.now(dt.UTC)
            )
            return alert.summary

    try:
        summary = await run_in_threadpool(apply)
    except AckError as exc:
        raise ProblemError(409, "alert-not-open", "Alert not open", str(exc)) from None
    return _page("Đã xác nhận / Acknowledged", summary)


def _scoped_alert(principal: Principal, ctx: Ctx, alert_id: int) -> tuple[Alert, str]:
    with ctx.sessions() as session:
        row = find_alert(session, principal.scope_path, alert_id)
    if row is None:
        raise ProblemError(404, "not-found", "Not found", f"no alert {alert_id} within your scope")
    return row


@router.get(
    "/{alert_id}", response_model=AlertOut, responses=problem_responses(401, 403, 404), summary="One alert"
)
def get_alert(alert_id: Id, principal: Reader, ctx: Ctx) -> AlertOut:
    alert, code = _scoped_alert(principal, ctx, alert_id)
    return alert_out(alert, code)


@router.post(
    "/{alert_id}/ack",
    response_model=AlertOut,
    responses=problem_responses(401, 403, 404, 409),
    summary="Acknowledge an alert with an optional comment (stops escalation)",
)
def ack_alert(alert_id: Id, body: AckIn, principal: Acker, ctx: Ctx) -> AlertOut:
    _alert, code = _scoped_alert(principal, ctx, alert_id)
    try:
        with ctx.sessions.begin() as session:
            alert = acknowledge(session, alert_id, principal.token_id, body.comment, dt.datetime.now(dt.UTC))
    except AckError as exc:
        raise ProblemError(409, "alert-not-open", "Alert not open", str(exc)) from None
    return alert_out(alert, code)
