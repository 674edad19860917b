"""The physical topology as a graph, built from the LLDP/CDP neighbours the devices report.

A neighbour is matched to a known device by name or sysName (case-insensitive, with or without its
domain), then to an agent host by hostname; anything else is a node of kind "unknown". A link seen
from both ends is one edge. Devices outside the caller's scope never appear as devices: a neighbour
that is one shows only what the caller's own device reported about it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from canhgac_api.auth import Principal, Reader, require, visible_site_path
from canhgac_api.context import Ctx
from canhgac_api.problems import problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.devices import Topology, TopologyApproval, TopologyEdge, TopologyNode
from canhgac_collector.config import SITE_CODE_RE
from canhgac_collector.devices.queries import name_keys, topology_rows
from canhgac_collector.devices.topology import approve_topology

router = APIRouter(prefix="/api/v1/topology", tags=["devices"])
PLUGIN = Routes("topology", router)
Approver = Annotated[Principal, Depends(require("admin", "operator"))]


@router.post(
    "/approve",
    status_code=201,
    response_model=TopologyApproval,
    responses=problem_responses(401, 403, 404),
    summary="Approve a site's current LLDP/CDP links as its network diagram (admin, operator)",
)
def approve(
    principal: Approver,
    ctx: Ctx,
    site: Annotated[str, Query(pattern=SITE_CODE_RE, description="site code: that site's whole subtree")],
) -> TopologyApproval:
    with ctx.sessions.begin() as session:
        visible_site_path(session, principal, site)
        snapshot = approve_topology(session, site, f"token:{principal.token_id}")
        return TopologyApproval(
            site=site,
            approved_at=snapshot.approved_at,
            approved_by=snapshot.approved_by,
            links=len(snapshot.links),
        )


def _port_of(edge: TopologyEdge, node: str) -> str | None:
    return edge.source_port if edge.source == node else edge.target_port


@router.get(
    "",
    response_model=Topology,
    responses=problem_responses(401, 403, 404),
    summary="Devices and the links between them (nodes/edges), in your scope or under one site",
)
def topology(
    principal: Reader,
    ctx: Ctx,
    site: Annotated[
        str | None, Query(pattern=SITE_CODE_RE, description="site code: that site's whole subtree")
    ] = None,
) -> Topology:
    with ctx.sessions() as session:
        subtree = visible_site_path(session, principal, site) if site is not None else None
        rows = topology_rows(session, principal.scope_path, subtree)
    devices, neighbors, hosts = rows.devices, rows.neighbors, rows.hosts

    nodes: dict[str, TopologyNode] = {}
    lookup: dict[str, str] = {}  # name key → node id
    by_id: dict[int, str] = {}
    for device, code in devices:
        node_id = f"device:{device.name}"
        by_id[device.id] = node_id
        nodes[node_id] = TopologyNode(
            id=node_id, kind="device", name=device.name, site=code, state=device.state, vendor=device.vendor
        )
        for name in (device.sys_name, device.name):
            for key in name_keys(name or ""):
                lookup.setdefault(key, node_id)
    host_nodes: dict[str, TopologyNode] = {}
    for host_id, hostname, state, code in hosts:
        node = TopologyNode(
            id=f"host:{host_id}", kind="host", name=hostname, site=code, state=state, vendor=None
        )
        for key in name_keys(hostname):
            host_nodes.setdefault(key, node)

    edges: list[TopologyEdge] = []
    between: dict[frozenset[str], list[TopologyEdge]] = {}
    for n in neighbors:
        source = by_id[n.device_id]
        label = n.remote_name or n.remote_chassis_id or n.remote_address or "?"
        target = next((lookup[k] for k in name_keys(label) if k in lookup), None)
        if target is None:
            host = next((host_nodes[k] for k in name_keys(label) if k in host_nodes), None)
            if host is not None:
                target = host.id
                nodes.setdefault(target, host)
            else:
                target = f"unknown:{label}"
                nodes.setdefault(
                    target,
                    TopologyNode(id=target, kind="unknown", name=label, site=None, state=None, vendor=None),
                )
        # A port is on one link: if either end's port is already on an edge between these two nodes,
        # this is the same link reported by the other end (which may spell the other port otherwise).
        pair = between.setdefault(frozenset((source, target)), [])
        if any(
            (n.local_port is not None and _port_of(e, source) == n.local_port)
            or (n.remote_port is not None and _port_of(e, target) == n.remote_port)
            for e in pair
        ):
            continue
        edge = TopologyEdge(
            source=source,
            target=target,
            source_port=n.local_port,
            target_port=n.remote_port,
            protocol=n.protocol,
        )
        pair.append(edge)
        edges.append(edge)
    return Topology(nodes=list(nodes.values()), edges=edges)
