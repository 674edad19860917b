"""Clause references resolved for the scanned level: `x.` becomes the level's section of each standard,
per-level variants pick the level's own, clauses not yet required are left out; scan summaries (and so
/metrics) carry the resolved numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from canhgac_rules.clauses import level_section, resolve_clause_key, resolve_reference, resolve_table_refs
from canhgac_rules.engine import Target, run_scan
from canhgac_rules.requirements import load_requirements
from canhgac_rules.validate import load_default_packs


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_sections_follow_the_level(level: int) -> None:
    assert level_section("tcvn_11930", level) == level + 4  # 5..9
    assert level_section("tcvn_14423", level) == level + 2  # 3..7
    assert resolve_reference("tcvn_11930", "x.2.2.1", level) == f"{level + 4}.2.2.1"
    assert resolve_reference("tcvn_14423", "x.12.2.1 b", level) == f"{level + 2}.12.2.1 b"


def test_variants_fixed_numbers_and_free_text() -> None:
    variants = "5.2.1.5/6.2.1.6/x.2.1.7"
    assert [resolve_reference("tcvn_11930", variants, lv) for lv in (1, 2, 3, 5)] == [
        "5.2.1.5",
        "6.2.1.6",
        "7.2.1.7",
        "9.2.1.7",
    ]
    # a clause that starts at level 3 is cited as written from level 3 on, and left out below
    assert resolve_reference("tcvn_14423", "x.5.2.1 b; 5.13.2.2", 1) == "3.5.2.1 b"
    assert resolve_reference("tcvn_14423", "x.5.2.1 b; 5.13.2.2", 4) == "6.5.2.1 b; 5.13.2.2"
    assert resolve_reference("tcvn_14423", "x.5.2.1 b/d", 2) == "4.5.2.1 b/d"  # points b and d
    with pytest.raises(ValueError, match="level must be 1-5"):
        level_section("tcvn_14423", 6)


def test_stored_keys_and_table_refs_resolve() -> None:
    assert resolve_clause_key("TCVN 11930:2017 x.2.2.1", 4) == ["TCVN 11930:2017 8.2.2.1"]
    assert resolve_clause_key("TCVN 14423:2026 x.5.2.1 b; 5.13.2.2", 3) == [
        "TCVN 14423:2026 5.5.2.1 b",
        "TCVN 14423:2026 5.13.2.2",
    ]
    assert resolve_clause_key("ISO 27001 A.5", 3) == ["ISO 27001 A.5"]
    for req in load_requirements().values():
        for level in req.levels:
            resolved = resolve_table_refs(req.refs, level)
            assert " x." not in f" {resolved}", (req.id, level, resolved)


def test_scan_scores_are_keyed_by_resolved_clauses() -> None:
    facts = {"platform": "linux", "firewall": {"enabled": True, "default_input_policy": "accept"}}
    target = Target(name="h1", kind="host", facts=facts, platform="linux")
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    at4 = run_scan(load_default_packs(), [target], 4, now=now).scores()["clause"]
    assert "TCVN 14423:2026 6.5.2.1 b" in at4  # HS-05 x.5.2.1 b at level 4
    assert "TCVN 14423:2026 5.13.2.2" in at4  # its level-3 clause, cited as written
    assert not [key for key in at4 if " x." in key]
