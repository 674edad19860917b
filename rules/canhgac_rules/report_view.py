"""What the HTML/PDF audit report shows, computed from the JSON report: the document an auditor hands
to an inspector (Vietnamese administrative form, or its English edition).

Everything here is derived from the JSON report (plus the issuer's `ReportSettings`), so an offline
audit and a server scan with the same findings read the same. Clause numbers are resolved for the
scanned level (`canhgac_rules.clauses`); requirement ids always carry their title in the edition's
language; targets are named by hostname with their file beside.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from canhgac_rules.clauses import STANDARDS, resolve_clause_key, resolve_reference, resolve_table_refs
from canhgac_rules.report_settings import ReportSettings
from canhgac_rules.report_text import english_beside, texts
from canhgac_rules.requirements import load_requirements

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # dates on the document are the province's local time
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
TOP_FAILURES = 10
EVIDENCE_ITEMS = 6  # per finding in the appendix; the JSON report has all
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_COUNT_KEYS = ("pass", "fail", "error", "not_applicable")


def local_time(iso: str) -> dt.datetime:
    """An ISO timestamp of the report in Asia/Ho_Chi_Minh (a naive one is taken as UTC)."""
    when = dt.datetime.fromisoformat(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(LOCAL_TZ)


def date_line(day: dt.date, place: str | None, lang: str) -> str:
    """ "Hà Tĩnh, ngày 07 tháng 12 năm 2026". As the administrative form asks, a day below 10 and the
    months 1 and 2 are written with a leading 0 ("ngày 05 tháng 02", "ngày 15 tháng 3")."""
    where = place or "…"
    if lang == "en":
        return f"{where}, {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{where}, ngày {day.day:02d} tháng {month} năm {day.year}"


def score_text(score: float | None, lang: str) -> str:
    """0.875 → "87,5%" (Vietnamese decimal comma) or "87.5%"; None → "—"."""
    if score is None:
        return "—"
    text = f"{score * 100:.1f}%"
    return text.replace(".", ",") if lang == "vi" else text


def level_span(levels: list[int]) -> str:
    """[2, 3, 4, 5] → "2–5"; a gap keeps the list ("1, 3")."""
    if levels and list(levels) == list(range(levels[0], levels[-1] + 1)) and len(levels) > 1:
        return f"{levels[0]}–{levels[-1]}"
    return ", ".join(map(str, levels))


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _side(text: str, lang: str) -> str:
    """A bilingual "vi / en" message in the English edition: its English half."""
    if lang == "en" and " / " in text:
        return text.split(" / ", 1)[1]
    return text


def _value_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def observed(evidence: list[dict[str, Any]], limit: int = 2) -> str:
    """The evidence in a few words: "firewall.enabled = true" or "L12: transport input ssh"."""
    parts: list[str] = []
    for item in evidence[:limit]:
        lines = item.get("lines") or []
        if lines:
            parts.append("; ".join(f"L{number}: {text.strip()}" for number, text in lines[:2]))
        else:
            parts.append(f"{item.get('path')} = {_value_text(item.get('value'))}")
    return "; ".join(parts)


class ReportView:
    """The report's sections for one edition (`lang` "vi" | "en")."""

    def __init__(self, report: dict[str, Any], settings: ReportSettings | None, lang: str) -> None:
        if lang not in ("vi", "en"):
            raise ValueError(f"report language must be vi or en, got {lang!r}")
        self.report = report
        self.scan: dict[str, Any] = report["scan"]
        self.settings = settings or ReportSettings()
        self.lang = lang
        self.t = texts(lang)
        self.en = english_beside(lang)
        self.level = int(self.scan["level"])
        self.table = load_requirements()
        self._appendix: list[dict[str, Any]] = []

    # Header ---------------------------------------------------------------------------------------

    def number_line(self) -> str:
        s = self.settings
        return f"{self.t['number']}: {s.number or '…'}/BC-{s.unit_code or '…'}"

    def issued(self) -> dt.datetime:
        return local_time(self.scan["finished"])

    def date_line(self) -> str:
        return date_line(self.issued().date(), self.settings.place, self.lang)

    def system_name(self) -> str:
        site = self.scan.get("site")
        if isinstance(site, dict):
            return f"{site.get('name')} ({site.get('code')})"
        return str(self.scan.get("site_name") or "…")

    def declared_level(self) -> int | None:
        site = self.scan.get("site")
        return site.get("declared_level") if isinstance(site, dict) else None

    def period(self) -> str:
        start, end = local_time(self.scan["started"]), local_time(self.scan["finished"])
        return f"{start:%H:%M:%S %d/%m/%Y} – {end:%H:%M:%S %d/%m/%Y} (UTC+7)"

    # Requirements and clauses ---------------------------------------------------------------------

    def requirement_title(self, req_id: str) -> str:
        row = self.table.get(req_id)
        if row is None:
            return req_id
        return row.title_vi if self.lang == "vi" and row.title_vi else row.title

    def requirement_label(self, req_id: str) -> str:
        return f"{req_id} – {self.requirement_title(req_id)}"

    def clauses_of(self, references: dict[str, Any]) -> str:
        parts = [
            f"{label} {resolve_reference(standard, references[standard], self.level)}"
            for standard, (label, _offset) in STANDARDS.items()
            if references.get(standard)
        ]
        if references.get("circular_12"):
            parts.append(f"TT12 {references['circular_12']}")
        return "; ".join(parts)

    def clause_rows(self) -> list[dict[str, Any]]:
        """Per-clause counts by resolved number (keys of an older scan resolved here too, merged)."""
        merged: dict[str, dict[str, int]] = {}
        for key, counts in self.report["summary"].get("clause", {}).items():
            for clause in resolve_clause_key(key, self.level):
                row = merged.setdefault(clause, dict.fromkeys(_COUNT_KEYS, 0))
                for name in _COUNT_KEYS:
                    row[name] += int(counts.get(name, 0))
        ordered = sorted(merged.items(), key=lambda item: _natural(item[0]))
        return [self._row(key, counts) for key, counts in ordered]

    def requirement_rows(self) -> list[dict[str, Any]]:
        rows = self.report["summary"].get("requirement", {})
        return [self._row(self.requirement_label(key), counts) for key, counts in sorted(rows.items())]

    def _row(self, label: str, counts: dict[str, Any]) -> dict[str, Any]:
        judged = counts["pass"] + counts["fail"]
        score = round(counts["pass"] / judged, 4) if judged else None
        return {"label": label, **{k: counts[k] for k in _COUNT_KEYS}, "score": score_text(score, self.lang)}

    def machine_checked(self) -> list[str]:
        rows = self.report["summary"].get("requirement", {})
        return sorted(k for k, c in rows.items() if c["pass"] + c["fail"] + c["error"] > 0)

    # Findings -------------------------------------------------------------------------------------

    def severity(self, severity: str) -> str:
        return self.t.get(f"sev_{severity}", severity)

    def target_name(self, finding: dict[str, Any]) -> str:
        return str(finding.get("hostname") or finding["target"])

    def top_failures(self) -> list[dict[str, Any]]:
        """The most serious failing rules: severity, then the level the rule starts at, then how many
        targets fail it; each with its targets (by hostname) and the fix."""
        by_rule: dict[str, list[dict[str, Any]]] = {}
        for f in self.report["findings"]:
            if f["result"] == "fail":
                by_rule.setdefault(f["rule_id"], []).append(f)

        def seriousness(fs: list[dict[str, Any]]) -> tuple[int, int, int, str]:
            rule = fs[0]
            return (SEVERITY_RANK.get(rule["severity"], 9), min(rule["levels"]), -len(fs), rule["rule_id"])

        ranked = sorted(by_rule.values(), key=seriousness)
        return [self._failure(fs) for fs in ranked[:TOP_FAILURES]]

    def _failure(self, findings: list[dict[str, Any]]) -> dict[str, Any]:
        first = findings[0]
        names = sorted({self.target_name(f) for f in findings}, key=_natural)
        return {
            "rule_id": first["rule_id"],
            "title": first["title"][self.lang],
            "title_en": first["title"]["en"] if self.lang == "vi" else "",
            "severity": self.severity(first["severity"]),
            "requirements": [self.requirement_label(r) for r in first["requirements"]],
            "clauses": self.clauses_of(first["references"]),
            "count": len(findings),
            "targets": names,
            "fix": first["remediation"][self.lang],
        }

    def target_groups(self) -> list[dict[str, Any]]:
        """Findings per target: name (hostname), file, counts, failures in full (most serious first),
        errors once per cause (a target without usable data errs on every rule for one reason), passes
        in words; evidence numbered in this order."""
        groups: dict[str, dict[str, Any]] = {}
        kind_order = {"device": 0, "host": 1, "site": 2}
        for f in self.report["findings"]:
            group = groups.get(f["target"])
            if group is None:
                name = self.target_name(f)
                source = f.get("source") or (f["target"] if name != f["target"] else None)
                group = groups[f["target"]] = {
                    "name": name,
                    "file": source if source and source != name else None,
                    "kind": self.t.get(f.get("target_kind") or "", f.get("target_kind") or ""),
                    "order": (kind_order.get(f.get("target_kind") or "", 3), _natural(name)),
                    "counts": dict.fromkeys(_COUNT_KEYS, 0),
                    "fail": [],
                    "error": [],
                    "passed": [],
                    "not_applicable": [],
                }
            group["counts"][f["result"]] += 1
            if f["result"] in ("fail", "error"):
                group[f["result"]].append(f)
            elif f["result"] == "pass":
                group["passed"].append(self.passed_in_words(f))
            else:
                group["not_applicable"].append(f"{f['title'][self.lang]} ({_side(f['message'], self.lang)})")
        ordered = sorted(groups.values(), key=lambda g: g["order"])
        for group in ordered:
            judged = group["counts"]["pass"] + group["counts"]["fail"]
            score = round(group["counts"]["pass"] / judged, 4) if judged else None
            group["score"] = score_text(score, self.lang)
            fails = sorted(
                group.pop("fail"), key=lambda f: (SEVERITY_RANK.get(f["severity"], 9), f["rule_id"])
            )
            group["failed"] = [self._detail(f, group["name"]) for f in fails]
            causes: dict[str, list[dict[str, Any]]] = {}
            for f in group.pop("error"):
                causes.setdefault(f["message"], []).append(f)
            group["errors"] = [self._error(message, fs, group["name"]) for message, fs in causes.items()]
        return ordered

    def _error(self, message: str, findings: list[dict[str, Any]], name: str) -> dict[str, Any]:
        """Rules that could not judge a target for one cause: the cause once, the rules listed."""
        ref = self._cite(name, findings[0], findings[0].get("evidence") or [])
        return {
            "message": _side(message, self.lang),
            "rules": [f"{f['title'][self.lang]} ({f['rule_id']})" for f in findings],
            "requirements": sorted({r for f in findings for r in f["requirements"]}),
            "evidence_ref": ref,
        }

    def _cite(self, name: str, finding: dict[str, Any], evidence: list[dict[str, Any]]) -> str:
        ref = f"E{len(self._appendix) + 1}"
        self._appendix.append(
            {
                "ref": ref,
                "target": name,
                "rule_id": finding["rule_id"],
                "title": finding["title"][self.lang],
                "evidence": evidence,
            }
        )
        return ref

    def passed_in_words(self, finding: dict[str, Any]) -> str:
        """ "Tường lửa máy chủ được bật (firewall.enabled = true)": the rule's title says what holds, the
        evidence what was seen."""
        title = finding["title"][self.lang]
        seen = observed(finding.get("evidence") or [])
        return f"{title} ({seen})" if seen else title

    def _detail(self, f: dict[str, Any], name: str) -> dict[str, Any]:
        ref = self._cite(name, f, f.get("evidence") or [])
        return {
            "rule_id": f["rule_id"],
            "result": f["result"],
            "result_label": self.t[f["result"]],
            "rank": SEVERITY_RANK.get(f["severity"], 9),
            "title": f["title"][self.lang],
            "title_en": f["title"]["en"] if self.lang == "vi" else "",
            "severity": self.severity(f["severity"]),
            "requirements": [self.requirement_label(r) for r in f["requirements"]],
            "clauses": self.clauses_of(f["references"]),
            "message": _side(f["message"], self.lang),
            "evidence_ref": ref,
            "fix": f["remediation"][self.lang],
            "fix_en": f["remediation"]["en"] if self.lang == "vi" else "",
            "commands": f["remediation"].get("commands") or [],
        }

    def appendix(self) -> list[dict[str, Any]]:
        """Evidence of the failed and errored findings, numbered as `target_groups` cited them (call it
        after `target_groups`)."""
        return self._appendix

    # Manual review and conclusion -----------------------------------------------------------------

    def manual_items(self) -> list[dict[str, Any]]:
        items = []
        for m in self.report["manual_review"]:
            row = self.table.get(m["requirement"])
            title_vi = m.get("title_vi") or (row.title_vi if row else "")
            items.append(
                {
                    "requirement": m["requirement"],
                    "title": title_vi if self.lang == "vi" and title_vi else m["title"],
                    "title_en": m["title"] if self.lang == "vi" else "",
                    "levels": level_span(m["levels"]),
                    "refs": resolve_table_refs(m["refs"], self.level),
                    "reasons": [_side(r, self.lang) for r in m["reasons"]],
                    "machine_checked": m.get("machine_checked", False),
                }
            )
        return items

    def conclusion(self) -> str:
        o = self.report["summary"]["overall"]
        failing = {f["target"] for f in self.report["findings"] if f["result"] == "fail"}
        return self.t["conclusion"].format(
            level=self.level,
            score=score_text(o["score"], self.lang),
            passed=o["pass"],
            judged=o["pass"] + o["fail"],
            failed=o["fail"],
            targets=len(failing),
            errors=o["error"],
        )

    def evidence_lines(self, evidence: Iterable[dict[str, Any]]) -> str:
        return evidence_text(list(evidence), limit=EVIDENCE_ITEMS)


def evidence_text(evidence: list[dict[str, Any]], limit: int | None = None) -> str:
    """Evidence as plain lines: `path = value` and `  L<n>: <config line>`. When config lines back an
    item, they are shown instead of the item's normalized value (the lines are the evidence)."""
    out: list[str] = []
    shown_items = evidence if limit is None else evidence[:limit]
    for item in shown_items:
        value = item.get("value")
        lines = item.get("lines") or []
        if lines and isinstance(value, dict | list):
            out.append(f"{item.get('path')}:")
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            out.append(f"{item.get('path')} = {text[:200]}")
        out.extend(f"  L{number}: {text}" for number, text in lines[:12])
        if len(lines) > 12:
            out.append(f"  … {len(lines) - 12} dòng nữa / more lines")
    if limit is not None and len(evidence) > limit:
        out.append(f"… {len(evidence) - limit} mục nữa / more items (JSON report has all)")
    return "\n".join(out)
