"""The shipped packs: every rule's examples (one test per rule), schema, coverage of the table."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from canhgac_rules.loader import LoadedRule, default_packs_dir
from canhgac_rules.requirements import load_requirements, parse_reference_table
from canhgac_rules.schema import pack_schema_json
from canhgac_rules.validate import check_packs, run_example

PACKS, PROBLEMS = check_packs(None, run_examples=False)
RULES: list[LoadedRule] = [rule for pack in PACKS for rule in pack.rules]
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "compliance-requirements.md"
VENDORED_REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "compliance-requirements.md"


def test_shipped_packs_have_no_problems() -> None:
    assert PROBLEMS == []
    assert {pack.id for pack in PACKS} >= {"device-config", "host-linux", "host-windows"}
    assert len(RULES) >= 60


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_examples_behave_as_labelled(rule: LoadedRule) -> None:
    for label, examples in (("pass", rule.rule.examples.passing), ("fail", rule.rule.examples.failing)):
        for index, example in enumerate(examples):
            result, message = run_example(rule, example)
            assert result == label, f"{rule.id} example {label}[{index}]: got {result} ({message})"


def test_rule_ids_unique_and_references_exist() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    table = load_requirements()
    for rule in RULES:
        for req in rule.rule.references.requirements:
            assert req in table, (rule.id, req)
        assert set(rule.rule.levels) <= {
            lv for r in rule.rule.references.requirements for lv in table[r].levels
        }


def test_every_machine_checkable_row_is_covered_or_explained() -> None:
    """AG/CFG rows: at least one rule, or a pack's `not_covered` entry saying why (never silently
    uncovered)."""
    covered = {req for rule in RULES for req in rule.rule.references.requirements}
    explained = {item.requirement for pack in PACKS for item in pack.header.not_covered}
    missing = [
        req.id
        for req in load_requirements().values()
        if req.machine_checkable_here and req.id not in covered and req.id not in explained
    ]
    assert missing == []
    # and the network rows a device's running config decides are all covered by rules
    for req in (
        "NW-06",
        "NW-07",
        "NW-08",
        "NW-09",
        "NW-10",
        "NW-11",
        "NW-12",
        "NW-14",
        "NW-18",
        "NW-19",
        "NW-20",
        "NW-21",
        "NW-23",
        "NW-25",
        "NW-26",
        "NW-29",
        "NW-31",
    ):
        assert req in covered, req


def test_host_windows_pack_covers_the_same_core_facts_as_linux() -> None:
    by_pack: dict[str, set[str]] = {}
    for rule in RULES:
        by_pack.setdefault(rule.pack.id, set()).update(rule.rule.references.requirements)
    for req in (
        "HS-01",
        "HS-05",
        "HS-07",
        "HS-10",
        "HS-11",
        "HS-12",
        "HS-13",
        "HS-14",
        "HS-18",
        "HS-23",
        "HS-24",
    ):
        assert req in by_pack["host-windows"], req
        assert req in by_pack["host-linux"] or req == "HS-14", req


def test_json_schema_is_in_sync_and_validates_the_packs() -> None:
    shipped = (default_packs_dir().parent / "pack.schema.json").read_text(encoding="utf-8")
    assert shipped == pack_schema_json(), (
        "regenerate: canhgac rules schema > rules/canhgac_rules/pack.schema.json"
    )
    validator = jsonschema_rs.validator_for(json.loads(shipped))
    for path in sorted(default_packs_dir().glob("*/pack.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert [str(e) for e in validator.iter_errors(data)] == [], path
        data["rules"][0]["check"]["type"] = "no_such_check"
        assert not validator.is_valid(data)
        data["rules"][0]["check"]["type"] = "compare"
        data["rules"][0]["surprise"] = True
        assert not validator.is_valid(data)


def test_embedded_requirement_table_matches_the_reference() -> None:
    """requirements.yaml is derived from the reference table in docs/reference/. REFERENCE is an
    optional second copy of that table outside the repository; when it exists it must match too."""
    shipped = yaml.safe_load((default_packs_dir().parent / "requirements.yaml").read_text(encoding="utf-8"))[
        "requirements"
    ]
    sources = [VENDORED_REFERENCE, *([REFERENCE] if REFERENCE.exists() else [])]
    for source in sources:
        assert parse_reference_table(source.read_text(encoding="utf-8")) == shipped, source


def test_requirement_levels_parsed_from_the_table() -> None:
    table = load_requirements()
    assert len(table) == 69
    assert table["NW-18"].levels == (2,)
    assert table["NW-09"].levels == (2, 3, 4, 5)
    assert table["HS-19"].kinds == ("DOC",)
    assert "CFG" not in table["HS-04"].kinds  # Control Flow Guard, not a switch config
