"""`canhgac audit --offline` on a real-life configs folder: the three newer vendors, a config saved as
.txt, an unknown vendor, an unreadable file, and the notes, README and archive people leave beside them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from canhgac_rules.audit import not_a_config

FIXTURES = Path(__file__).parent / "fixtures" / "configs"
CANHGAC = [sys.executable, "-m", "canhgac_collector.cli"]


def test_offline_audit_of_a_mixed_folder(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    shutil.copy(FIXTURES / "tplink_jetstream" / "commune-bad.cfg", configs / "xa-an-binh-tplink.cfg")
    shutil.copy(FIXTURES / "mikrotik_routeros" / "commune-bad.rsc", configs / "xa-an-binh-mikrotik.rsc")
    shutil.copy(FIXTURES / "ruijie_rgos" / "commune-bad.cfg", configs / "xa-an-binh-ruijie.cfg")
    shutil.copy(FIXTURES / "ruijie_rgos" / "huyen-asw-good.cfg", configs / "huyen-asw02.txt")  # a config
    (configs / "notes.txt").write_text(
        "Ghi chu: doi mat khau switch tang 2 truoc thang 12.\nHoi anh Tuan ve cong 24.\n", encoding="utf-8"
    )
    (configs / "README.md").write_text(
        "# Cau hinh thiet bi xa An Binh\n\nLuu ngay 20/11.\n", encoding="utf-8"
    )
    with zipfile.ZipFile(configs / "backup-2025.zip", "w") as archive:
        archive.writestr("old.cfg", (FIXTURES / "cisco_ios" / "commune-bad.cfg").read_text())
    (configs / "fortigate.conf").write_text(
        "config system global\n    set hostname FG-XA\n    set admintimeout 5\nend\n", encoding="utf-8"
    )
    os.symlink(configs / "gone.cfg", configs / "sw-kho.cfg")  # its target was moved away: unreadable
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        [
            *CANHGAC,
            *("audit", "--offline", "--configs", str(configs), "--level", "3"),
            *("--format", "json,html", "--out", str(out), "--now", "2026-11-30T00:00:00+00:00"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads((out / "canhgac-audit.json").read_text(encoding="utf-8"))
    findings = report["findings"]
    by_target: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        by_target.setdefault(finding["target"], []).append(finding)

    # notes, README and the archive are skipped with a reason, in the report and on the terminal
    skipped = {item["file"]: item["reason"] for item in report["scan"]["skipped"]}
    assert set(skipped) == {"notes.txt", "README.md", "backup-2025.zip"}
    assert "archive" in skipped["backup-2025.zip"]
    assert "notes or document" in skipped["notes.txt"]
    for name in skipped:
        assert f"skipped {name}" in proc.stdout
        assert name not in by_target
    page = (out / "canhgac-audit.html").read_text(encoding="utf-8")
    assert page.count("bỏ qua tệp không phải cấu hình") == 3
    assert "backup-2025.zip" in page

    assert set(by_target) == {
        "xa-an-binh-tplink.cfg",
        "xa-an-binh-mikrotik.rsc",
        "xa-an-binh-ruijie.cfg",
        "huyen-asw02.txt",
        "fortigate.conf",
        "sw-kho.cfg",
    }
    # an unreadable file and an unknown vendor: one error each, `file:line: reason`, rules listed
    for name, words in (("sw-kho.cfg", "cannot read"), ("fortigate.conf", "unknown vendor")):
        (only,) = by_target[name]
        assert only["result"] == "error"
        assert f"{name}:1: " in only["message"]
        assert words in only["message"]
        not_evaluated = next(e["value"] for e in only["evidence"] if e["path"] == "rules_not_evaluated")
        assert "DEV-MGMT-NO-TELNET" in not_evaluated
        assert "DEV-MGMT-NO-TELNET" in only["message"]
        assert len(not_evaluated) >= 30
    assert report["scan"]["scope"]["targets_with_errors"] == 2

    # the three vendors and the .txt config are judged, with the defaults their configs leave unsaid
    platforms = {name: {f["platform"] for f in fs} for name, fs in by_target.items()}
    assert platforms["xa-an-binh-tplink.cfg"] == {"tplink_jetstream"}
    assert platforms["xa-an-binh-mikrotik.rsc"] == {"mikrotik_routeros"}
    assert platforms["xa-an-binh-ruijie.cfg"] == platforms["huyen-asw02.txt"] == {"ruijie_rgos"}
    results = {(f["target"], f["rule_id"]): f["result"] for f in findings}
    for name in ("xa-an-binh-tplink.cfg", "xa-an-binh-mikrotik.rsc", "xa-an-binh-ruijie.cfg"):
        assert results[(name, "DEV-MGMT-NO-TELNET")] == "fail"  # Telnet on by default on all three
        assert {f["result"] for f in by_target[name]} <= {"pass", "fail", "not_applicable"}
    assert results[("huyen-asw02.txt", "DEV-MGMT-NO-TELNET")] == "pass"

    # NW-31 needs the server's config history: no finding offline, listed for manual review instead
    assert not any(f["rule_id"] == "DEV-CONFIG-CHANGE-APPROVED" for f in findings)
    manual = {item["requirement"]: item for item in report["manual_review"]}
    assert any("config history" in reason for reason in manual["NW-31"]["reasons"])


def test_what_counts_as_plainly_not_a_config() -> None:
    config = (FIXTURES / "tplink_jetstream" / "commune-bad.cfg").read_bytes()
    assert not_a_config(Path("sw.txt"), config, "tplink_jetstream") is None  # a config saved as .txt
    assert not_a_config(Path("sw.txt"), b"hostname x\n", None) is not None  # prose or unknown: skipped
    assert not_a_config(Path("sw.txt"), b"hostname x\n", None, forced=True) is None  # --platform: judge it
    assert not_a_config(Path("NOTES"), b"doi mat khau\n", None, forced=True) is not None
    assert not_a_config(Path("sw.cfg"), b"set system host-name x\n", None) is None  # unknown vendor: error
    assert "archive" in str(not_a_config(Path("sw.cfg"), b"\x1f\x8b\x08\x00rest", "cisco_ios"))
    assert "binary" in str(not_a_config(Path("dump"), b"abc\x00def", None))
