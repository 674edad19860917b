"""The site tree from the config: paths, inherited levels and the agent settings each site gets."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from canhgac_collector.config import ServerConfig, SiteConfig, walk_sites


@dataclass(frozen=True)
class SiteNode:
    """A site with what it inherits resolved: its path, effective level and probe targets."""

    config: SiteConfig
    parent_code: str | None
    path: str  # "/PROVINCE/COMMUNE/"
    level: int | None
    probe_targets: tuple[dict[str, Any], ...]


def resolve_tree(config: ServerConfig) -> dict[str, SiteNode]:
    """Every site by code, parents before children (dict order)."""
    nodes: dict[str, SiteNode] = {}
    for site, parent in walk_sites(config.sites):
        up = nodes[parent.code] if parent else None
        targets = {t["name"]: t for t in (up.probe_targets if up else ())}
        for target in site.probe_targets:  # a child's target of the same name overrides its parent's
            targets[target.name] = target.model_dump(exclude_none=True)
        nodes[site.code] = SiteNode(
            config=site,
            parent_code=parent.code if parent else None,
            path=f"{up.path if up else '/'}{site.code}/",
            level=site.level if site.level is not None else (up.level if up else None),
            probe_targets=tuple(targets.values()),
        )
    return nodes


def agent_settings(config: ServerConfig, node: SiteNode) -> dict[str, Any]:
    """The settings document sent to an agent of `node` (docs/protocol.md)."""
    settings: dict[str, Any] = config.agent_defaults.model_dump()
    settings["probe_targets"] = list(node.probe_targets)
    return settings


def site_for_enrollment_key(config: ServerConfig, key: str) -> SiteConfig | None:
    """The site whose enrollment keys include `key` (constant-time comparison per key)."""
    found: SiteConfig | None = None
    for site, _parent in walk_sites(config.sites):
        for candidate in site.enrollment_keys:
            if hmac.compare_digest(candidate.get_secret_value().encode(), key.encode()):
                found = site
    return found
