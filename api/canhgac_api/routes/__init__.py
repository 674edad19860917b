"""API routes, one module per resource. Registration: `ROUTERS` below, mounted by `create_app`."""

from __future__ import annotations

from fastapi import APIRouter

from canhgac_api.routes import (
    agents,
    alerts,
    compliance,  # issue 4: scans, findings, per-site scores
    devices,
    events,
    health,
    hosts,
    locate,
    silences,
    sites,
    tokens,
    topology,
)

ROUTERS: list[APIRouter] = [
    agents.router,
    sites.router,
    hosts.router,
    devices.router,
    topology.router,
    locate.router,
    events.router,
    health.router,
    alerts.router,
    silences.router,
    compliance.router,
    tokens.router,
]
