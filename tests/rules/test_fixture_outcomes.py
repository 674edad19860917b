"""Realistic whole configs (the parser engineer's fixtures) → expected per-rule outcomes.

Each `tests/rules/fixtures/configs/<platform>/<name>.cfg` has `<name>.rules.yaml` beside it: the level
and, per rule id, the result the shipped packs must give. A rule added to the packs must be given an
expected outcome here too (the test fails on an unlisted rule).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from canhgac_rules.audit import iter_device_targets
from canhgac_rules.engine import run_scan
from canhgac_rules.validate import load_default_packs

FIXTURES = Path(__file__).parent / "fixtures" / "configs"
CONFIGS = sorted(p for p in FIXTURES.glob("*/*") if p.suffix in (".cfg", ".rsc"))
PACKS = load_default_packs()
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def test_there_are_fixtures_for_every_platform() -> None:
    assert {path.parent.name for path in CONFIGS} == {
        "cisco_ios",
        "huawei_vrp",
        "hp_comware",
        "juniper_junos",
        "tplink_jetstream",
        "mikrotik_routeros",
        "ruijie_rgos",
    }


@pytest.mark.parametrize("config", CONFIGS, ids=[f"{p.parent.name}/{p.name}" for p in CONFIGS])
def test_config_gives_expected_outcomes(config: Path, tmp_path: Path) -> None:
    expected_file = config.with_suffix(".rules.yaml")
    assert expected_file.exists(), f"write {expected_file.name}: expected outcome per rule"
    spec = yaml.safe_load(expected_file.read_text(encoding="utf-8"))
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / config.name).write_bytes(config.read_bytes())
    # offline, as `canhgac audit --offline` runs: rules needing the server's config history are left out
    result = run_scan(PACKS, iter_device_targets(folder), spec["level"], now=NOW, offline=True)
    got = {finding.rule_id: finding.result for finding in result.findings}
    assert got == spec["expected"]
    for finding in result.findings:
        assert finding.message, finding.rule_id
        if finding.result == "fail":
            # every failure carries evidence: quoted config lines, or an explicit "no matching line"
            assert finding.evidence
            assert any(item.get("lines") for item in finding.evidence) or any(
                "no matching line" in str(item.get("value")) for item in finding.evidence
            ), finding.rule_id
        if finding.result == "error" and "truncated" in config.name:
            assert config.name in finding.message
            assert ":" in finding.message
