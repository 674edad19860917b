"""NW-31 (change management): the `config_change` fact the server builds from its config history,
judged by DEV-CONFIG-CHANGE-APPROVED; offline scans leave it to manual review; an unusable target is
one error finding when asked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from canhgac_rules.engine import UNUSABLE_RULE_ID, Target, run_scan
from canhgac_rules.validate import load_default_packs

PACKS = load_default_packs()
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
RULE = "DEV-CONFIG-CHANGE-APPROVED"
APPROVED = {
    "versions": 3,
    "latest_version": 3,
    "approved_version": 3,
    "latest_is_approved": True,
    "approved_by": "nv.tuan",
    "approved_at": "2026-11-20T08:00:00+07:00",
    "comment": "them VLAN 30 wifi",
    "last_pull_error": None,
}


def judge(config_change: dict[str, Any] | None, *, offline: bool = False) -> list[Any]:
    facts: dict[str, Any] = {"hostname": "sw1"}
    if config_change is not None:
        facts["config_change"] = config_change
    target = Target(name="sw1", kind="device", facts=facts, platform="tplink_jetstream", role="access")
    result = run_scan(PACKS, [target], 3, now=NOW, offline=offline)
    return [f for f in result.findings if f.rule_id == RULE]


def test_latest_approved_version_passes_with_who_and_when() -> None:
    (finding,) = judge(APPROVED)
    assert finding.result == "pass"
    assert "nv.tuan" in finding.message
    approval = next(e["value"] for e in finding.evidence if e["path"] == "config_change.approval")
    assert approval == {"by": "nv.tuan", "at": "2026-11-20T08:00:00+07:00", "comment": "them VLAN 30 wifi"}


def test_unapproved_change_fails_naming_the_version_and_the_last_approved_one() -> None:
    changed = {**APPROVED, "versions": 4, "latest_version": 4, "latest_is_approved": False, "comment": None}
    (finding,) = judge(changed)
    assert finding.result == "fail"
    assert "version 4 is not approved" in finding.message
    assert "last approved: 3 by nv.tuan" in finding.message
    values = {e["path"]: e["value"] for e in finding.evidence}
    assert values["config_change.unapproved_version"] == 4
    assert values["config_change.approved_version"] == 3
    assert values["config_change.versions"] == 4
    never = {**changed, "approved_version": None, "approved_by": None, "approved_at": None}
    (first,) = judge(never)
    assert first.result == "fail"
    assert "none approved yet" in first.message


def test_failed_pull_is_an_error_with_its_reason_never_a_pass() -> None:
    failed = {**APPROVED, "last_pull_error": "authentication failed for user backup"}
    (finding,) = judge(failed)
    assert finding.result == "error"
    assert "authentication failed for user backup" in finding.message
    nothing = {**APPROVED, "versions": 0, "latest_version": None, "latest_is_approved": False}
    assert judge(nothing)[0].result == "error"


def test_absent_fact_is_not_collected_and_offline_scans_leave_the_rule_out() -> None:
    (finding,) = judge(None)
    assert finding.result == "error"
    assert finding.message == "fact config_change not collected"
    assert judge(None, offline=True) == []


def test_unusable_target_is_one_error_finding_standing_for_its_rules() -> None:
    broken = Target(
        name="sw-kho.cfg",
        kind="device",
        facts=None,
        source="sw-kho.cfg",
        error="sw-kho.cfg:12: truncated config",
        error_line=(12, "interface gigabitEthernet 1/0/3"),
        candidate_platforms=("tplink_jetstream",),
    )
    per_rule = run_scan(PACKS, [broken], 3, now=NOW)
    errors = [f for f in per_rule.findings if f.result == "error"]
    assert len(errors) > 30
    once = run_scan(PACKS, [broken], 3, now=NOW, offline=True, one_error_per_target=True)
    (finding,) = once.findings
    assert finding.rule_id == UNUSABLE_RULE_ID
    assert finding.result == "error"
    assert finding.message.startswith("sw-kho.cfg:12: truncated config")
    listed = next(e["value"] for e in finding.evidence if e["path"] == "rules_not_evaluated")
    assert set(listed) == {f.rule_id for f in errors} - {RULE}  # offline: NW-31 was never going to run
    assert finding.evidence[0]["lines"] == [[12, "interface gigabitEthernet 1/0/3"]]
    doc = finding.to_json()
    assert {"NW-06", "NW-10", "NW-12"} <= set(doc["requirements"])
    assert once.scores()["overall"]["error"] == 1
