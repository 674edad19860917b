"""Compliance on `/metrics`, from the newest scan of each site and level: the overall score
(`canhgac_compliance_score_ratio`) and the score per legal clause
(`canhgac_compliance_clause_score_ratio`); loaded at start-up and updated after every scan."""

from __future__ import annotations

from collections.abc import Mapping

from canhgac_collector.metrics.exposition import Family, Registry
from canhgac_collector.metrics.telemetry import MetricsPlugin, Telemetry

MAX_SCORES = 10_000
# Sites × levels × clauses: a province of ~1,000 sites scanned at one level, ~60 clauses per pack set.
MAX_CLAUSE_SCORES = 100_000


def replace_all(family: Family, wanted: Mapping[tuple[str, ...], float]) -> None:
    """Make `family` hold exactly the `wanted` series and values."""
    family.remove_where(lambda labels: labels not in wanted)
    for labels, value in wanted.items():
        family.set(labels, value)


class ComplianceMetrics:
    def __init__(self, registry: Registry, telemetry: Telemetry) -> None:
        self.score = registry.family(
            "canhgac_compliance_score_ratio",
            "gauge",
            "Share of machine-checkable rules passed at the site's declared level, 0..1.",
            ("site", "level"),
            MAX_SCORES,
        )
        self.clause_score = registry.family(
            "canhgac_compliance_clause_score_ratio",
            "gauge",
            "Share of machine-checkable rules passed per legal clause, newest scan per site and level.",
            ("site", "level", "clause"),
            MAX_CLAUSE_SCORES,
        )

    def set_scores(self, scores: Mapping[tuple[str, int], float]) -> None:
        """The newest scan score per (site code, level); sites and levels no longer scored disappear."""
        replace_all(self.score, {(site, str(level)): score for (site, level), score in scores.items()})

    def set_clause_scores(self, scores: Mapping[tuple[str, int, str], float]) -> None:
        """The newest clause scores per (site code, level, clause); the rest disappear."""
        replace_all(
            self.clause_score,
            {(site, str(level), clause): score for (site, level, clause), score in scores.items()},
        )

    def set_scan(self, site: str, level: int, score: float | None, clauses: Mapping[str, float]) -> None:
        """One new scan of `site` at `level` replaces that site and level's scores (and only those)."""
        key = (site, str(level))
        if score is None:
            self.score.remove_where(lambda labels: labels == key)
        else:
            self.score.set(key, score)
        self.clause_score.remove_where(lambda labels: labels[:2] == key and labels[2] not in clauses)
        for clause, value in clauses.items():
            self.clause_score.set((*key, clause), value)


PLUGIN = MetricsPlugin("compliance", ComplianceMetrics)
