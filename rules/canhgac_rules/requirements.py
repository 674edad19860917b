"""The legal requirement table (NW-xx network, HS-xx host rows) embedded as package data.

`requirements.yaml` is derived from the requirement table of docs/reference/compliance-requirements.md
(section 3) by `parse_reference_table`; tests/rules/test_packs.py re-derives it from that file, so the
two cannot drift. Rules must reference ids that exist here. The table's titles are English; each row's
Vietnamese title comes from `requirements_vi.yaml` beside it (written by hand, one per row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

CHECK_KINDS = ("AG", "SNMP", "CFG", "SCAN", "DOC", "COLLECTOR")
_ROW = re.compile(r"^\|\s*((?:NW|HS)-\d{2})\s*\|(.*)\|\s*$")
_LEVELS = re.compile(r"^\s*(\d)(?:\s*[–-]\s*(\d))?")


@dataclass(frozen=True)
class Requirement:
    """One row: id, one-line requirement, levels that require it, clause refs, how a machine checks it."""

    id: str
    title: str
    levels: tuple[int, ...]
    refs: str
    check: str
    kinds: tuple[str, ...]  # subset of CHECK_KINDS named in the Check column
    title_vi: str = ""  # from requirements_vi.yaml

    @property
    def machine_checkable_here(self) -> bool:
        """AG or CFG rows: what the host and device packs must cover."""
        return "AG" in self.kinds or "CFG" in self.kinds


def parse_levels(text: str) -> tuple[int, ...]:
    """`1–5`, `2–5`, `2`, `3–5 (product L4–5)` → the leading range."""
    match = _LEVELS.match(text)
    if match is None:
        raise ValueError(f"levels not understood: {text!r}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    return tuple(range(low, high + 1))


def parse_reference_table(markdown: str) -> list[dict[str, Any]]:
    """Rows of the requirement tables (section 3 of the reference document) as plain dicts (the YAML's
    shape)."""
    rows: list[dict[str, Any]] = []
    for line in markdown.splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        cells = [cell.strip() for cell in match.group(2).split("|")]
        title, levels, refs, check = cells[0], cells[1], cells[2], cells[3]
        kinds = [kind for kind in CHECK_KINDS[:5] if re.search(rf"\b{kind}\b", check)]
        if match.group(1).startswith("HS-") and "CFG" in kinds:
            kinds.remove("CFG")  # in host rows "CFG" is Windows Control Flow Guard, not a switch config
        if "Collector" in check:
            kinds.append("COLLECTOR")  # the server's own log/flow collector proves it
        if not kinds:
            kinds = ["DOC"]
        rows.append(
            {
                "id": match.group(1),
                "title": title,
                "levels": list(parse_levels(levels)),
                "refs": refs,
                "check": check,
                "kinds": kinds,
            }
        )
    return rows


@cache
def vietnamese_titles() -> dict[str, str]:
    """Requirement id → Vietnamese title (`requirements_vi.yaml`)."""
    text = resources.files("canhgac_rules").joinpath("requirements_vi.yaml").read_text(encoding="utf-8")
    titles = yaml.safe_load(text)["titles"]
    return {str(key): str(value) for key, value in titles.items()}


@cache
def load_requirements() -> dict[str, Requirement]:
    """The embedded table, by id, with the Vietnamese titles."""
    text = resources.files("canhgac_rules").joinpath("requirements.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    vi = vietnamese_titles()
    table: dict[str, Requirement] = {}
    for row in data["requirements"]:
        table[row["id"]] = Requirement(
            id=row["id"],
            title=row["title"],
            levels=tuple(row["levels"]),
            refs=row["refs"],
            check=row["check"],
            kinds=tuple(row["kinds"]),
            title_vi=vi.get(row["id"], ""),
        )
    return table
