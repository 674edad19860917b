"""`canhgac audit --offline` end to end, as a subprocess: real configs, the real agent's output,
Windows sample facts; HTML/JSON/CSV/PDF reports, SHA256SUMS, diff, and usage errors."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from canhgac_rules.cli import audit_command

FIXTURES = Path(__file__).parent / "fixtures"
CANHGAC = [sys.executable, "-m", "canhgac_collector.cli"]
NOW = "2026-11-30T00:00:00+00:00"


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Configs from every platform (good, bad, truncated) and host facts: this machine's real agent
    output (`canhgac-agent once --json`), Windows and Linux samples, and two broken files."""
    root = tmp_path_factory.mktemp("audit")
    configs = root / "configs"
    # a few configs keep the PDF (WeasyPrint, ~0.1 s per page) quick; every fixture is judged in
    # test_fixture_outcomes.py
    chosen = [
        *sorted((FIXTURES / "configs" / "cisco_ios").glob("*.cfg")),
        FIXTURES / "configs" / "huawei_vrp" / "commune-bad.cfg",
    ]
    for cfg in chosen:
        target = configs / cfg.parent.name / cfg.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(cfg, target)
    facts = root / "facts"
    facts.mkdir()
    agent = run(str(Path(sys.executable).parent / "canhgac-agent"), "once", "--json", timeout=120)
    assert agent.returncode == 0, agent.stderr
    report = json.loads(agent.stdout)
    assert report["security"] is not None  # `once` collects the security facts
    (facts / "this-machine.json").write_text(agent.stdout, encoding="utf-8")
    for sample in sorted((FIXTURES / "hosts").glob("*.json")):
        shutil.copy(sample, facts / sample.name)
    return {"configs": configs, "facts": facts, "root": root, "hostname": Path(report["host"]["hostname"])}


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF: the /Count of its page tree (in the file or in a compressed object stream)."""
    chunks = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            chunks.append(zlib.decompress(data[match.end() : end]))
        except zlib.error:
            continue
    for chunk in chunks:
        found = re.search(rb"/Type\s*/Pages\b.*?/Count\s+(\d+)", chunk, re.S)
        if found:
            return int(found.group(1))
    return 0


def test_offline_audit_writes_all_formats(inputs: dict[str, Path]) -> None:
    out = inputs["root"] / "out"
    report_config = inputs["root"] / "report.yaml"
    report_config.write_text("agency: UBND tỉnh Hà Tĩnh\nunit_code: SKHCN\nplace: Vinh\n", encoding="utf-8")
    proc = run(
        *CANHGAC,
        "audit",
        "--offline",
        "--configs",
        str(inputs["configs"]),
        "--facts",
        str(inputs["facts"]),
        "--level",
        "3",
        "--format",
        "html,json,csv,pdf",
        "--out",
        str(out),
        "--site-name",
        "UBND xã An Bình",
        "--now",
        NOW,
        "--report-config",
        str(report_config),
        "--place",
        "Hà Tĩnh",
        "--auditor",
        "Nguyễn Văn An",
    )
    assert proc.returncode == 0, proc.stderr
    names = {
        "canhgac-audit.html",
        "canhgac-audit.json",
        "canhgac-audit.csv",
        "canhgac-audit.pdf",
        "SHA256SUMS",
    }
    assert {p.name for p in out.iterdir()} == names

    # SHA256SUMS lists every report file with its real digest, and is printed
    sums = (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert len(sums) == 4
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
        assert line in proc.stdout

    report: dict[str, Any] = json.loads((out / "canhgac-audit.json").read_text(encoding="utf-8"))
    scan = report["scan"]
    assert scan["level"] == 3
    assert scan["site_name"] == "UBND xã An Bình"
    assert scan["mode"] == "offline"
    assert {p["id"] for p in scan["packs"]} >= {"device-config", "host-linux", "host-windows"}
    assert all(p["version"] for p in scan["packs"])
    assert scan["tool_version"]
    assert scan["scope"]["devices"] == len(list(inputs["configs"].rglob("*.cfg")))
    assert scan["scope"]["hosts"] == 6
    findings = report["findings"]
    for finding in findings:
        assert {"rule_id", "requirements", "levels", "target", "result", "evidence"} <= finding.keys()
        assert 3 in finding["levels"]
    targets = {f["target"] for f in findings}
    assert str(inputs["hostname"]) in targets  # the real agent output is judged under its hostname
    assert {"PC-MOTCUA-01", "PC-KETOAN-03", "srv-motcua-01"} <= targets
    results = {(f["target"], f["rule_id"]): f["result"] for f in findings}
    assert results[("PC-KETOAN-03", "HOST-WIN-FIREWALL-ENABLED")] == "fail"
    assert results[("PC-MOTCUA-01", "HOST-WIN-FIREWALL-ENABLED")] == "pass"
    # host-configuration facts (autologin, WSUS, encryption, log forwarding) judged from the samples
    assert results[("PC-KETOAN-03", "HOST-WIN-NO-AUTOLOGIN")] == "fail"
    assert results[("PC-MOTCUA-01", "HOST-WIN-WSUS")] == "pass"
    assert results[("PC-KETOAN-03", "HOST-WIN-WSUS")] == "fail"
    assert results[("srv-motcua-01", "HOST-LNX-ROOT-ENCRYPTED")] == "pass"
    assert results[("srv-motcua-01", "HOST-LNX-LOG-FORWARDING")] == "pass"
    assert results[("cisco_ios/commune-bad.cfg", "DEV-MGMT-NO-TELNET")] == "fail"
    assert results[("cisco_ios/core-good.cfg", "DEV-MGMT-NO-TELNET")] == "pass"
    truncated = [f for f in findings if f["target"] == "cisco_ios/commune-bad-truncated.cfg"]
    assert truncated
    assert all(f["result"] in ("error", "not_applicable") for f in truncated)
    broken = [f for f in findings if f["target"] in ("truncated", "not-a-report")]
    assert broken
    assert all(f["result"] == "error" for f in broken)
    summary = report["summary"]["overall"]
    assert summary["fail"] > 0
    assert summary["pass"] > 0
    assert summary["error"] > 0
    assert report["manual_review"]
    assert all(item["reasons"] for item in report["manual_review"])

    # HTML: Vietnamese, a failing finding's evidence line and its remediation
    page = (out / "canhgac-audit.html").read_text(encoding="utf-8")
    assert "Báo cáo kiểm tra tuân thủ" in page
    assert "HẠNG MỤC CẦN XEM XÉT THỦ CÔNG" in page  # section headings are capitals (document form)
    failing = next(
        f
        for f in findings
        if f["result"] == "fail"
        and f["target"] == "cisco_ios/commune-bad.cfg"
        and f["evidence"][0].get("lines")
    )
    number, text = failing["evidence"][0]["lines"][0]
    assert html.escape(f"L{number}: {text}", quote=False) in page
    assert html.escape(failing["remediation"]["vi"], quote=False) in page
    # the issuer: the settings file, with the command line's place and auditor on top
    assert "UBND tỉnh Hà Tĩnh" in page
    assert "Số: …/BC-SKHCN" in page
    assert "Hà Tĩnh, ngày " in page
    assert "Nguyễn Văn An" in page

    # CSV: one row per finding
    with (out / "canhgac-audit.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(findings)
    assert {row["result"] for row in rows} == {f["result"] for f in findings}

    # PDF: a real PDF with pages
    pdf = (out / "canhgac-audit.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert pdf_page_count(pdf) >= 2


def test_offline_audit_diff_against_previous(inputs: dict[str, Path], tmp_path: Path) -> None:
    first = tmp_path / "first"
    args = [
        "audit",
        "--offline",
        "--configs",
        str(inputs["configs"]),
        "--level",
        "2",
        "--format",
        "json",
        "--now",
        NOW,
    ]
    assert run(*CANHGAC, *args, "--out", str(first)).returncode == 0
    # "fix" the Windows box: its findings move from fail to pass; a new bad host appears
    facts = tmp_path / "facts"
    facts.mkdir()
    shutil.copy(FIXTURES / "hosts" / "windows-good.json", facts / "pc.json")
    second = tmp_path / "second"
    proc = run(
        *CANHGAC,
        *args,
        "--facts",
        str(facts),
        "--out",
        str(second),
        "--previous",
        str(first / "canhgac-audit.json"),
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((second / "canhgac-audit.json").read_text(encoding="utf-8"))
    diff = report["diff"]
    first_report = json.loads((first / "canhgac-audit.json").read_text(encoding="utf-8"))
    assert diff["previous_scan"] == first_report["scan"]["id"]
    device_fails = sum(1 for f in first_report["findings"] if f["result"] == "fail")
    assert len(diff["still_failing"]) == device_fails  # same configs, same failures
    assert diff["fixed"] == []
    assert diff["new_fail"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--configs", "."], "or --offline --configs/--facts"),
        (["--offline", "--configs", "."], "--level N (1-5) is required with --offline"),
        (["--offline", "--configs", ".", "--level", "7"], "--level must be 1-5"),
        (["--offline", "--configs", ".", "--level", "2", "--format", "docx"], "unknown report format"),
        (["--offline", "--configs", "/nonexistent/configs", "--level", "2"], "not a folder"),
        (["--offline", "--level", "2"], "--configs DIR and/or --facts DIR"),
        (["--offline", "--configs", ".", "--level", "2", "--platform", "nokia"], "--platform 'nokia'"),
        (["--offline", "--configs", ".", "--level", "2", "--lang", "fr"], "--lang 'fr'"),
        (["--offline", "--configs", ".", "--level", "2", "--report-number=12a"], "report settings: number"),
        (["--offline", "--configs", ".", "--level", "2", "--report-config=/nonexistent.yaml"], "cannot read"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    proc = run(*CANHGAC, "audit", *args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert not (tmp_path / "o").exists()


def test_audit_command_without_the_server(tmp_path: Path) -> None:
    """The rules library's `audit` runs offline on its own; `--site` needs the handler the server passes."""
    app = typer.Typer()
    app.command("audit")(audit_command())
    runner = CliRunner()
    online = runner.invoke(app, ["--site", "HT", "--out", str(tmp_path / "o")])
    assert online.exit_code == 2
    assert "--site needs the server's online audit" in online.stderr
    configs = FIXTURES / "configs" / "cisco_ios"
    offline = runner.invoke(
        app,
        ["--offline", "--configs", str(configs), "--level", "2", "--format", "json", "--out", str(tmp_path)],
    )
    assert offline.exit_code == 0, offline.output
    assert (tmp_path / "canhgac-audit.json").exists()
    assert (tmp_path / "SHA256SUMS").exists()
