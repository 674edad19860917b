"""A scan's JSON report document, and its files: JSON, CSV, HTML (Jinja2) and PDF (WeasyPrint, from the HTML).

One report shape and one JSON encoding for every scan, offline (`canhgac audit --offline`) or from the
server's store: `report_document` assembles the sections, `report_bytes` is the JSON file's exact bytes
(what a stored scan's `report_sha256` hashes). Every file written is listed with its SHA-256 in
`DIR/SHA256SUMS` (sha256sum format, `write_sha256sums`), so an inspector can verify the report they are
handed.

The HTML (and the PDF made from it) is an administrative document built from the JSON report alone
(`canhgac_rules.report_view`): the issuer's header and signers come from `ReportSettings`
(`canhgac_rules.report_settings`), the edition from `lang` ("vi", default, or "en").
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from canhgac_rules.report_settings import LANGUAGES, ReportSettings
from canhgac_rules.report_view import evidence_text

if TYPE_CHECKING:
    from canhgac_rules.engine import ScanResult

__all__ = ["LANGUAGES", "ReportSettings", "evidence_text"]  # re-exported: callers import them from here

FORMATS = ("html", "json", "csv", "pdf")
CSV_COLUMNS = (
    "rule_id",
    "title_vi",
    "title_en",
    "severity",
    "requirements",
    "levels",
    "target",
    "hostname",
    "platform",
    "result",
    "message",
    "evidence",
    "remediation_vi",
    "remediation_en",
    "commands",
)


def parse_formats(text: str) -> list[str]:
    """`html,json,csv,pdf` → the list; ValueError naming an unknown format."""
    formats = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"unknown report format(s) {unknown or text!r}; choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def tool_version() -> str:
    """The installed `canhgac` distribution's version (the reports' `scan.tool_version`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("canhgac")
    except PackageNotFoundError:
        return "0+unknown"


def finding_docs(result: ScanResult) -> list[dict[str, Any]]:
    """Each finding as the report lists it: the rule's fields, result, message, evidence, remediation,
    and the target's hostname and role."""
    docs: list[dict[str, Any]] = []
    for finding in result.findings:
        doc = finding.to_json()
        doc["hostname"] = finding.target.hostname
        doc["role"] = finding.target.role
        docs.append(doc)
    return docs


def report_document(
    scan: dict[str, Any],
    summary: dict[str, Any],
    findings: list[dict[str, Any]],
    manual_review: list[dict[str, Any]],
    diff: dict[str, Any] | None,
) -> dict[str, Any]:
    """The JSON report of one scan: `scan` (metadata: offline folders or the server's site and scan id),
    `summary` (scores), `findings`, `manual_review` and `diff` (None without a previous scan)."""
    return {
        "scan": scan,
        "summary": summary,
        "findings": findings,
        "manual_review": manual_review,
        "diff": diff,
    }


def report_bytes(report: dict[str, Any]) -> bytes:
    """The JSON report file's bytes (UTF-8, 2-space indent), offline and on the server: what a stored
    scan's `report_sha256` hashes. orjson: the stdlib's indenting encoder took ~45 % of a 25k-finding
    scan."""
    return orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_bytes(report_bytes(report))


def write_csv(report: dict[str, Any], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # BOM: Excel opens Vietnamese right
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for f in report["findings"]:
            writer.writerow(
                [
                    f["rule_id"],
                    f["title"]["vi"],
                    f["title"]["en"],
                    f["severity"],
                    " ".join(f["requirements"]),
                    " ".join(map(str, f["levels"])),
                    f["target"],
                    f.get("hostname") or "",
                    f.get("platform") or "",
                    f["result"],
                    f["message"],
                    evidence_text(f["evidence"]),
                    f["remediation"]["vi"],
                    f["remediation"]["en"],
                    "\n".join(f["remediation"]["commands"]),
                ]
            )


def render_html(report: dict[str, Any], settings: ReportSettings | None = None, lang: str = "vi") -> str:
    """The HTML report: the Vietnamese administrative document (English beside headings), or its
    English edition (`lang="en"`); `settings` name the issuer, place and signers."""
    import jinja2

    from canhgac_rules.report_view import ReportView, score_text

    view = ReportView(report, settings, lang)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("canhgac_rules", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    groups = view.target_groups()  # numbers the evidence appendix
    return template.render(
        v=view,
        report=report,
        scan=report["scan"],
        s=view.settings,
        t=view.t,
        en=view.en,
        groups=groups,
        v_score=lambda score: score_text(score, lang),
    )


def write_pdf(html: str, path: Path) -> None:
    """HTML → PDF through WeasyPrint (DejaVu fonts carry the Vietnamese glyphs)."""
    import logging

    from weasyprint import HTML  # type: ignore[import-untyped]

    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    HTML(string=html).write_pdf(str(path))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_reports(
    report: dict[str, Any],
    out_dir: Path,
    formats: list[str],
    stem: str = "canhgac-audit",
    *,
    settings: ReportSettings | None = None,
    lang: str = "vi",
) -> list[Path]:
    """Write the requested formats and `SHA256SUMS`; returns the report files (SHA256SUMS last). The
    HTML/PDF edition is `lang`'s, headed by `settings`; JSON and CSV do not depend on either."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    html: str | None = None
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "json":
            write_json(report, path)
        elif fmt == "csv":
            write_csv(report, path)
        elif fmt in ("html", "pdf"):
            html = html if html is not None else render_html(report, settings, lang)
            if fmt == "html":
                path.write_text(html, encoding="utf-8")
            else:
                write_pdf(html, path)
        written.append(path)
    return [*written, write_sha256sums(written, out_dir)]


def write_sha256sums(files: Sequence[Path], out_dir: Path) -> Path:
    """`out_dir/SHA256SUMS` listing `files` in order (sha256sum format: hash, two spaces, file name)."""
    sums = out_dir / "SHA256SUMS"
    sums.write_text("".join(f"{sha256_file(p)}  {p.name}\n" for p in files), encoding="utf-8")
    return sums
