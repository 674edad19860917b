"""The site tree on `/metrics`: `canhgac_site_info`, one series per site with its path, so dashboards select
a subtree (`site_path=~"HT/.*"`) and join every other family on `site`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from canhgac_collector.metrics.exposition import Registry
from canhgac_collector.metrics.telemetry import MetricsPlugin, Telemetry

if TYPE_CHECKING:
    from canhgac_collector.sitetree import SiteNode


class SiteMetrics:
    def __init__(self, registry: Registry, telemetry: Telemetry) -> None:
        self.info: list[tuple[tuple[str, ...], float]] = []
        registry.dynamic(
            "canhgac_site_info",
            "gauge",
            "Sites of the tree: 1 per site, with its path (join on site for subtrees).",
            ("site", "site_path", "parent", "name"),
            lambda: self.info,
        )

    def set_tree(self, tree: dict[str, SiteNode]) -> None:
        self.info = [
            ((code, node.path, node.parent_code or "", node.config.name), 1) for code, node in tree.items()
        ]


PLUGIN = MetricsPlugin("sites", SiteMetrics)
