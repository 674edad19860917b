"""The compliance score family: the newest score per site and level, and only those."""

from __future__ import annotations

from canhgac_collector.compliance import metrics as compliance_metrics
from tests.collector.metrics.helpers import installed, samples


def test_scores_replace_the_previous_ones() -> None:
    telemetry = installed()
    scores = telemetry.get(compliance_metrics.PLUGIN)
    scores.set_scores({("HT", 2): 0.5, ("HT-CAMXUYEN", 3): 0.75})
    scores.set_scores({("HT", 2): 0.625})
    got = {k: v for k, v in samples(telemetry.render()).items() if k[0] == "canhgac_compliance_score_ratio"}
    assert got == {("canhgac_compliance_score_ratio", (("level", "2"), ("site", "HT"))): 0.625}
