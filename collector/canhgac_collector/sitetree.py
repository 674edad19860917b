"""The site tree from the config: paths, inherited levels and the agent settings each site gets; and
scopes over it.

A scope is a site path prefix (`/P/D1/XA-A/`): a scoped caller sees that site's subtree and nothing
else; `None` is the whole province. Every query that answers a caller takes its `scope_path` and
applies it with `within`, so a caller never reads another subtree's rows.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select

from canhgac_collector.config import ServerConfig, SiteConfig, walk_sites
from canhgac_collector.store.models import Site

Ts = TypeVarTuple("Ts")


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


def in_scope(path: str, scope_path: str | None) -> bool:
    """Whether the site at `path` lies in the subtree `scope_path` (None: the whole province)."""
    return scope_path is None or path.startswith(scope_path)


def within(stmt: Select[*Ts], scope_path: str | None) -> Select[*Ts]:
    """Limit a statement joined to `Site` to the subtree `scope_path` (None: no limit)."""
    if scope_path is not None:
        stmt = stmt.where(Site.path.startswith(scope_path, autoescape=True))
    return stmt


def under(stmt: Select[*Ts], scope_path: str | None, subtree: str | None) -> Select[*Ts]:
    """`within` the caller's scope and, when `subtree` is given, within that site path too."""
    stmt = within(stmt, scope_path)
    if subtree is not None:
        stmt = stmt.where(Site.path.startswith(subtree, autoescape=True))
    return stmt
