"""Grafana dashboards and Prometheus alert rules: valid, consistent, and every query answers on real data.

The live test substitutes each template variable with a value Prometheus itself returns for the variable's
query (as Grafana would), then runs every PromQL expression of every panel through Prometheus' HTTP API
against the live province and requires a non-empty result.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.grafana.conftest import Stack

ROOT = Path(__file__).parents[2]
DASHBOARDS = ROOT / "grafana" / "dashboards"
PROVISIONING = ROOT / "grafana" / "provisioning"
RULES = ROOT / "prometheus" / "canhgac-alerts.yml"
RULE_TESTS = ROOT / "prometheus" / "canhgac-alerts.test.yml"
EXPECTED = {"province", "site", "device", "host", "connectivity", "compliance"}


def _dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARDS.glob("*.json"))}


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", ROOT / "grafana" / "build_dashboards.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _datasource_uids() -> dict[str, str]:
    data = yaml.safe_load((PROVISIONING / "datasources" / "canhgac.yaml").read_text(encoding="utf-8"))
    return {ds["uid"]: ds["type"] for ds in data["datasources"]}


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    rendered = _build_module().render()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DASHBOARDS.glob("*.json")}
    assert on_disk == rendered, "run .venv/bin/python grafana/build_dashboards.py"


def test_dashboards_are_structurally_valid() -> None:
    boards = _dashboards()
    assert set(boards) == EXPECTED
    uids = _datasource_uids()
    assert set(uids) == {"canhgac-prometheus", "canhgac-influxdb"}
    seen_uids: set[str] = set()
    for name, board in boards.items():
        where = f"grafana/dashboards/{name}.json"
        assert board["schemaVersion"] >= 36, where
        assert re.fullmatch(r"canhgac-[a-z-]+", board["uid"]), where
        assert board["uid"] not in seen_uids, f"{where}: uid {board['uid']} repeats"
        seen_uids.add(board["uid"])
        vi, en = board["title"].split(" / ")  # Vietnamese first, English beside it
        assert vi, where
        assert en, where
        names = [v["name"] for v in board["templating"]["list"]]
        assert names[:2] == ["subtree", "site"], where  # every board selects a site subtree
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{where}: panel ids repeat: {ids}"
        for panel in board["panels"]:
            at = f"{where} panel {panel['id']} {panel['title']!r}"
            assert " / " in panel["title"] or panel["title"] == "CPU", at
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, at
            assert min(pos["w"], pos["h"]) > 0, at
            assert uids.get(panel["datasource"]["uid"]) == panel["datasource"]["type"], at
            assert panel["targets"], at
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), at
            for target in panel["targets"]:
                assert uids.get(target["datasource"]["uid"]) == target["datasource"]["type"], at
                assert target.get("expr") or target.get("query"), at
        for var in board["templating"]["list"]:
            assert uids.get(var["datasource"]["uid"]) == "prometheus", f"{where} variable {var['name']}"


def test_dashboard_provider_points_at_a_folder_of_json() -> None:
    data = yaml.safe_load((PROVISIONING / "dashboards" / "canhgac.yaml").read_text(encoding="utf-8"))
    (provider,) = data["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")


def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    check = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 5 rules found" in check.stdout
    tests = subprocess.run(
        ["promtool", "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, check=False
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


# --- live: every query against Prometheus scraping the running province -------------------------------


def _substitute(expr: str, values: dict[str, str]) -> str:
    out = expr.replace("$__range", "5m")
    for name in sorted(values, key=len, reverse=True):
        out = out.replace(f"${{{name}}}", values[name]).replace(f"${name}", values[name])
    assert "$" not in out, f"unsubstituted variable in {out!r}"
    return out


def _regex_of(values: list[str]) -> str:
    """What Grafana puts for a multi-value/All variable in a regex matcher."""
    escaped = [re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\\\1", v) for v in values]
    return "(" + "|".join(escaped) + ")" if len(escaped) > 1 else escaped[0]


def _label_values(stack: Stack, query: str, values: dict[str, str]) -> list[str]:
    m = re.fullmatch(r"label_values\((.+), (\w+)\)", query)
    assert m, f"unsupported variable query {query!r}"
    match, label = _substitute(m.group(1), values), m.group(2)
    return sorted(stack.prometheus.label_values(label, match))


def _wait_for(stack: Stack, promql: str, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        result: list[Any] = stack.prometheus.query(promql)["result"]
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def _check_board(stack: Stack, board: dict[str, Any]) -> tuple[dict[str, list[str]], int]:
    """Run every PromQL target of `board`; returns (empty panels per device tried, queries run)."""
    values: dict[str, str] = {}
    choices: dict[str, list[str]] = {}
    for var in board["templating"]["list"]:
        options = _label_values(stack, var["query"]["query"], values)
        if not options:
            return {"": [f"variable {var['name']} has no values"]}, 0
        choices[var["name"]] = options
        if var["name"] == "subtree":
            values["subtree"] = min(options, key=len)  # the province: the widest subtree
        elif var.get("includeAll"):
            values[var["name"]] = _regex_of(options)
        else:
            values[var["name"]] = options[0]
    failures: dict[str, list[str]] = {}
    checked = 0
    for device in choices.get("device", [""]):  # a device the operator would pick: one that fills every panel
        if device:
            values["device"] = device
            values["interface"] = _regex_of(_label_values(stack, _var(board, "interface"), values))
        empty = []
        checked = 0
        for panel in board["panels"]:
            for target in panel["targets"]:
                if "expr" not in target:
                    continue  # Flux (InfluxDB history) targets: checked structurally above
                promql = _substitute(target["expr"], values)
                result = stack.prometheus.query(promql)["result"]
                checked += 1
                if not result:
                    empty.append(f"{panel['title']}: {promql[:300]}")
        if not empty:
            return {}, checked
        failures[device] = empty
    return failures, checked


def test_every_dashboard_query_returns_data_from_the_live_province(stack: Stack) -> None:
    # Rates need two polls of a switch, snmpsim is slow and the first compliance scan runs a little after
    # start-up: retry each board until it fills or 120 s pass.
    deadline = time.monotonic() + 120
    checked = 0
    for name, board in _dashboards().items():
        while True:
            failures, count = _check_board(stack, board)
            if not failures or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert not failures, (
            f"{name}: panels without data: {json.dumps(failures, indent=1, ensure_ascii=False)}"
        )
        checked += count
    expected = sum("expr" in t for b in _dashboards().values() for p in b["panels"] for t in p["targets"])
    assert checked == expected


def _var(board: dict[str, Any], name: str) -> str:
    for var in board["templating"]["list"]:
        if var["name"] == name:
            query: str = var["query"]["query"]
            return query
    raise KeyError(name)


def test_live_exposition_passes_promtool(stack: Stack) -> None:
    _wait_for(stack, "canhgac_interface_in_bytes_per_second", 90)
    text = stack.province.metrics()
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    for family in (
        "canhgac_host_up",
        "canhgac_probe_loss_ratio",
        "canhgac_device_up",
        "canhgac_interface_oper_up",
    ):
        assert re.search(rf"^{family}{{.*}} \d", text, re.M), f"{family} has no series"


def test_live_history_reaches_victoriametrics(stack: Stack) -> None:
    _wait_for(stack, "canhgac_interface_in_bytes_per_second", 90)
    deadline = time.monotonic() + 30
    names: set[str] = set()
    while time.monotonic() < deadline:
        stack.victoria.flush()
        names = {
            row["metric"]["__name__"]
            for row in stack.victoria.export('{__name__=~"(host|device|interface|probe)_.*"}')
        }
        if {"host_cpu_usage_ratio", "probe_loss_ratio", "device_up", "interface_in_bps"} <= names:
            break
        time.sleep(1)
    assert {"host_cpu_usage_ratio", "probe_loss_ratio", "device_up", "interface_in_bps"} <= names, names
    rows = stack.victoria.export("interface_oper_up")
    assert all({"site", "device", "ifName"} <= set(r["metric"]) for r in rows)
