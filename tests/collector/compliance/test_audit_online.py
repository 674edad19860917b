"""`canhgac audit --site CODE` against a real (SQLite) state store: hosts' stored security facts are
judged, devices without a pulled config are errors ("no config available"), the level is inherited."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from canhgac_collector.config import load_config
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Device, Host, Site
from canhgac_collector.store.sites import sync_sites
from canhgac_collector.vulns.feeds import parse_feed
from canhgac_collector.vulns.store import store_feed
from tests.harness.pdf import date_line_vi, loose, pdf_text, rendered_pages

HOSTS = Path(__file__).parents[2] / "rules" / "fixtures" / "hosts"
CANHGAC = [sys.executable, "-m", "canhgac_collector.cli"]
CONFIG = """\
database_url: sqlite:///{db}
sites:
  - code: HT
    name: Tỉnh Hà Tĩnh
    kind: province
    level: 3
    children:
      - code: HT-XA-AB
        name: Xã An Bình
        kind: commune
  - code: QB
    name: Tỉnh Quảng Bình
    kind: province
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*CANHGAC, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def seed(tmp_path: Path) -> Path:
    config = tmp_path / "server.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "store.sqlite"), encoding="utf-8")
    cfg = load_config(config)
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    with session_factory(engine).begin() as session:
        sync_sites(session, resolve_tree(cfg))
        commune = session.query(Site).filter_by(code="HT-XA-AB").one()
        other = session.query(Site).filter_by(code="QB").one()
        for index, (name, site) in enumerate(
            [("windows-bad.json", commune), ("linux-server-good.json", commune), ("windows-good.json", other)]
        ):
            facts = json.loads((HOSTS / name).read_text(encoding="utf-8"))
            identity = facts.pop("host")
            session.add(
                Host(
                    id=f"agent-{index}",
                    machine_id=f"m-{index}",
                    hostname=identity["hostname"],
                    site_id=site.id,
                    state_changed_at=now,
                    enrolled_at=now,
                    latest_report=json.dumps({"host": identity}).encode(),
                    security=facts,
                    security_collected_at=now,
                )
            )
        session.add(
            Host(
                id="agent-new",
                machine_id="m-new",
                hostname="pc-moi",
                site_id=commune.id,
                state_changed_at=now,
                enrolled_at=now,
            )
        )
        session.add(
            Device(
                name="sw-xa-ab-1",
                address="127.0.0.1",
                site_id=commune.id,
                role="access",
                snmp_version="2c",
                snmp_secret_enc=b"x",
                created_at=now,
                updated_at=now,
                state_changed_at=now,
            )
        )
        # a CVE feed covering Debian 12 (the Linux server's release): its packages are all patched
        feed = Path(__file__).parents[1] / "vulns" / "feeds" / "debian-tracker.json"
        data = feed.read_bytes()
        store_feed(session, parse_feed(data, "debian"), name="debian", source=feed.name, data=data, now=now)
    return config


