"""Agent protocol: enrollment and report ingest (docs/protocol.md)."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select, update
from starlette.types import Receive

from canhgac_api.auth import Principal, principal_for
from canhgac_api.context import AppContext, Ctx
from canhgac_api.ingest import dumps
from canhgac_api.ingest_worker import IngestUnavailable
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.schemas.api import EnrollRequest, EnrollResponse, IngestAck
from canhgac_collector.sitetree import agent_settings, site_for_enrollment_key
from canhgac_collector.storage.events import record_event
from canhgac_collector.storage.models import Host, Token
from canhgac_collector.storage.tokens import create_token

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])


@router.post(
    "/enroll",
    status_code=201,
    response_model=EnrollResponse,
    responses=problem_responses(400, 401, 429),
    summary="Enroll an agent with its site's enrollment key",
)
def enroll(body: EnrollRequest, request: Request, ctx: Ctx) -> EnrollResponse:
    client = request.client.host if request.client else "unknown"
    allowed, _wait = ctx.enroll_limiter.allow(client)
    if not allowed:
        raise ProblemError(429, "rate-limited", "Too many requests", "too many enrollment attempts; wait")
    site_cfg = site_for_enrollment_key(ctx.config, body.enrollment_key.get_secret_value())
    if site_cfg is None:
        raise ProblemError(
            401,
            "invalid-enrollment-key",
            "Invalid enrollment key",
            "the enrollment key matches no site in the server configuration",
        )
    site_id = ctx.site_ids[site_cfg.code]
    now = dt.datetime.now(dt.UTC)
    with ctx.sessions.begin() as session:
        host = session.scalar(select(Host).where(Host.machine_id == body.machine_id))
        if host is None:
            host = Host(
                id=str(uuid.uuid4()),
                machine_id=body.machine_id,
                hostname=body.hostname,
                site_id=site_id,
                state="new",
                state_changed_at=now,
                enrolled_at=now,
                last_seq=0,
                reports_total=0,
            )
            session.add(host)
            session.flush()
            kind, message = "host.enrolled", f"Máy {body.hostname} đăng ký tại {site_cfg.name} / enrolled"
        else:
            session.execute(
                update(Token)
                .where(Token.host_id == host.id, Token.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            host.hostname, host.site_id = body.hostname, site_id
            kind, message = (
                "host.reenrolled",
                f"Máy {body.hostname} đăng ký lại tại {site_cfg.name} / re-enrolled",
            )
        record_event(
            session,
            kind=kind,
            subject_type="host",
            subject_id=host.id,
            site_id=site_id,
            actor=f"enroll:{client}",
            message=message,
        )
        token = create_token(
            session, role="agent", name=f"agent {body.hostname}", site_code=site_cfg.code, host_id=host.id
        )
        last_seq = host.last_seq
        agent_id = host.id
    ctx.tokens.clear()  # the old token of a re-enrolled host stops working now
    return EnrollResponse(
        agent_id=agent_id,
        token=token.token,
        site=site_cfg.code,
        last_seq=last_seq,
        settings=agent_settings(ctx.config, ctx.tree[site_cfg.code]),
    )


@router.post(
    "/reports",
    response_model=IngestAck,
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
    summary="Push a gzip JSON batch of reports",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportBatch"}}},
            "description": "gzip-compressed (`Content-Encoding: gzip`) JSON batch of reports, ordered by seq",
        }
    },
)
async def ingest_reports(request: Request) -> Response:
    """Served by `fastpath.AgentReportsFastPath` in front of the framework (ADR 0009); this declaration
    documents the route in OpenAPI and answers the same way where the fast path is not installed."""
    ack = await receive_reports(request.app.state.ctx, dict(request.scope["headers"]), request.receive)
    return Response(ack, media_type="application/json")


async def receive_reports(ctx: AppContext, headers: dict[bytes, bytes], receive: Receive) -> bytes:
    """One agent request, from its ASGI headers and body messages to the acknowledgement's JSON bytes
    (ProblemError for every refusal)."""
    telemetry = ctx.telemetry
    try:
        principal = await principal_for(headers.get(b"authorization", b"").decode("latin-1"), ctx)
        if principal.role != "agent":
            raise ProblemError(403, "forbidden", "Forbidden", f"role {principal.role} may not push reports")
        ack = dumps(await _ingest(headers, receive, principal, ctx))
    except ProblemError as exc:
        telemetry.ingest_requests[str(exc.status)] += 1
        raise
    telemetry.ingest_requests["200"] += 1
    return ack


async def _ingest(
    headers: dict[bytes, bytes], receive: Receive, principal: Principal, ctx: AppContext
) -> dict[str, object]:
    assert principal.host_id is not None
    assert principal.site_id is not None
    limits = ctx.config.ingest
    allowed, wait = ctx.ingest_limiter.allow(principal.host_id)
    if not allowed:
        raise ProblemError(
            429,
            "rate-limited",
            "Too many requests",
            f"this agent is over its request rate; retry in {wait:.1f} s",
        )
    media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    if media != "application/json":
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"Content-Type must be application/json, got {media or 'none'!r}",
        )
    encoding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
    if encoding not in ("gzip", "identity"):
        raise ProblemError(
            415,
            "unsupported-encoding",
            "Unsupported content encoding",
            f"Content-Encoding must be gzip, got {encoding!r}",
        )
    declared = headers.get(b"content-length", b"").decode("latin-1")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise ProblemError(
            413,
            "body-too-large",
            "Request body too large",
            f"the body is {declared} bytes; the limit is {limits.max_body_bytes}",
        )
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ProblemError(400, "malformed-body", "Malformed request body", "the client went away")
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise ProblemError(
                413,
                "body-too-large",
                "Request body too large",
                f"the body exceeds the limit of {limits.max_body_bytes} bytes",
            )
        chunks.append(chunk)
    site_code = ctx.site_codes[principal.site_id]
    try:
        reply = await ctx.ingest.submit(principal.host_id, site_code, encoding == "gzip", b"".join(chunks))
    except IngestUnavailable:
        raise ProblemError(
            503, "storage-unavailable", "Storage unavailable", "the reports could not be stored; retry later"
        ) from None
    telemetry = ctx.telemetry
    ok = reply.get("ok")
    if ok is None:
        problem = reply["problem"]
        telemetry.ingest_reports["refused"] += reply.get("refused", 0)
        raise ProblemError(
            problem["status"], problem["slug"], problem["title"], problem["detail"], **problem["extra"]
        )
    telemetry.ingest_reports["accepted"] += len(ok["accepted"])
    telemetry.ingest_reports["duplicate"] += len(ok["duplicates"])
    telemetry.agent_spool_backlog[(site_code, principal.host_id, ok["hostname"])] = ok["spool_backlog"]
    observation = ok.get("observation")
    if observation is not None:
        telemetry.apply_host_observation(principal.host_id, principal.site_id, observation, ok.get("lines"))
    return {
        "accepted": ok["accepted"],
        "duplicates": ok["duplicates"],
        "last_seq": ok["last_seq"],
        "settings": ctx.settings_by_site_id[principal.site_id],
    }
