"""Online audit: targets from the server's state store for a site subtree (`canhgac audit --site`).

Hosts: the newest security facts each agent sent (hourly) plus its identity from the latest report.
Devices: no running configs are pulled yet (SSH config pull is a later step), so every device in the
subtree is an `error` target "no config available" — never a silent pass. The level defaults to the
site's declared level (inherited from the nearest ancestor that declares one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_rules.configs import PLATFORMS
from canhgac_rules.engine import Target

NO_CONFIG = (
    "không có cấu hình / no config available: running configs are not pulled from devices yet "
    "(audit saved configs with --offline --configs DIR)"
)


class SiteNotFound(LookupError):
    """The site code is not in the store."""


@dataclass(frozen=True)
class SiteScope:
    code: str
    name: str
    path: str
    declared_level: int | None


def site_scope(session: Session, code: str) -> SiteScope:
    """The site and its effective declared level (own, else the nearest ancestor's)."""
    from canhgac_collector.storage.models import Site

    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise SiteNotFound(code)
    level = site.level
    parent_id = site.parent_id
    while level is None and parent_id is not None:
        parent = session.get(Site, parent_id)
        if parent is None:
            break
        level, parent_id = parent.level, parent.parent_id
    return SiteScope(code=site.code, name=site.name, path=site.path, declared_level=level)


def _identity(latest_report: bytes | None) -> dict[str, Any] | None:
    if not latest_report:
        return None
    try:
        report = json.loads(latest_report)
    except (ValueError, UnicodeDecodeError):
        return None
    host = report.get("host") if isinstance(report, dict) else None
    return host if isinstance(host, dict) else None


def store_targets(session: Session, scope: SiteScope) -> list[Target]:
    """Hosts and devices of the site subtree as audit targets (hosts first, by name)."""
    from canhgac_collector.storage.models import Device, Host, Site

    in_subtree = Site.path.startswith(scope.path, autoescape=True)
    targets: list[Target] = []
    hosts = session.execute(
        select(Host, Site.code).join(Site, Host.site_id == Site.id).where(in_subtree).order_by(Host.hostname)
    )
    for host, site_code in hosts:
        identity = _identity(host.latest_report)
        source = f"store:{site_code}/host/{host.id}"
        if not host.security:
            reason = "chưa nhận dữ liệu bảo mật / no security facts received yet from this agent (hourly)"
            targets.append(Target(name=host.hostname, kind="host", facts=None, source=source, error=reason))
            continue
        facts = dict(host.security)
        if identity is not None:
            facts["host"] = identity
        os_info = (identity or {}).get("os") or {}
        targets.append(
            Target(
                name=host.hostname,
                kind="host",
                facts=facts,
                platform=str(facts.get("platform")) if facts.get("platform") else None,
                os=os_info.get("distro_id") or (str(os_info.get("system", "")).lower() or None),
                source=source,
                hostname=host.hostname,
            )
        )
    devices = session.execute(
        select(Device, Site.code)
        .join(Site, Device.site_id == Site.id)
        .where(in_subtree)
        .order_by(Device.name)
    )
    for device, site_code in devices:
        targets.append(
            Target(
                name=device.name,
                kind="device",
                facts=None,
                role=device.role,
                source=f"store:{site_code}/device/{device.name}",
                error=NO_CONFIG,
                hostname=device.sys_name,
                candidate_platforms=PLATFORMS,
            )
        )
    return targets
