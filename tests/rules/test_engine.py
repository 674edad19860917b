"""Engine semantics: cumulative levels, per-level inputs, error never pass, n/a, scores, diff,
manual-review items, evidence, and broken configs."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from canhgac_rules.audit import AuditInputError, host_target, iter_device_targets, load_roles
from canhgac_rules.engine import NO_LINE, Target, diff_findings, run_scan
from canhgac_rules.loader import LoadedPack
from canhgac_rules.validate import check_packs, load_default_packs

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
PACKS = load_default_packs()
HOSTS = Path(__file__).parent / "fixtures" / "hosts"

RULE: dict[str, Any] = {
    "title": {"vi": "t", "en": "t"},
    "rationale": {"vi": "r", "en": "r"},
    "remediation": {"vi": "m", "en": "m"},
    "severity": "low",
    "examples": {"pass": [{"x": 1}], "fail": [{"x": 9}]},
}


def make_pack(tmp_path: Path, rules: list[dict[str, Any]], *, scope: str = "device") -> list[LoadedPack]:
    full = [{**copy.deepcopy(RULE), **rule} for rule in rules]
    data = {
        "id": "test-pack",
        "version": "1.0",
        "scope": scope,
        "platforms": ["cisco_ios", "huawei_vrp"] if scope == "device" else ["linux"],
        "title": {"vi": "t", "en": "t"},
        "rules": full,
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    packs, problems = check_packs([path], run_examples=False)
    assert problems == []
    return packs


def device(name: str, facts: dict[str, Any] | None, **kw: Any) -> Target:
    return Target(name=name, kind="device", facts=facts, platform=kw.pop("platform", "cisco_ios"), **kw)


TIMEOUT_RULE = {
    "id": "T-TIMEOUT",
    "levels": [1, 2, 3, 4, 5],
    "references": {"requirements": ["NW-08"], "tcvn_14423": "x.12.2.4"},
    "inputs": {"limit": {"default": 600, "3": 300}},
    "check": {"type": "compare", "path": "x", "op": "le", "value": {"input": "limit"}},
}
L3_RULE = {
    "id": "T-L3ONLY",
    "levels": [3, 4, 5],
    "references": {"requirements": ["NW-20"], "tcvn_14423": "5.13.2.3 a"},
    "check": {"type": "compare", "path": "x", "op": "le", "value": 5},
}


def test_levels_are_cumulative_and_inputs_resolve_per_level(tmp_path: Path) -> None:
    packs = make_pack(tmp_path, [TIMEOUT_RULE, L3_RULE])
    target = device("sw1", {"x": 450})
    results = {}
    for level in range(1, 6):
        scan = run_scan(packs, [target], level, now=NOW)
        results[level] = {f.rule_id: f.result for f in scan.findings}
    assert results[1] == {"T-TIMEOUT": "pass"}  # 450 ≤ 600
    assert results[2] == {"T-TIMEOUT": "pass"}
    assert results[3] == {"T-TIMEOUT": "fail", "T-L3ONLY": "fail"}  # 450 > 300 from level 3 on
    assert results[5] == results[3]  # the "3" override holds for 4 and 5


def test_missing_fact_is_an_error_never_a_pass(tmp_path: Path) -> None:
    rules = [
        TIMEOUT_RULE,
        {
            "id": "T-ANY",
            "levels": [1],
            "references": {"requirements": ["NW-14"], "tcvn_14423": "x.8.2.1 a"},
            "check": {
                "type": "combine",
                "mode": "any_of",
                "checks": [
                    {"type": "compare", "path": "y", "op": "eq", "value": 1},
                    {"type": "compare", "path": "x", "op": "eq", "value": 1},
                ],
            },
        },
        {
            "id": "T-LIST",
            "levels": [1],
            "references": {"requirements": ["NW-07"], "tcvn_14423": "3.12.2.4 b"},
            "check": {
                "type": "each",
                "path": "lines",
                "condition": [{"path": "login", "op": "ne", "value": "none"}],
            },
        },
    ]
    packs = make_pack(tmp_path, rules)
    scan = run_scan(packs, [device("sw1", {"x": 2, "lines": [{"name": "vty 0 4"}]})], 1, now=NOW)
    got = {f.rule_id: (f.result, f.message) for f in scan.findings}
    assert got["T-TIMEOUT"][0] == "pass"
    assert got["T-ANY"] == ("error", "none holds: fact y not collected; expected x eq 1, found 2")
    assert got["T-LIST"][0] == "error"
    assert "login not collected" in got["T-LIST"][1]
    null = run_scan(packs, [device("sw2", {"x": None, "lines": []})], 1, now=NOW)
    assert {f.rule_id: f.result for f in null.findings}["T-TIMEOUT"] == "error"  # null = unknown
    scores = scan.scores()
    assert scores["overall"] == {"pass": 1, "fail": 0, "error": 2, "not_applicable": 0, "score": 1.0}


def test_not_applicable_by_platform_role_and_condition(tmp_path: Path) -> None:
    rules = [
        {**L3_RULE, "id": "T-IOS", "levels": [3], "applicability": {"platforms": ["cisco_ios"]}},
        {**L3_RULE, "id": "T-CORE", "levels": [3], "applicability": {"roles": ["core"]}},
        {
            **L3_RULE,
            "id": "T-WHEN",
            "levels": [3],
            "applicability": {"when": [{"path": "ssh", "op": "is_true"}]},
        },
    ]
    packs = make_pack(tmp_path, rules)
    targets = [
        device("vrp-access", {"x": 1, "ssh": False}, platform="huawei_vrp", role="access"),
        device("ios-unknown", {"x": 1, "ssh": True}, role=None),
        device("ios-core", {"x": 1}, role="core"),
    ]
    scan = run_scan(packs, targets, 3, now=NOW)
    got = {(f.target.name, f.rule_id): (f.result, f.message) for f in scan.findings}
    assert got[("vrp-access", "T-IOS")] == ("not_applicable", "platform huawei_vrp not in ['cisco_ios']")
    assert got[("vrp-access", "T-CORE")] == ("not_applicable", "role access not in ['core']")
    assert got[("vrp-access", "T-WHEN")] == ("not_applicable", "applies when ssh is_true")
    assert got[("ios-unknown", "T-CORE")][0] == "not_applicable"
    assert "--roles" in got[("ios-unknown", "T-CORE")][1]
    assert got[("ios-unknown", "T-WHEN")][0] == "pass"
    assert got[("ios-core", "T-CORE")][0] == "pass"
    assert got[("ios-core", "T-WHEN")] == ("error", "fact ssh not collected")
    scores = scan.scores()
    assert scores["overall"]["not_applicable"] == 4
    assert scores["overall"]["score"] == 1.0
    assert scores["target"]["vrp-access"] == {
        "pass": 0,
        "fail": 0,
        "error": 0,
        "not_applicable": 3,
        "score": None,
    }


def test_scores_per_rule_requirement_clause_level_target() -> None:
    facts = {
        "platform": "linux",
        "firewall": {"enabled": True, "default_input_policy": "accept"},
        "time_sync": {"synchronized": None, "offset_ms": None},
    }
    scan = run_scan(PACKS, [Target(name="h1", kind="host", facts=facts, platform="linux")], 3, now=NOW)
    scores = scan.scores()
    assert scores["rule"]["HOST-LNX-FIREWALL-ENABLED"]["pass"] == 1
    assert scores["rule"]["HOST-LNX-FIREWALL-DEFAULT-DENY"]["fail"] == 1
    assert scores["requirement"]["HS-05"] == {
        "pass": 1,
        "fail": 1,
        "error": 0,
        "not_applicable": 0,
        "score": 0.5,
    }
    assert scores["clause"]["TCVN 14423:2026 5.13.2.2"]["fail"] == 1
    assert scores["rule"]["HOST-LNX-TIME-SYNC"]["error"] == 1
    # per level = the level a rule starts at; HS-05 default-deny starts at 3
    assert scores["level"]["3"]["fail"] >= 1
    assert scores["level"]["1"]["pass"] >= 1
    overall = scores["overall"]
    assert overall["score"] == round(overall["pass"] / (overall["pass"] + overall["fail"]), 4)
    # host packs for another platform produce no findings at all
    assert not any(f.rule.pack.id == "host-windows" for f in scan.findings)


def test_diff_new_fail_fixed_still_failing() -> None:
    previous = [
        {"rule_id": "A", "target": "sw1", "result": "fail"},
        {"rule_id": "B", "target": "sw1", "result": "fail"},
        {"rule_id": "C", "target": "sw1", "result": "pass"},
    ]
    current = [
        {"rule_id": "A", "target": "sw1", "result": "pass"},
        {"rule_id": "B", "target": "sw1", "result": "fail"},
        {"rule_id": "C", "target": "sw1", "result": "fail"},
        {"rule_id": "D", "target": "sw2", "result": "fail"},
        {"rule_id": "E", "target": "sw2", "result": "error"},
    ]
    diff = diff_findings(current, previous)
    assert [(d["rule_id"], d["was"]) for d in diff["new_fail"]] == [("C", "pass"), ("D", None)]
    assert [d["rule_id"] for d in diff["fixed"]] == ["A"]
    assert [d["rule_id"] for d in diff["still_failing"]] == ["B"]


def test_manual_items_list_doc_and_unscanned_rows_never_as_pass() -> None:
    devices_only = run_scan(
        PACKS, [device("sw1", None, error="x", candidate_platforms=("cisco_ios",))], 3, now=NOW, offline=True
    )
    items = {item["requirement"]: item for item in devices_only.manual_items()}
    assert "HS-19" in items
    assert any("document review" in r for r in items["HS-19"]["reasons"])
    assert "HS-01" in items
    assert any("needs host agent facts" in r for r in items["HS-01"]["reasons"])
    assert "NW-16" in items
    assert any("SNMP" in r for r in items["NW-16"]["reasons"])
    assert "NW-31" in items
    assert any("config history" in r for r in items["NW-31"]["reasons"])
    assert "NW-06" not in items  # machine-checked in this scan
    assert "NW-18" not in items  # level 2 only
    with_hosts = run_scan(PACKS, [host_target(HOSTS / "windows-good.json")], 3, now=NOW)
    host_items = {item["requirement"]: item for item in with_hosts.manual_items()}
    assert "HS-01" not in host_items
    assert host_items["HS-16"]["reasons"]  # AG+DOC: document part stays manual
    assert host_items["HS-30"]["reasons"]


def test_device_evidence_quotes_config_lines_or_says_none(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "sw-xa-02.cfg").write_text(
        "hostname sw-xa-02\n!\nsnmp-server community public RO\n!\nline vty 0 4\n login local\n"
        " transport input telnet\n!\nend\n",
        encoding="utf-8",
    )
    scan = run_scan(PACKS, iter_device_targets(folder), 3, now=NOW)
    by_rule = {f.rule_id: f for f in scan.findings}
    community = by_rule["DEV-SNMP-NO-DEFAULT-COMMUNITY"]
    assert community.result == "fail"
    assert [3, "snmp-server community public RO"] in community.evidence[0]["lines"]
    telnet = by_rule["DEV-VTY-SSH-ONLY"]
    assert telnet.result == "fail"
    assert [7, " transport input telnet"] in telnet.evidence[0]["lines"]
    ntp = by_rule["DEV-NTP-SERVER"]
    assert ntp.result == "fail"
    assert any(item["value"] == NO_LINE for item in ntp.evidence)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.cfg", b""),
        ("binary.cfg", bytes(range(256)) * 4),
        ("truncated-ios.cfg", b"hostname sw-cut\n!\ninterface GigabitEthernet0/1\n switchport mode access\n"),
        ("junos-unbalanced.conf", b"system {\n    host-name j1;\n    services {\n        ssh;\n"),
    ],
)
def test_broken_config_gives_error_findings_with_reason(tmp_path: Path, name: str, content: bytes) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / name).write_bytes(content)
    scan = run_scan(
        PACKS, iter_device_targets(folder, platform="juniper_junos" if "junos" in name else None), 2, now=NOW
    )
    assert scan.findings
    results = {f.result for f in scan.findings}
    assert "pass" not in results
    assert "fail" not in results
    errors = [f for f in scan.findings if f.result == "error"]
    assert errors
    for finding in errors:
        assert finding.message.startswith("lỗi phân tích cấu hình / config parse error: ")
        assert name in finding.message  # file:line: reason
    assert scan.scores()["overall"]["score"] is None


def test_roles_file_and_missing_config(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "sw1.cfg").write_text("hostname sw1\n!\nend\n", encoding="utf-8")
    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text("devices:\n  sw1: {role: core}\n  sw-lost: access\n", encoding="utf-8")
    roles = load_roles(roles_file)
    targets = list(iter_device_targets(folder, roles=roles))
    assert [(t.name, t.role) for t in targets] == [("sw1.cfg", "core"), ("sw-lost", "access")]
    scan = run_scan(PACKS, targets, 3, now=NOW)
    lost = [f for f in scan.findings if f.target.name == "sw-lost"]
    assert lost
    assert all(f.result == "error" for f in lost)
    assert "no config available" in lost[0].message
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices:\n  sw1: {role: switch}\n", encoding="utf-8")
    with pytest.raises(AuditInputError, match="role must be one of"):
        load_roles(bad)


def test_host_files_report_bare_and_broken() -> None:
    good = host_target(HOSTS / "windows-good.json")
    assert good.name == "PC-MOTCUA-01"
    assert good.platform == "windows"
    assert good.error is None
    assert host_target(HOSTS / "truncated.json").error is not None
    assert "not an agent report" in (host_target(HOSTS / "not-a-report.json").error or "")


@pytest.mark.parametrize(
    ("fixture", "level", "expected"),
    [
        ("windows-good.json", 3, {"pass"}),
        ("windows-bad.json", 3, {"fail"}),
        ("linux-server-good.json", 3, {"pass"}),
    ],
)
def test_sample_host_facts(fixture: str, level: int, expected: set[str]) -> None:
    scan = run_scan(PACKS, [host_target(HOSTS / fixture)], level, now=NOW)
    results = {f.rule_id: f.result for f in scan.findings}
    # the Linux sample is a server: no desktop, no Wi-Fi, no battery
    not_for_servers = {
        "HOST-LNX-NO-AUTORUN",
        "HOST-LNX-SCREEN-LOCK",
        "HOST-LNX-WIFI-ENTERPRISE",
        "HOST-LNX-LAPTOP-AV-VPN",
    }
    # matching packages against a CVE feed happens in the server's scan: offline it is never a pass
    server_only = {"HOST-LNX-VULN-SCAN-FRESH", "HOST-LNX-VULN-FIXES-APPLIED"}
    assert {results[r] for r in server_only & set(results)} <= {"error"}
    judged = {rule: result for rule, result in results.items() if rule not in not_for_servers | server_only}
    assert set(judged.values()) == expected, results
    assert {results[r] for r in not_for_servers & set(results)} <= {"not_applicable"}
    assert len(results) >= 13


def test_dangling_config_link_is_an_error_not_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "sw-gone.cfg").symlink_to(tmp_path / "missing.cfg")
    targets = list(iter_device_targets(folder))
    assert [t.name for t in targets] == ["sw-gone.cfg"]
    scan = run_scan(PACKS, targets, 2, now=NOW)
    assert scan.findings
    assert {f.result for f in scan.findings} == {"error"}
    assert "cannot read the config file" in scan.findings[0].message


@pytest.mark.parametrize(
    ("fixture", "score_rule"),
    [("windows-good.json", "HOST-WIN-HARDENING-SCORE"), ("windows-bad.json", "HOST-WIN-HARDENING-SCORE")],
)
@pytest.mark.parametrize("level", [1, 3, 5])
def test_hardening_score_is_computed_from_the_hosts_own_hs03_to_hs20_findings(
    fixture: str, score_rule: str, level: int
) -> None:
    hosts = [host_target(HOSTS / fixture), host_target(HOSTS / "linux-server-good.json")]
    scan = run_scan(PACKS, hosts, level, now=NOW)
    mine = [f for f in scan.findings if f.target is hosts[0]]
    assert mine[-1].rule_id == score_rule  # judged after every other rule of the host
    hardening = {f"HS-{n:02d}" for n in range(3, 21)}
    counted = [f for f in mine[:-1] if hardening & set(f.rule.rule.references.requirements)]
    passed = sum(f.result == "pass" for f in counted)
    failed = sum(f.result == "fail" for f in counted)
    score = round(passed / (passed + failed), 4)
    finding = mine[-1]
    assert finding.evidence[0]["value"] == score
    threshold = finding.rule.inputs_for(level)["min_score"]
    assert finding.result == ("pass" if score >= threshold else "fail"), finding.message
    failing = {item["path"] for item in finding.evidence[2:]}
    assert failing == {f"rule_results[{f.rule_id}]" for f in counted if f.result != "pass"}
    # the other host's findings never leak into this host's score
    other = next(f for f in scan.findings if f.rule_id == "HOST-LNX-HARDENING-SCORE")
    assert all("WIN" not in item["path"] for item in other.evidence)


def test_hardening_score_errs_when_no_hardening_rule_judged(tmp_path: Path) -> None:
    def results(result: str) -> dict[str, Any]:
        return {"rule_results": [{"rule_id": "A", "requirements": ["HS-05"], "result": result}]}

    packs = make_pack(
        tmp_path,
        [
            {
                "id": "T-SCORE",
                "levels": [1],
                "references": {"requirements": ["HS-06"], "tcvn_14423": "x.5.2.1 b"},
                "check": {"type": "requirement_score", "requirements": ["HS-05"], "value": 0.5},
                "examples": {"pass": [results("pass")], "fail": [results("fail")]},
            }
        ],
        scope="host",
    )
    target = Target(name="h", kind="host", facts={"x": 1}, platform="linux")
    finding = run_scan(packs, [target], 1, now=NOW).findings[0]
    assert finding.result == "error"
    assert "no rule for HS-05 judged this target" in finding.message
