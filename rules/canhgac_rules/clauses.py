"""Clause references resolved for the scanned level: the one place `x.` placeholders become numbers.

Both standards number their technical requirements by level, one section per level:

- TCVN 11930:2017: sections 5, 6, 7, 8, 9 hold levels 1–5 (section = level + 4), so at level 3
  `x.2.2.1` is 7.2.2.1;
- TCVN 14423:2026: sections 3, 4, 5, 6, 7 hold levels 1–5 (section = level + 2; the requirement table
  of docs/reference/compliance-requirements.md writes "x/y = 3..7 for L1..L5", and its rows agree:
  NW-02 "4.12.2.2 b" starts at level 2, NW-03 "5.12.2.2 b" at level 3), so at level 3 `x.5.2.1 b`
  is 5.5.2.1 b.

A reference may name several clauses (`x.5.2.1 b; 5.13.2.2`, `5.2.1.3, x.2.1.4`): each resolves on
its own; a fixed-number clause is cited as written when its level is at or below the scanned one and
left out above it (not required yet). Per-level variants of one clause are written with `/`
(`5.2.1.5/6.2.1.6/x.2.1.7`): the variant of the scanned level's section wins, else the `x.` variant,
else the highest section below it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Reference field → (citation label, section number of level 1 minus 1).
STANDARDS: dict[str, tuple[str, int]] = {
    "tcvn_14423": ("TCVN 14423:2026", 2),
    "tcvn_11930": ("TCVN 11930:2017", 4),
}
_CLAUSE = re.compile(r"^(x|\d+)\.(\S.*)$")
_PARTS = re.compile(r"\s*[;,]\s*")
_VARIANTS = re.compile(r"/(?=(?:x|\d+)\.)")  # `b/d` (two points of one clause) is not split
_LEAD = re.compile(r"^(.*?\s)??((?:x|\d+)\.\S.*)$")  # "device protection 5.2.1.5/…": words, then clauses


def level_section(standard: str, level: int) -> int:
    """The section of `standard` ("tcvn_14423" | "tcvn_11930") that holds `level`'s requirements."""
    if not 1 <= level <= 5:
        raise ValueError(f"level must be 1-5, got {level}")
    return level + STANDARDS[standard][1]


def _pick(variants: list[str], section: int) -> str | None:
    """The variant that applies at `section`, resolved; None when every variant starts above it."""
    fixed: list[tuple[int, str]] = []
    placeholder: str | None = None
    for variant in variants:
        match = _CLAUSE.match(variant.strip())
        if match is None:
            return variant.strip()  # not a clause number (free text): cited as written
        head, rest = match.groups()
        if head == "x":
            placeholder = placeholder or f"{section}.{rest}"
        else:
            fixed.append((int(head), variant.strip()))
    exact = [text for number, text in fixed if number == section]
    if exact:
        return exact[0]
    if placeholder is not None:
        return placeholder
    below = [(number, text) for number, text in fixed if number < section]
    return max(below)[1] if below else None


def resolve_clauses(standard: str, text: str, level: int) -> list[str]:
    """The clauses a reference names at `level`, numbers resolved, in order, without repeats."""
    section = level_section(standard, level)
    parts = [part for part in _PARTS.split(text.strip()) if part]
    kept: list[str] = []
    for part in parts:
        lead = _LEAD.match(part)
        words, numbers = (lead.group(1) or "", lead.group(2)) if lead else ("", part)
        clause = _pick(_VARIANTS.split(numbers), section)
        if clause is not None:
            kept.append(words + clause)
    if not kept:  # nothing required at this level: cite what the rule names rather than nothing
        kept = [re.sub(r"^x\.", f"{section}.", part) for part in parts]
    return list(dict.fromkeys(kept))


def resolve_reference(standard: str, text: str, level: int) -> str:
    """`resolve_clauses` joined for display: "x.5.2.1 b; 5.13.2.2" at level 4 → "6.5.2.1 b; 5.13.2.2"."""
    return "; ".join(resolve_clauses(standard, text, level))


def clause_keys(references: Mapping[str, object], level: int) -> list[str]:
    """Score keys of a rule's references at `level`: "TCVN 14423:2026 5.5.2.1 b", one per clause
    (14423 first, as the current standard)."""
    keys: list[str] = []
    for standard, (label, _offset) in STANDARDS.items():
        text = references.get(standard)
        if isinstance(text, str) and text.strip():
            keys.extend(f"{label} {clause}" for clause in resolve_clauses(standard, text, level))
    return keys


def resolve_clause_key(key: str, level: int) -> list[str]:
    """A score key as stored (possibly from an older scan, "TCVN 11930:2017 x.2.2.1") resolved at
    `level`; a key of no known standard is returned unchanged."""
    for standard, (label, _offset) in STANDARDS.items():
        if key.startswith(label + " "):
            return clause_keys({standard: key[len(label) + 1 :]}, level)
    return [key]


_TABLE_SEGMENT = re.compile(r"^(14423|11930)\s+(.+?)(\s*\([^)]*\))?$")
_TABLE_STANDARD = {"14423": "tcvn_14423", "11930": "tcvn_11930"}


def resolve_table_refs(refs: str, level: int) -> str:
    """A requirement row's Refs cell ("TT12 I–V §II.1.a; 14423 x.12.2.1 b") at `level`, the standards
    named in full: "TT12 I–V §II.1.a; TCVN 14423:2026 5.12.2.1 b". Other segments stay as written."""
    out: list[str] = []
    for segment in (s.strip() for s in refs.split(";")):
        match = _TABLE_SEGMENT.match(segment)
        if match is None:
            if segment:
                out.append(segment)
            continue
        standard = _TABLE_STANDARD[match.group(1)]
        label = STANDARDS[standard][0]
        note = match.group(3) or ""
        out.append(f"{label} {resolve_reference(standard, match.group(2), level)}{note}")
    return "; ".join(out)
