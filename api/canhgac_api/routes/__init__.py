"""API routes, one module per resource, each exposing `PLUGIN`; `create_app` mounts every one in `ROUTERS`."""

from __future__ import annotations

from canhgac_agent.plugins import registry
from canhgac_api.routes import (
    agents,
    alerts,
    compliance,
    configs,
    devices,
    events,
    health,
    hosts,
    lan,
    locate,
    silences,
    sites,
    tokens,
    topology,
)
from canhgac_api.routes.base import Routes

ROUTERS: dict[str, Routes] = registry(
    agents.PLUGIN,  # enrollment and report ingest
    sites.PLUGIN,  # the site tree and per-site summaries
    hosts.PLUGIN,  # host inventory, health and deletion
    devices.PLUGIN,  # SNMP-polled devices and their credentials
    configs.PLUGIN,  # device config history over SSH: versions, diffs, approval
    topology.PLUGIN,  # links between devices
    locate.PLUGIN,  # where a MAC or IP sits in the LAN
    events.PLUGIN,  # the event log
    health.PLUGIN,  # liveness, readiness and /metrics
    alerts.PLUGIN,  # alerts and their acknowledgement
    silences.PLUGIN,  # alert silences
    compliance.PLUGIN,  # scans, findings, per-site scores
    tokens.PLUGIN,  # API tokens: list and revoke
    lan.PLUGIN,  # a site's merged LAN inventory and approved lists
)
