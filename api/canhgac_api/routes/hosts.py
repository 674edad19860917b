"""Hosts (agents): list and detail with latest facts, limited to the caller's subtree."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from sqlalchemy import func, select

from canhgac_api.auth import Reader, scoped, visible_site_path
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.schemas.api import HostDetail, HostList, HostState, HostSummary
from canhgac_collector.storage.models import Host, Site

router = APIRouter(prefix="/api/v1/hosts", tags=["hosts"])


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
    stmt = scoped(principal, select(Host, Site).join(Site, Host.site_id == Site.id))
    with ctx.sessions() as session:
        if site is not None:
            path = visible_site_path(session, principal, site)
            stmt = stmt.where(Site.path.startswith(path, autoescape=True))
        if state is not None:
            stmt = stmt.where(Host.state == state)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.execute(stmt.order_by(Site.path, Host.hostname).limit(limit).offset(offset)).all()
        hosts = [HostSummary.model_validate(_summary(h, s)) for h, s in rows]
    return HostList(hosts=hosts, total=total)


@router.get(
    "/{host_id}",
    response_model=HostDetail,
    responses=problem_responses(401, 403, 404),
    summary="One host: state, report counters and latest facts",
)
def host_detail(host_id: str, principal: Reader, ctx: Ctx) -> HostDetail:
    stmt = scoped(principal, select(Host, Site).join(Site, Host.site_id == Site.id).where(Host.id == host_id))
    with ctx.sessions() as session:
        row = session.execute(stmt).one_or_none()
    if row is None:  # out of scope looks exactly like absent: no probing other communes' hosts
        raise ProblemError(404, "not-found", "Not found", f"no host {host_id!r} within your scope")
    host, site = row
    latest: dict[str, Any] = orjson.loads(host.latest_report) if host.latest_report else {}
    return HostDetail.model_validate(
        {
            **_summary(host, site),
            "machine_id": host.machine_id,
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
