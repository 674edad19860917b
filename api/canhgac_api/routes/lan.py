"""A site's LAN: the merged device inventory of its subtree, and its approved lists.

The inventory is for every reader of the subtree (scoped like the other site routes: a site outside the
caller's subtree is a 404); the approved lists are read and replaced by an admin or by an officer of
that subtree only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_api.auth import Principal, Reader, require, visible_site_path
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.lan import (
    LanApprovedEntry,
    LanApprovedIn,
    LanApprovedList,
    LanInventory,
    LanInventoryDevice,
    LanPort,
)
from canhgac_collector.lan.approved import entries_over, replace_api_approved
from canhgac_collector.lan.inventory import merged_inventory
from canhgac_collector.store.models import Site

router = APIRouter(prefix="/api/v1/sites", tags=["lan"])
PLUGIN = Routes("lan", router)
Approver = Annotated[Principal, Depends(require("admin", "officer"))]


@router.get(
    "/{code}/lan",
    response_model=LanInventory,
    responses=problem_responses(401, 403, 404),
    summary="The merged LAN inventory of a site's subtree: one entry per MAC, known or unknown",
)
def lan_inventory(
    code: str,
    principal: Reader,
    ctx: Ctx,
    status: Annotated[Literal["known", "unknown"] | None, Query(description="only these")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> LanInventory:
    with ctx.sessions() as session:
        path = visible_site_path(session, principal, code)
        devices = merged_inventory(session, path)
    known = sum(1 for d in devices if d.known)
    chosen = [d for d in devices if status is None or d.status == status]
    return LanInventory(
        site=code,
        total=len(devices),
        known=known,
        unknown=len(devices) - known,
        truncated=len(chosen) > limit,
        devices=[
            LanInventoryDevice(
                mac=d.mac,
                site=d.site,
                status="known" if d.known else "unknown",
                approved=d.approved,
                host=d.host,
                device=d.device,
                ips=d.ips,
                names=d.names,
                vendor=d.vendor,
                sources=sorted(d.sources),
                lan_sources=sorted(d.lan_sources),
                seen_by=sorted(d.seen_by),
                ports=[LanPort(**p) for p in d.ports],
                first_seen=d.first_seen,
                last_seen=d.last_seen,
            )
            for d in chosen[:limit]
        ],
    )


def _approved(session: Session, code: str, path: str) -> LanApprovedList:
    entries = entries_over(session, path)
    return LanApprovedList(
        site=code,
        entries=[
            LanApprovedEntry(
                kind=e.kind,
                value=e.value,
                label=e.label,
                origin=e.origin,
                site=e.site,
            )
            for e, approver in entries
            if path.startswith(approver)
        ],
    )


@router.get(
    "/{code}/lan/approved",
    response_model=LanApprovedList,
    responses=problem_responses(401, 403, 404),
    summary="The approved devices, DHCP servers and gateways that apply to a site (admin, its officer)",
)
def get_approved(code: str, principal: Approver, ctx: Ctx) -> LanApprovedList:
    with ctx.sessions() as session:
        path = visible_site_path(session, principal, code)
        return _approved(session, code, path)


@router.put(
    "/{code}/lan/approved",
    response_model=LanApprovedList,
    responses=problem_responses(401, 403, 404, 422),
    summary="Replace the site's API-managed approved lists (admin, its officer); server.yaml's stay",
)
def put_approved(code: str, body: LanApprovedIn, principal: Approver, ctx: Ctx) -> LanApprovedList:
    macs = [d.mac for d in body.devices]
    if len(set(macs)) != len(macs):
        duplicate = next(m for m in macs if macs.count(m) > 1)
        raise ProblemError(
            422, "invalid-request", "Invalid request", f"devices: MAC {duplicate} is listed twice"
        )
    entries = [("device", d.mac, d.label) for d in body.devices]
    entries += [("dhcp_server", str(ip), "api") for ip in dict.fromkeys(body.dhcp_servers)]
    entries += [("gateway", str(ip), "api") for ip in dict.fromkeys(body.gateways)]
    with ctx.sessions.begin() as session:
        path = visible_site_path(session, principal, code)
        site = session.scalars(select(Site).where(Site.code == code)).one()
        replace_api_approved(session, site, entries, principal.token_id)
        session.flush()
        return _approved(session, code, path)