def test_online_audit_of_a_site_subtree(tmp_path: Path) -> None:
    config = seed(tmp_path)
    out = tmp_path / "out"
    proc = run(
        "audit",
        "--site",
        "HT-XA-AB",
        "--config",
        str(config),
        "--format",
        "json,csv",
        "--out",
        str(out),
        "--now",
        "2026-11-30T00:00:00+00:00",
    )
    assert proc.returncode == 0, proc.stderr
    report_file = out / "canhgac-audit.json"
    report = json.loads(report_file.read_text(encoding="utf-8"))
    scan = report["scan"]
    assert (scan["mode"], scan["trigger"]) == ("server", "cli")
    assert scan["level"] == 3
    assert scan["site"] == {"code": "HT-XA-AB", "name": "Xã An Bình", "declared_level": 3}
    # The scan is in the history with the SHA-256 of exactly this report file.
    engine = make_engine(load_config(config).database_url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT report_sha256 FROM scans WHERE id = :i"), {"i": scan["id"]}
        ).scalar()
    assert stored == hashlib.sha256(report_file.read_bytes()).hexdigest()
    by_target: dict[str, set[str]] = {}
    for finding in report["findings"]:
        by_target.setdefault(finding["target"], set()).add(finding["result"])
    # hosts of the subtree (not QB's), the switch (its SNMP facts and its missing config), the site
    assert set(by_target) == {"PC-KETOAN-03", "srv-motcua-01", "pc-moi", "sw-xa-ab-1", "site:HT-XA-AB"}
    assert by_target["PC-KETOAN-03"] == {"fail"}
    server_results = {f["rule_id"]: f["result"] for f in report["findings"] if f["target"] == "srv-motcua-01"}
    # a server without a desktop, Wi-Fi or battery: only those rules do not apply, everything else passes
    not_for_servers = {
        "HOST-LNX-NO-AUTORUN",
        "HOST-LNX-SCREEN-LOCK",
        "HOST-LNX-WIFI-ENTERPRISE",
        "HOST-LNX-LAPTOP-AV-VPN",
    }
    assert {r for r, v in server_results.items() if v != "pass"} == not_for_servers
    assert {server_results[r] for r in not_for_servers} == {"not_applicable"}
    assert by_target["pc-moi"] == {"error"}
    # the switch has no ssh: settings, so no pulled config: one error finding saying so, not one per rule
    config_findings = [
        f for f in report["findings"] if f["target"] == "sw-xa-ab-1" and f["pack"] == "device-config"
    ]
    assert [f["result"] for f in config_findings] == ["error"]
    assert "no config available" in config_findings[0]["message"]
    assert "SHA256SUMS" in proc.stdout


def test_online_audit_usage_errors(tmp_path: Path) -> None:
    config = seed(tmp_path)
    missing = run("audit", "--site", "NOPE", "--config", str(config), "--out", str(tmp_path / "o"))
    assert missing.returncode == 2
    assert "no site 'NOPE'" in missing.stderr
    no_level = run("audit", "--site", "QB", "--config", str(config), "--out", str(tmp_path / "o"))
    assert no_level.returncode == 2
    assert "declares no level" in no_level.stderr


def test_online_audit_report_document_is_headed_by_the_server_config(tmp_path: Path) -> None:
    """The server's `report:` block heads the HTML/PDF, the command line's options go on top, and a
    stored scan reads like an offline one: administrative header, hostnames, resolved clauses."""
    config = seed(tmp_path)
    with config.open("a", encoding="utf-8") as handle:
        handle.write("report:\n  agency: UBND tỉnh Hà Tĩnh\n  unit_code: SKHCN\n  place: Hà Tĩnh\n")
    out = tmp_path / "out"
    proc = run(
        "audit",
        "--site",
        "HT-XA-AB",
        "--config",
        str(config),
        "--format",
        "json,pdf",
        "--out",
        str(out),
        "--auditor",
        "Lê Văn Cường",
        "--lang",
        "vi",
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "canhgac-audit.json").read_text(encoding="utf-8"))
    text = pdf_text(out / "canhgac-audit.pdf")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "UBND TỈNH HÀ TĨNH" in text  # from server.yaml
    assert "Số: …/BC-SKHCN" in text
    assert date_line_vi(report, "Hà Tĩnh") in text
    assert "Lê Văn Cường" in text  # from the command line
    assert "Xã An Bình (HT-XA-AB)" in text
    assert "đã xác định của hệ thống: 3" in text  # the site's declared level
    assert loose("PC-KETOAN-03") in loose(text)
    assert "TCVN 14423:2026 5.6.2.3" in text
    assert not re.search(r"(?<![\w.])x\.\d+\.\d", text)
    assert len(rendered_pages(out / "canhgac-audit.pdf", tmp_path / "png")) >= 2
    bad = run("audit", "--site", "HT-XA-AB", "--config", str(config), "--out", str(tmp_path), "--lang=fr")
    assert bad.returncode == 2
    assert "--lang 'fr'" in bad.stderr
