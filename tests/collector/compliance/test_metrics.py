"""The compliance score family: the newest score per site and level, and only those."""

from __future__ import annotations

from canhgac_collector.compliance import metrics as compliance_metrics
from canhgac_collector.metrics.telemetry import Telemetry
from tests.collector.metrics.helpers import installed, samples


def test_scores_replace_the_previous_ones() -> None:
    telemetry = installed()
    scores = telemetry.get(compliance_metrics.PLUGIN)
    scores.set_scores({("HT", 2): 0.5, ("HT-CAMXUYEN", 3): 0.75})
    scores.set_scores({("HT", 2): 0.625})
    got = {k: v for k, v in samples(telemetry.render()).items() if k[0] == "canhgac_compliance_score_ratio"}
    assert got == {("canhgac_compliance_score_ratio", (("level", "2"), ("site", "HT"))): 0.625}


def _clauses(telemetry: Telemetry) -> dict[tuple[str, str, str], float]:
    got = samples(telemetry.render())
    return {
        (dict(labels)["site"], dict(labels)["level"], dict(labels)["clause"]): value
        for (name, labels), value in got.items()
        if name == "canhgac_compliance_clause_score_ratio"
    }


def test_clause_scores_follow_the_newest_scan_of_each_site_and_level() -> None:
    telemetry = installed()
    scores = telemetry.get(compliance_metrics.PLUGIN)
    scores.set_clause_scores(
        {("HT", 2, "TCVN 14423:2026 8.1"): 0.5, ("HT-CAMXUYEN", 3, "TCVN 14423:2026 8.1"): 1.0}
    )
    # A new scan of HT at level 2 judged a different clause: the old one of that site and level goes.
    scores.set_scan("HT", 2, 0.25, {"TCVN 11930:2017 7.1.1": 0.25})
    assert _clauses(telemetry) == {
        ("HT", "2", "TCVN 11930:2017 7.1.1"): 0.25,
        ("HT-CAMXUYEN", "3", "TCVN 14423:2026 8.1"): 1.0,
    }
    got = samples(telemetry.render())
    assert got[("canhgac_compliance_score_ratio", (("level", "2"), ("site", "HT")))] == 0.25
    # A scan that judged nothing takes the site's overall score off, not the other sites'.
    scores.set_scan("HT", 2, None, {})
    assert _clauses(telemetry) == {("HT-CAMXUYEN", "3", "TCVN 14423:2026 8.1"): 1.0}
    assert not any(k[0] == "canhgac_compliance_score_ratio" for k in samples(telemetry.render()))
