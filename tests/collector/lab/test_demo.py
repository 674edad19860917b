"""`canhgac demo` (what the README's demo command runs): real server and agents, a simulated outage."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.harness.postgres import free_port


def test_demo_runs_a_province_and_survives_a_link_outage(tmp_path: Path) -> None:
    # The cut comes at 24-30 s: each agent's first cycle collects security facts (apt-get -s), which
    # takes several seconds when five agents start at once on two cores.
    port = free_port()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "canhgac_collector.cli",
            "demo",
            "--agents",
            "5",
            "--interval",
            "1",
            "--duration",
            "50",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--outage-every",
            "30",
            "--outage-for",
            "6",
            "--switches",
            "4",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=150,
        env={**os.environ, "COLUMNS": "160"},  # one table row per site, whatever the terminal
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert f"http://127.0.0.1:{port}/docs" in out
    assert f"http://127.0.0.1:{port}/metrics" in out
    # Province row: "HT  Tỉnh Hà Tĩnh  status  up stale down new"
    rows = re.findall(r"│ HT\s+│ Tỉnh Hà Tĩnh\s+│ (\w+)\s+│ (\d+)\s+│ (\d+)\s+│ (\d+)\s+│ (\d+)", out)
    assert rows, out[-2000:]
    assert ("ok", "5", "0", "0", "0") in rows  # every agent reported
    assert "link: CUT" in out  # the outage happened
    thach_ha = re.findall(r"│\s+HT-THACHHA\s+│ Xã Thạch Hà\s+│ (\w+)", out)
    assert thach_ha[-1] == "ok", thach_ha  # came back after the cut (agents retry with backoff + jitter)
    cut = [i for i, status in enumerate(thach_ha) if status in ("degraded", "down")]
    assert cut, thach_ha  # its hosts went stale during the cut…
    assert "ok" in thach_ha[cut[-1] :]  # …and recovered, delivering what they spooled
    # The switches (4 generated + 2 real recordings on snmpsim) were polled by the server: the last
    # table shows every one up in its site's "switch up/total" cell.
    last_table = out[out.rindex("Canh Gác demo —") :]
    cells = [(int(u), int(t)) for u, t in re.findall(r"│ (\d+)/(\d+)\s+│", last_table)]
    assert sum(t for _, t in cells) == 6, last_table
    assert all(u == t for u, t in cells), last_table

    # The auditor's command the demo prints runs against the demo's store: every agent host and switch
    # of the province judged, the scan stored after the ones the demo's scheduler already ran.
    assert "canhgac audit --site HT" in out
    config, report_dir = str(tmp_path / "server.yaml"), str(tmp_path / "audit")
    command = [sys.executable, "-m", "canhgac_collector.cli", "audit", "--site", "HT", "--config", config]
    audit = subprocess.run(
        [*command, "--format", "json", "--out", report_dir],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stderr
    report = json.loads(Path(report_dir, "canhgac-audit.json").read_text(encoding="utf-8"))
    assert report["scan"]["level"] == 3
    assert report["scan"]["previous_scan_id"] is not None  # the demo's scheduled scan of HT came first
    assert report["scan"]["scope"]["hosts"] == 5
    assert report["scan"]["scope"]["devices"] == 6
    assert {f["result"] for f in report["findings"]} >= {"pass", "fail"}

    # Config backups: every generated switch backed up over SSH; the one the demo changed half way has
    # a second version and its config_changed alert, and the audit judged the pulled configs.
    changed = re.search(r"(\S+)'s config changed on the device", out)
    assert changed, out[-2000:]
    cli = [sys.executable, "-m", "canhgac_collector.cli"]
    backups = subprocess.run(
        [*cli, "backup", "list", "--json", "--config", config], check=True, capture_output=True, text=True
    )
    versions = {b["device"]: b["versions"] for b in json.loads(backups.stdout)}
    assert len(versions) == 4, versions
    assert versions.pop(changed.group(1)) == 2
    assert set(versions.values()) == {1}
    alerts = subprocess.run(
        [*cli, "alerts", "list", "--json", "--config", config], check=True, capture_output=True, text=True
    )
    raised = {(a["rule"], a["subject"]) for a in json.loads(alerts.stdout)["alerts"]}
    assert ("config_changed", changed.group(1)) in raised
    assert not any(
        "no config available" in f["message"] for f in report["findings"] if f["target"] in versions
    )
