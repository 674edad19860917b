"""Compliance on `/metrics`: the newest scan score per site and level (`canhgac_compliance_score_ratio`),
published at start-up and after every scan."""

from __future__ import annotations

from canhgac_collector.metrics.exposition import Registry
from canhgac_collector.metrics.telemetry import MetricsPlugin, Telemetry

MAX_SCORES = 10_000


class ComplianceMetrics:
    def __init__(self, registry: Registry, telemetry: Telemetry) -> None:
        self.score = registry.family(
            "canhgac_compliance_score_ratio",
            "gauge",
            "Share of machine-checkable rules passed at the site's declared level, 0..1.",
            ("site", "level"),
            MAX_SCORES,
        )

    def set_scores(self, scores: dict[tuple[str, int], float]) -> None:
        """The newest scan score per (site code, level); sites and levels no longer scored disappear."""
        wanted = {(site, str(level)): score for (site, level), score in scores.items()}
        self.score.remove_where(lambda labels: labels not in wanted)
        for labels, score in wanted.items():
            self.score.set(labels, score)


PLUGIN = MetricsPlugin("compliance", ComplianceMetrics)
