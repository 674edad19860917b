"""The site tree with host-status roll-up, limited to the caller's subtree."""

from __future__ import annotations

from fastapi import APIRouter

from canhgac_api.auth import Principal, Reader
from canhgac_api.context import AppContext, Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.api import HostCounts, SiteStatus, SitesTree
from canhgac_collector.hosts.queries import state_counts
from canhgac_collector.store.sites import active_sites

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])
PLUGIN = Routes("sites", router)


def _status(counts: HostCounts) -> str:
    if counts.total == 0:
        return "empty"
    if counts.down == counts.total:
        return "down"
    if counts.down or counts.stale:
        return "degraded"
    return "ok"


def build_tree(ctx: AppContext, principal: Principal) -> list[SiteStatus]:
    """Roots of the caller's visible tree, each with its subtree's counts rolled up."""
    with ctx.sessions() as session:
        visible = active_sites(session, principal.scope_path)  # ordered by path: parents first
        by_state = state_counts(session, principal.scope_path)
    direct: dict[int, HostCounts] = {}
    for site_id, states in by_state.items():
        counts = direct[site_id] = HostCounts()
        for state, n in states.items():
            setattr(counts, state, getattr(counts, state) + n)
            counts.total += n
    nodes: dict[int, SiteStatus] = {}
    for row in visible:
        site = row.site
        own = direct.get(site.id, HostCounts())
        nodes[site.id] = SiteStatus(
            code=site.code,
            name=site.name,
            name_en=site.name_en,
            kind=site.kind,
            level=site.level,
            path=site.path,
            parent=row.parent_code,
            contacts=site.contacts,
            hosts=own,
            subtree=own.model_copy(),
            status="empty",
        )
    sites = [row.site for row in visible]
    roots: list[SiteStatus] = []
    for site in sites:
        node = nodes[site.id]
        parent_node = nodes.get(site.parent_id) if site.parent_id else None
        if parent_node is None:
            roots.append(node)
        else:
            parent_node.children.append(node)
    for site in reversed(sites):  # children before parents: add each subtree into its parent
        node = nodes[site.id]
        node.status = _status(node.subtree)  # type: ignore[assignment]
        parent_node = nodes.get(site.parent_id) if site.parent_id else None
        if parent_node is not None:
            for key in ("up", "stale", "down", "new", "total"):
                setattr(
                    parent_node.subtree, key, getattr(parent_node.subtree, key) + getattr(node.subtree, key)
                )
    return roots


@router.get(
    "",
    response_model=SitesTree,
    responses=problem_responses(401, 403),
    summary="Site tree with hosts up/stale/down rolled up per subtree",
)
def sites_tree(principal: Reader, ctx: Ctx) -> SitesTree:
    return SitesTree(sites=build_tree(ctx, principal))


@router.get(
    "/{code}",
    response_model=SiteStatus,
    responses=problem_responses(401, 403, 404),
    summary="One site and its subtree",
)
def site_detail(code: str, principal: Reader, ctx: Ctx) -> SiteStatus:
    stack = build_tree(ctx, principal)
    while stack:
        node = stack.pop()
        if node.code == code:
            return node
        stack.extend(node.children)
    raise ProblemError(404, "not-found", "Not found", f"no site {code!r} within your scope")
