"""Agent protocol: enrollment and report ingest (docs/protocol.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import Receive

from canhgac_api.auth import Principal, principal_for
from canhgac_api.context import AppContext, Ctx
from canhgac_api.ingest import dumps
from canhgac_api.ingest_worker import IngestUnavailable
from canhgac_api.problems import ProblemError, problem_responses, rate_limited
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.api import EnrollRequest, EnrollResponse, IngestAck
from canhgac_collector.devices import metrics as device_metrics
from canhgac_collector.hosts import enrollment
from canhgac_collector.hosts import metrics as host_metrics
from canhgac_collector.lan import metrics as lan_metrics
from canhgac_collector.sitetree import agent_settings, site_for_enrollment_key

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])
PLUGIN = Routes("agents", router)


@router.post(
    "/enroll",
    status_code=201,
    response_model=EnrollResponse,
    responses=problem_responses(400, 401, 409, 429),
    summary="Enroll an agent with its site's enrollment key",
)
def enroll(body: EnrollRequest, request: Request, ctx: Ctx) -> EnrollResponse:
    """A new machine becomes a host of the key's site; a machine already enrolled *in that site* gets a
    new token (the old one stops working) and keeps its history. Another site's key never takes over an
    existing host: 409, and an event for the officers of both sites."""
    client = request.client.host if request.client else "unknown"
    refused = ctx.telemetry.refused
    for limiter, key, what in (
        (ctx.enroll_limiter, client, "from your address"),
        (ctx.enroll_global_limiter, "*", "on this server"),
    ):
        allowed, wait = limiter.allow(key)
        if not allowed:
            refused[("enroll", "rate_limited")] += 1
            raise rate_limited(f"too many enrollment attempts {what}", wait)
    site_cfg = site_for_enrollment_key(ctx.config, body.enrollment_key.get_secret_value())
    if site_cfg is None:
        refused[("enroll", "invalid_key")] += 1
        if ctx.enroll_failure_events.allow(client)[0]:  # the metric counts every try; events a few
            _record_failed_key(ctx, client, body.machine_id)
        raise ProblemError(
            401,
            "invalid-enrollment-key",
            "Invalid enrollment key",
            "the enrollment key matches no site in the server configuration",
        )
    allowed, wait = ctx.enroll_site_limiter.allow(site_cfg.code)
    if not allowed:
        refused[("enroll", "rate_limited")] += 1
        raise rate_limited("too many enrollments with this site's key", wait)
    site_id = ctx.site_ids[site_cfg.code]
    with ctx.sessions.begin() as session:
        host = enrollment.host_by_machine(session, body.machine_id)
        if host is not None and host.site_id != site_id:
            enrollment.record_takeover_refused(session, host, site_cfg.code, site_id, client, body.hostname)
            enrolled = None
        else:
            enrolled = enrollment.enroll_in_site(
                session,
                host,
                machine_id=body.machine_id,
                hostname=body.hostname,
                site_code=site_cfg.code,
                site_name=site_cfg.name,
                site_id=site_id,
                actor=f"enroll:{client}",
            )
    if enrolled is None:  # the events are committed; now refuse
        refused[("enroll", "other_site")] += 1
        raise ProblemError(
            409,
            "host-in-other-site",
            "Machine enrolled in another site",
            "this machine is enrolled in another site; an administrator must remove it there first "
            "(DELETE /api/v1/hosts/{id}) before it can enroll with this site's key",
        )
    ctx.tokens.clear()  # the old token of a re-enrolled host stops working now
    return EnrollResponse(
        agent_id=enrolled.agent_id,
        token=enrolled.token,
        site=site_cfg.code,
        last_seq=enrolled.last_seq,
        settings=agent_settings(ctx.config, ctx.tree[site_cfg.code]),
    )


def _record_failed_key(ctx: AppContext, client: str, machine_id: str) -> None:
    with ctx.sessions.begin() as session:
        enrollment.record_failed_key(session, machine_id, client)


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
    metrics = ctx.telemetry.get(host_metrics.PLUGIN)
    try:
        principal = await principal_for(headers.get(b"authorization", b"").decode("latin-1"), ctx)
        if principal.role != "agent":
            raise ProblemError(403, "forbidden", "Forbidden", f"role {principal.role} may not push reports")
        ack = dumps(await _ingest(headers, receive, principal, ctx))
    except ProblemError as exc:
        metrics.ingest_requests[str(exc.status)] += 1
        raise
    metrics.ingest_requests["200"] += 1
    return ack


async def _ingest(
    headers: dict[bytes, bytes], receive: Receive, principal: Principal, ctx: AppContext
) -> dict[str, object]:
    assert principal.host_id is not None
    assert principal.site_id is not None
    limits = ctx.config.ingest
    allowed, wait = ctx.ingest_limiter.allow(principal.host_id)
    if not allowed:
        raise rate_limited("this agent is over its request rate", wait)
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
    site_code = ctx.site_codes.get(principal.site_id) if principal.site_id is not None else None
    if site_code is None:  # the site was taken out of the configuration (reload or restart)
        raise ProblemError(
            403,
            "site-retired",
            "Site no longer configured",
            "địa điểm của máy này không còn trong cấu hình máy chủ / this host's site is no longer in the "
            "server's configuration: ask the provincial operator to move or remove the host",
        )
    try:
        reply = await ctx.ingest.submit(principal.host_id, site_code, encoding == "gzip", b"".join(chunks))
    except IngestUnavailable:
        raise ProblemError(
            503, "storage-unavailable", "Storage unavailable", "the reports could not be stored; retry later"
        ) from None
    metrics = ctx.telemetry.get(host_metrics.PLUGIN)
    ok = reply.get("ok")
    if ok is None:
        problem = reply["problem"]
        metrics.ingest_reports["refused"] += reply.get("refused", 0)
        if reply.get("clock"):
            metrics.clock_refused[site_code] += reply.get("refused", 0)
        raise ProblemError(
            problem["status"], problem["slug"], problem["title"], problem["detail"], **problem["extra"]
        )
    metrics.ingest_reports["accepted"] += len(ok["accepted"])
    metrics.ingest_reports["duplicate"] += len(ok["duplicates"])
    metrics.agent_spool_backlog[(site_code, principal.host_id, ok["hostname"])] = ok["spool_backlog"]
    observation = ok.get("observation")
    if observation is not None:
        metrics.apply_handover(principal.host_id, site_code, observation, ok.get("lines"))
    if ok.get("lan_failed"):
        ctx.telemetry.confined_errors["lan"] += 1
    elif ok.get("lan") is not None:
        ctx.telemetry.get(lan_metrics.PLUGIN).apply(ok["lan"])
    if ok.get("edge_failed"):
        ctx.telemetry.confined_errors["edge"] += 1
    elif ok.get("edge") is not None:
        ctx.telemetry.get(device_metrics.PLUGIN).apply_edge(ok["edge"])
        if ok["edge"]["claimed"] and ctx.server is not None and ctx.server.snmp is not None:
            ctx.server.snmp.refresh_devices()  # the server stops polling the claimed devices now
    return {
        "accepted": ok["accepted"],
        "duplicates": ok["duplicates"],
        "last_seq": ok["last_seq"],
        "settings": ctx.settings_by_site_id[principal.site_id],
    }
