"""Hosts (agents): list and detail with latest facts, limited to the caller's subtree."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from canhgac_api.auth import Principal, Reader, require, visible_site_path
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.api import HostDetail, HostList, HostState, HostSummary
from canhgac_collector.hosts import queries as host_queries
from canhgac_collector.store.models import Host, Site

log = logging.getLogger("canhgac.api")
router = APIRouter(prefix="/api/v1/hosts", tags=["hosts"])
PLUGIN = Routes("hosts", router)
Admin = Annotated[Principal, Depends(require("admin"))]


def _summary(host: Host, site: Site) -> dict[str, object]:
    return {
        "id": host.id,
        "hostname": host.hostname,
        "site": site.code,
        "state": host.state,
        "state_changed_at": host.state_changed_at,
        "last_report_at": host.last_report_at,
        "last_seq": host.last_seq,
        "reports_total": host.reports_total,
        "agent_version": host.agent_version,
        "os": host.os_name,
    }


@router.get(
    "",
    response_model=HostList,
    responses=problem_responses(401, 403, 404),
    summary="Hosts in your scope, optionally under one site and in one state",
)
def list_hosts(
    principal: Reader,
    ctx: Ctx,
    site: Annotated[str | None, Query(description="site code: that site's whole subtree")] = None,
    state: HostState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HostList:
    with ctx.sessions() as session:
        subtree = visible_site_path(session, principal, site) if site is not None else None
        found = host_queries.list_hosts(
            session, principal.scope_path, subtree=subtree, state=state, limit=limit, offset=offset
        )
    return HostList(
        hosts=[HostSummary.model_validate(_summary(h, s)) for h, s in found.rows], total=found.total
    )


@router.get(
    "/{host_id}",
    response_model=HostDetail,
    responses=problem_responses(401, 403, 404),
    summary="One host: state, report counters and latest facts",
)
def host_detail(host_id: str, principal: Reader, ctx: Ctx) -> HostDetail:
    with ctx.sessions() as session:
        row = host_queries.find_host(session, principal.scope_path, host_id)
    if row is None:  # out of scope looks exactly like absent: no probing other communes' hosts
        raise ProblemError(404, "not-found", "Not found", f"no host {host_id!r} within your scope")
    host, site = row
    try:
        latest: dict[str, Any] = orjson.loads(host.latest_report) if host.latest_report else {}
    except orjson.JSONDecodeError:  # stored before the schema bounded every number: show the rest
        log.warning("host_id=%s: its stored latest report cannot be read; shown without it", host.id)
        latest = {}
    return HostDetail.model_validate(
        {
            **_summary(host, site),
            "machine_id": host.machine_id if principal.role == "admin" else None,
            "enrolled_at": host.enrolled_at,
            "last_collected_at": host.last_collected_at,
            "identity": latest.get("host"),
            "metrics": latest.get("metrics"),
            "probes": latest.get("probes"),
            "security": host.security,
            "security_collected_at": host.security_collected_at,
            "agent_status": latest.get("agent"),
            "errors": latest.get("errors"),
        }
    )


@router.delete(
    "/{host_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
    summary="Remove a host with its reports and tokens (admin): a PC that moved to another site, "
    "or was retired, then enrolls afresh",
)
def delete_host(host_id: str, principal: Admin, ctx: Ctx) -> Response:
    with ctx.sessions.begin() as session:
        if host_queries.remove_host(session, host_id, actor=principal.token_id) is None:
            raise ProblemError(404, "not-found", "Not found", f"no host {host_id!r}")
    ctx.tokens.clear()  # its agent token stops working now
    ctx.telemetry.forget_host(host_id)
    log.info("host removed host_id=%s by=%s", host_id, principal.token_id)
    return Response(status_code=204)
