"""The audit report as a document an inspector is handed: a real offline audit of every fixture rendered
to HTML and PDF, its pages rasterised (pdftoppm) and its text read back (pdftotext): the administrative
header, the local date line, clause numbers resolved for the level, Vietnamese requirement titles,
hostnames beside their files, passes described in words, the signature block; and the English edition
from the same data."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from canhgac_rules.audit import run_offline_audit
from canhgac_rules.report import ReportSettings, write_reports
from canhgac_rules.requirements import load_requirements
from canhgac_rules.validate import load_default_packs
from tests.harness.pdf import date_line_vi, loose, pdf_text, rendered_pages

FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
SETTINGS = ReportSettings(
    agency="UBND tỉnh Hà Tĩnh",
    unit="Sở Khoa học và Công nghệ",
    unit_code="SKHCN",
    place="Hà Tĩnh",
    auditor="Nguyễn Văn An",
    unit_head="Trần Thị Bình",
)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every fixture config and host file audited offline at level 3; Vietnamese HTML, PDF and JSON."""
    _result, report = run_offline_audit(
        load_default_packs(),
        level=3,
        configs_dir=FIXTURES / "configs",
        facts_dir=FIXTURES / "hosts",
        site_name="UBND xã An Bình",
        now=NOW,
    )
    out = tmp_path_factory.mktemp("report-vi")
    write_reports(report, out, ["html", "pdf", "json"], settings=SETTINGS)
    return {"report": report, "out": out, "text": pdf_text(out / "canhgac-audit.pdf")}


def test_every_page_is_rendered_and_carries_ink(audit: dict[str, Any], tmp_path: Path) -> None:
    pages = rendered_pages(audit["out"] / "canhgac-audit.pdf", tmp_path)
    assert len(pages) >= 3
    assert f"Trang {len(pages)} / {len(pages)}" in audit["text"]  # the footer counts the same pages
    for page in pages:
        with Image.open(page) as image:
            gray = image.convert("L")
            body = gray.crop((0, 0, gray.width, int(gray.height * 0.9)))  # above the page-number footer
            dark = sum(body.histogram()[:128])
        assert dark > 20, f"{page.name} has nothing but its footer"


def test_header_is_the_administrative_form(audit: dict[str, Any]) -> None:
    text = audit["text"]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "UBND TỈNH HÀ TĨNH" in text  # cơ quan chủ quản, in capitals
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ" in text
    assert "Số: …/BC-SKHCN" in text
    assert date_line_vi(audit["report"], "Hà Tĩnh") in text
    assert "BÁO CÁO" in text
    assert "Cấp độ được kiểm tra / Level audited: Cấp độ 3" in text
    # method: tool and version, each pack with its version
    assert f"canhgac {audit['report']['scan']['tool_version']}" in text
    for pack in audit["report"]["scan"]["packs"]:
        assert f"{pack['id']} {pack['version']}" in text
    page = (audit["out"] / "canhgac-audit.html").read_text(encoding="utf-8")
    assert 'class="motto"' in page  # the tiêu ngữ is underlined (CSS border under it)


def test_clauses_are_resolved_for_the_level(audit: dict[str, Any]) -> None:
    text = audit["text"]
    assert not re.search(r"TCVN 1\d{4}:\d{4} [^;]*\bx\.\d", text), "an x. placeholder is left"
    assert not re.search(r"(?<![\w.])x\.\d+\.\d", text)
    # level 3: TCVN 14423 section 5, TCVN 11930 section 7
    assert "TCVN 14423:2026 5.6.2.3" in text  # x.6.2.3 (default accounts)
    assert "TCVN 11930:2017 7.2.2.1" in text  # x.2.2.1
    assert "TCVN 11930:2017 7.2.1.7" in text  # 5.2.1.5/6.2.1.6/x.2.1.7: the level-3 variant
    clauses = audit["report"]["summary"]["clause"]
    assert clauses
    assert not any(" x." in key for key in clauses)


def test_requirements_carry_their_vietnamese_titles(audit: dict[str, Any]) -> None:
    text = loose(audit["text"])
    table = load_requirements()
    for req_id in audit["report"]["summary"]["requirement"]:
        assert loose(f"{req_id} – {table[req_id].title_vi}") in text, req_id
    for item in audit["report"]["manual_review"]:  # manual items: Vietnamese with English beside
        assert loose(f"{item['requirement']} – {item['title_vi']}") in text
        assert loose(item["title"]) in text


def test_targets_are_named_by_hostname_with_their_file(audit: dict[str, Any]) -> None:
    text = audit["text"]
    named = {(f["hostname"], f["source"]) for f in audit["report"]["findings"] if f.get("hostname")}
    assert ("XA-DONG-HOA-SW", "hp_comware/commune-bad.cfg") in named  # the config's own hostname
    assert ("PC-KETOAN-03", "windows-bad.json") in named  # the hostname inside the facts
    for hostname, source in named:
        if hostname != source:
            assert loose(f"{hostname} (tệp: {source})") in loose(text), hostname


def test_summary_passes_in_words_and_signatures(audit: dict[str, Any]) -> None:
    text = audit["text"]
    report = audit["report"]
    score = report["summary"]["overall"]["score"]
    assert f"{score * 100:.1f}%".replace(".", ",") in text
    assert "Mười phát hiện không đạt nghiêm trọng nhất" in text
    fails = [f for f in report["findings"] if f["result"] == "fail"]
    worst = min(fails, key=lambda f: ["critical", "high", "medium", "low"].index(f["severity"]))
    assert worst["severity"] == "critical"
    top = text.split("Mười phát hiện không đạt nghiêm trọng nhất", 1)[1]
    assert top.index(worst["title"]["vi"][:30]) < top.index("Điểm theo yêu cầu")
    assert loose(worst["remediation"]["vi"]) in loose(top.split("Điểm theo yêu cầu", 1)[0])
    # a pass in words: what holds, and the value seen
    assert "Tường lửa Windows bật trên mọi hồ sơ (firewall.enabled = true)" in text
    assert "NGƯỜI KIỂM TRA" in text
    assert "THỦ TRƯỞNG ĐƠN VỊ" in text
    assert "Nguyễn Văn An" in text
    assert "Trần Thị Bình" in text
    assert "PHỤ LỤC: BẰNG CHỨNG" in text
    assert "management.telnet_enabled = true" in text  # a failure's evidence in the appendix


def test_english_edition_from_the_same_data(tmp_path: Path) -> None:
    _result, report = run_offline_audit(
        load_default_packs(), level=2, configs_dir=FIXTURES / "configs" / "cisco_ios", facts_dir=None, now=NOW
    )
    files = write_reports(report, tmp_path, ["pdf"], settings=SETTINGS, lang="en")
    text = pdf_text(files[0])
    assert "SOCIALIST REPUBLIC OF VIET NAM" in text
    assert "Independence - Freedom - Happiness" in text
    local = dt.datetime.fromisoformat(report["scan"]["finished"]).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert f"Hà Tĩnh, {local.day} {local:%B} {local.year}" in text
    assert "TCVN 14423:2026 4.6.2.3" in text  # level 2: section 4
    assert not re.search(r"(?<![\w.])x\.\d+\.\d", text)
    assert loose("NW-10 – Change or disable vendor-default accounts and passwords") in loose(text)
    assert "AUDITOR" in text
    assert "HEAD OF UNIT" in text
    assert "Không đạt" not in text
    assert "CỘNG HÒA" not in text
    assert len(rendered_pages(files[0], tmp_path / "png")) >= 2
