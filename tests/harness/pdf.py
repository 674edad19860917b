"""Reading a rendered PDF report back the way a reader sees it: its text (poppler's pdftotext) and its
pages as images (pdftoppm). poppler-utils comes from scripts/install-system-deps."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found: scripts/install-system-deps installs poppler-utils")
    return path


def pdf_text(pdf: Path) -> str:
    """The PDF's text in drawing order (`-raw`: a table cell's lines stay together), runs of whitespace
    made one space (lines wrap anywhere)."""
    out = subprocess.run(
        [poppler("pdftotext"), "-raw", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return re.sub(r"\s+", " ", out.stdout.decode("utf-8"))


def loose(text: str) -> str:
    """Without spaces and hyphens: pdftotext drops the hyphen of a word broken at a line end."""
    return re.sub(r"[\s\-]+", "", text)


def rendered_pages(pdf: Path, out: Path) -> list[Path]:
    out.mkdir(exist_ok=True)
    subprocess.run(
        [poppler("pdftoppm"), "-r", "30", "-png", str(pdf), str(out / "page")], check=True, timeout=300
    )
    return sorted(out.glob("page-*.png"))


def date_line_vi(report: dict[str, Any], place: str) -> str:
    """The administrative form's date line: day < 10 and months 1–2 with a leading zero."""
    local = dt.datetime.fromisoformat(report["scan"]["finished"]).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    month = f"{local.month:02d}" if local.month <= 2 else str(local.month)
    return f"{place}, ngày {local.day:02d} tháng {month} năm {local.year}"
