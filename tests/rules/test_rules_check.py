"""`rules check` on mis-typed packs: each mistake is reported as `file: rule id: reason`, exit 1."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from canhgac_rules.validate import check_packs

CANHGAC = [sys.executable, "-m", "canhgac_collector.cli"]

GOOD_RULE: dict[str, Any] = {
    "id": "TEST-NTP",
    "title": {"vi": "Có máy chủ NTP", "en": "NTP server set"},
    "rationale": {"vi": "Thời gian đúng", "en": "Right time"},
    "remediation": {"vi": "Khai báo NTP", "en": "Set NTP", "commands": ["ntp server 10.0.0.1"]},
    "severity": "medium",
    "levels": [1, 2, 3, 4, 5],
    "references": {"requirements": ["NW-14"], "tcvn_14423": "x.8.2.1 a"},
    "check": {"type": "compare", "path": "ntp.servers", "op": "not_empty"},
    "examples": {"pass": [{"ntp": {"servers": ["10.0.0.1"]}}], "fail": [{"ntp": {"servers": []}}]},
}


def write_pack(tmp_path: Path, rules: list[dict[str, Any]], name: str = "pack.yaml") -> Path:
    pack = {
        "id": "test-pack",
        "version": "0.1.0",
        "scope": "device",
        "platforms": ["cisco_ios"],
        "title": {"vi": "Thử", "en": "Test"},
        "rules": rules,
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(pack, allow_unicode=True), encoding="utf-8")
    return path


def variant(rule_id: str, **changes: Any) -> dict[str, Any]:
    rule = copy.deepcopy(GOOD_RULE)
    rule["id"] = rule_id
    for dotted, value in changes.items():
        target = rule
        keys = dotted.split("__")
        for key in keys[:-1]:
            target = target[key]
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return rule


CASES = [
    (
        variant("BAD-TYPE", check={"type": "regex_magic", "path": "ntp.servers"}),
        "unknown check type 'regex_magic'",
    ),
    (
        variant(
            "BAD-REGEX", check={"type": "compare", "path": "hostname", "op": "matches", "value": "sw-(["}
        ),
        "bad regex 'sw-(['",
    ),
    (variant("BAD-NO-CLAUSE", references={"requirements": ["NW-14"]}), "missing clause reference"),
    (
        variant("BAD-UNKNOWN-REQ", references={"requirements": ["NW-99"], "tcvn_14423": "x"}),
        "NW-99 is not in the requirement table",
    ),
    (
        variant(
            "BAD-INPUT",
            check={"type": "count", "path": "ntp.servers", "op": "ge", "value": {"input": "min_servers"}},
        ),
        "unknown input 'min_servers'",
    ),
    (
        variant(
            "BAD-EXAMPLE", examples={"pass": [{"ntp": {"servers": []}}], "fail": [{"ntp": {"servers": []}}]}
        ),
        "example pass[0] gave fail",
    ),
    (
        variant("BAD-LEVELS", levels=[1], references={"requirements": ["NW-20"], "tcvn_14423": "5.13.2.3 a"}),
        "levels [1] are not required by NW-20",
    ),
    (variant("BAD-KEY", surprise=True), "surprise: Extra inputs are not permitted"),
    (
        variant("BAD-OP", check={"type": "compare", "path": "ntp.servers", "op": "roughly", "value": 1}),
        "check compare: op:",
    ),
    (
        variant("BAD-NESTED", check={"type": "combine", "mode": "all_of", "checks": [{"type": "nope"}]}),
        "unknown check type 'nope'",
    ),
]


@pytest.mark.parametrize(("rule", "reason"), CASES, ids=[case[0]["id"] for case in CASES])
def test_mistake_is_reported_with_file_rule_and_reason(
    tmp_path: Path, rule: dict[str, Any], reason: str
) -> None:
    path = write_pack(tmp_path, [GOOD_RULE, rule])
    packs, problems = check_packs([path])
    lines = [str(problem) for problem in problems]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: {rule['id']}: "), lines[0]
    assert reason in lines[0]
    assert [r.id for r in packs[0].rules] == ["TEST-NTP"]  # the good rule stays usable


def test_duplicate_rule_id_across_files(tmp_path: Path) -> None:
    first = write_pack(tmp_path, [GOOD_RULE], "a.yaml")
    second = write_pack(tmp_path, [GOOD_RULE], "b.yaml")
    _packs, problems = check_packs([first, second])
    reasons = [str(p) for p in problems]
    assert f"{second}: TEST-NTP: duplicate rule id (first in {first})" in reasons
    assert any("duplicate pack id" in r for r in reasons)


def test_unreadable_and_non_pack_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    listish = tmp_path / "list.yaml"
    listish.write_text("- 1\n- 2\n", encoding="utf-8")
    _packs, problems = check_packs([tmp_path])
    text = "\n".join(map(str, problems))
    assert f"{broken}: -: cannot read pack" in text
    assert f"{listish}: -: a pack must be a mapping" in text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*CANHGAC, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_rules_check_cli_on_a_mistyped_pack(tmp_path: Path) -> None:
    path = write_pack(tmp_path, [GOOD_RULE, CASES[0][0], CASES[1][0], CASES[2][0]])
    proc = run_cli("rules", "check", str(path))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert (
        f"{path}: BAD-TYPE: unknown check type 'regex_magic' "
        "(known: combine, compare, config_change, count, each, requirement_score)" in lines
    )
    assert any(line.startswith(f"{path}: BAD-REGEX: bad regex 'sw-(['") for line in lines)
    assert any(
        line.startswith(f"{path}: BAD-NO-CLAUSE: ") and "missing clause reference" in line for line in lines
    )
    assert "3 lỗi / problem(s)" in proc.stderr


def test_rules_check_and_list_cli_on_shipped_packs() -> None:
    proc = run_cli("rules", "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK: ")
    assert " pack(s), " in proc.stdout
    import json

    listing = run_cli("rules", "list", "--json", "--level", "2")
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    ids = {row["id"] for row in rows}
    assert "DEV-SNMP-V3-ONLY" in ids
    assert "DEV-CORE-FHRP" not in ids
    row = next(r for r in rows if r["id"] == "DEV-VTY-ACCESS-CLASS")
    assert row["requirements"] == ["NW-09"]
    assert row["levels"] == [2, 3, 4, 5]
    assert row["scope"] == "device"
    assert row["pack"] == "device-config"
    assert row["title"]["vi"]
    missing = run_cli("rules", "check", "/nonexistent/pack.yaml")
    assert missing.returncode == 2
