"""Evaluate rules against targets at a level: findings with evidence, scores, diff, manual items.

Semantics:
- levels are cumulative: a scan at level N evaluates every rule whose `levels` include N (inputs
  resolved for N, checks compiled once per scan);
- results are pass | fail | not_applicable | error; error never counts as pass: a missing fact is
  "fact X not collected", a target without usable data ("no config available", a parse error
  `file:line: reason`) yields one error finding per applicable rule, or with `one_error_per_target`
  a single error finding naming the rules it left unevaluated;
- an `offline` scan leaves out rules whose check type needs server-side history (`offline_reason`)
  and lists their requirements for manual review with that reason;
- scores are pass / (pass + fail); error and n/a are excluded from the ratio but counted and shown;
- a rule whose check type reads results (`requirement_score`) runs after the target's other rules and
  sees their findings as the fact `rule_results`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from canhgac_rules.checks import CompiledCheck, Ctx, Outcome, Result, compile_predicate
from canhgac_rules.checks.ops import UNARY
from canhgac_rules.checks.registry import REGISTRY
from canhgac_rules.checks.score import RESULTS_KEY
from canhgac_rules.clauses import clause_keys
from canhgac_rules.facts import FactMissing, Getter, compile_getter, parse_path
from canhgac_rules.loader import LevelCompiler, LoadedPack, LoadedRule
from canhgac_rules.model import Applicability, Examples, References, Remediation, Rule, Text
from canhgac_rules.requirements import Requirement, load_requirements

NO_LINE = "không có dòng cấu hình tương ứng / no matching line"
LinesFor = Callable[[str], list[tuple[int, str]]]


@dataclass
class Target:
    """What a rule judges: a host (agent facts) or a device (parsed config facts).

    `error`: why the target has no usable facts (parse error, "no config available"); every applicable
    rule then yields an `error` finding carrying it.
    """

    name: str
    kind: Literal["host", "device", "site"]
    facts: dict[str, Any] | None
    platform: str | None = None
    role: str | None = None
    os: str | None = None
    source: str | None = None
    lines_for: LinesFor | None = None
    error: str | None = None
    error_line: tuple[int, str] | None = None
    hostname: str | None = None
    # When `platform` is unknown (an unparsable config), the packs that may apply: those sharing one of
    # these platforms (e.g. the config platforms, not the SNMP pack). None: every pack of the scope.
    candidate_platforms: tuple[str, ...] | None = None


@dataclass(slots=True)
class Finding:
    """One rule's result on one target, with the evidence that decided it."""

    rule: LoadedRule
    target: Target
    result: Result
    message: str
    evidence: list[dict[str, Any]]

    @property
    def rule_id(self) -> str:
        return self.rule.id

    def to_json(self) -> dict[str, Any]:
        rule = self.rule.rule
        commands = rule.remediation.commands_by_platform.get(
            self.target.platform or "", rule.remediation.commands
        )
        static = self.rule.static_json()
        return {
            "rule_id": rule.id,
            "pack": static["pack"],
            "title": static["title"],
            "severity": static["severity"],
            "requirements": static["requirements"],
            "levels": static["levels"],
            "references": static["references"],
            "target": self.target.name,
            "target_kind": self.target.kind,
            "source": self.target.source,
            "platform": self.target.platform,
            "result": self.result,
            "message": self.message,
            "evidence": self.evidence,
            "remediation": {"vi": rule.remediation.vi, "en": rule.remediation.en, "commands": commands},
        }


@dataclass(frozen=True)
class PreparedRule:
    """A rule ready for one scan level: compiled check and applicability conditions."""

    rule: LoadedRule
    check: CompiledCheck
    when: list[tuple[str, Callable[[Any, dt.datetime], bool], Getter]]
    reads_results: bool = False  # judged over the target's other findings, after them


def prepare_rule(rule: LoadedRule, level: int) -> PreparedRule:
    """Compile `rule`'s check and applicability conditions for `level`; CompileError names a mistake."""
    compiler = LevelCompiler(rule.rule.inputs, level)
    when = []
    for cond in rule.rule.applicability.when:
        predicate = compile_predicate(cond.op, cond.value, compiler)
        shown = "" if cond.op in UNARY else f" {compiler.value(cond.value)!r}"
        when.append((f"{cond.path} {cond.op}{shown}", predicate, compile_getter(parse_path(cond.path))))
    check_type = REGISTRY.get(str(rule.rule.check.get("type")))
    reads_results = bool(getattr(check_type, "reads_results", False))
    return PreparedRule(rule=rule, check=rule.compiled(level), when=when, reads_results=reads_results)


def rules_at_level(packs: Iterable[LoadedPack], level: int) -> list[LoadedRule]:
    """Rules required at `level` (cumulative: `level` in the rule's levels)."""
    return [rule for pack in packs for rule in pack.rules if level in rule.rule.levels]


def _applicability(prepared: PreparedRule, target: Target, now: dt.datetime) -> Outcome | None:
    """None when the rule applies; otherwise an n/a (or error, for a missing `when` fact) outcome."""
    rule = prepared.rule
    platforms = rule.rule.applicability.platforms or rule.pack.header.platforms
    if target.platform is not None and target.platform not in platforms:
        return Outcome("not_applicable", [], f"platform {target.platform} not in {platforms}")
    if rule.rule.applicability.os and (target.os or "") not in rule.rule.applicability.os:
        return Outcome("not_applicable", [], f"os {target.os} not in {rule.rule.applicability.os}")
    if target.error is not None or target.facts is None:
        reason = target.error or "không có dữ liệu / no facts available"
        evidence: list[dict[str, Any]] = [{"path": target.source or target.name, "value": reason}]
        if target.error_line is not None:
            evidence[0]["lines"] = [list(target.error_line)]
        return Outcome("error", evidence, reason)
    roles = rule.rule.applicability.roles
    if roles and target.role not in roles:
        if target.role is None:
            reason = f"vai trò thiết bị chưa rõ / device role unknown (rule applies to {roles}; set --roles)"
            return Outcome("not_applicable", [], reason)
        return Outcome("not_applicable", [], f"role {target.role} not in {roles}")
    for text, predicate, get in prepared.when:
        try:
            value = get(target.facts)
        except FactMissing as exc:
            return Outcome("error", [], f"fact {exc.path} not collected")
        if not predicate(value, now):
            return Outcome(
                "not_applicable", [{"path": text.split(" ")[0], "value": value}], f"applies when {text}"
            )
    return None


def evaluate(
    prepared: PreparedRule, target: Target, now: dt.datetime, results: list[dict[str, Any]] | None = None
) -> Finding:
    """One rule on one target; `results`: the target's earlier findings, for a rule that reads them."""
    outcome = _applicability(prepared, target, now)
    if outcome is None:
        assert target.facts is not None
        facts = target.facts
        if prepared.reads_results and results is not None:
            facts = {**facts, RESULTS_KEY: results}
        outcome = prepared.check(Ctx(facts, now))
        if target.lines_for is not None and outcome.evidence:
            _attach_lines(outcome, target.lines_for)
    return Finding(prepared.rule, target, outcome.result, outcome.message, outcome.evidence)


def _attach_lines(outcome: Outcome, lines_for: LinesFor) -> None:
    """Config lines behind each evidence path; "no matching line" when a fail has none."""
    any_line = False
    for item in outcome.evidence:
        path = str(item.get("path", ""))
        lines = lines_for(path) if path and not path.startswith("count(") else []
        item["lines"] = [[number, text] for number, text in lines]
        any_line = any_line or bool(lines)
    if outcome.result == "fail" and not any_line:
        outcome.evidence.append({"path": "config", "value": NO_LINE, "lines": []})


# Scans -------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    not_applicable: int = 0

    def add(self, result: Result) -> None:
        if result == "pass":
            self.passed += 1
        elif result == "fail":
            self.failed += 1
        elif result == "error":
            self.errors += 1
        else:
            self.not_applicable += 1

    @property
    def ratio(self) -> float | None:
        judged = self.passed + self.failed
        return round(self.passed / judged, 4) if judged else None

    def to_json(self) -> dict[str, Any]:
        return {
            "pass": self.passed,
            "fail": self.failed,
            "error": self.errors,
            "not_applicable": self.not_applicable,
            "score": self.ratio,
        }


@dataclass
class ScanResult:
    level: int
    started: dt.datetime
    finished: dt.datetime
    packs: list[LoadedPack]
    rules: list[LoadedRule]
    targets: list[Target]
    findings: list[Finding] = field(default_factory=list)
    # requirement -> why its rules were left out of this scan (offline: server history needed)
    left_out: dict[str, str] = field(default_factory=dict)

    def scores(self) -> dict[str, Any]:
        """pass/(pass+fail) per rule, requirement, clause (resolved at the scan's level, one key per
        clause: "TCVN 14423:2026 7.5.2.1 b"), level (the rule's first level), target, and overall; error
        and n/a counted alongside."""
        overall = Counts()
        per: dict[str, dict[str, Counts]] = {
            "rule": {},
            "requirement": {},
            "clause": {},
            "level": {},
            "target": {},
        }

        def bump(kind: str, key: str, result: Result) -> None:
            per[kind].setdefault(key, Counts()).add(result)

        clauses_of: dict[str, list[str]] = {}  # rule id → its clauses resolved at the scan's level
        for finding in self.findings:
            rule = finding.rule.rule
            result = finding.result
            overall.add(result)
            bump("rule", rule.id, result)
            for req in rule.references.requirements:
                bump("requirement", req, result)
            clauses = clauses_of.get(rule.id)
            if clauses is None:
                refs = rule.references
                clauses = clause_keys(
                    {"tcvn_14423": refs.tcvn_14423, "tcvn_11930": refs.tcvn_11930}, self.level
                )
                clauses_of[rule.id] = clauses
            for clause in clauses:
                bump("clause", clause, result)
            bump("level", str(rule.levels[0]), result)
            bump("target", finding.target.name, result)
        return {
            "overall": overall.to_json(),
            **{kind: {key: c.to_json() for key, c in sorted(table.items())} for kind, table in per.items()},
        }

    def manual_items(self) -> list[dict[str, Any]]:
        evaluated: set[str] = set()
        decided: set[str] = set()
        for finding in self.findings:
            requirements = finding.rule.rule.references.requirements
            evaluated.update(requirements)
            if finding.result != "not_applicable":
                decided.update(requirements)
        kinds: set[str] = {t.kind for t in self.targets}
        return manual_items(
            self.level, self.rules, kinds, self.packs, decided, evaluated - decided, self.left_out
        )


def run_scan(
    packs: list[LoadedPack],
    targets: Iterable[Target],
    level: int,
    *,
    now: dt.datetime | None = None,
    on_target: Callable[[Target], None] | None = None,
    offline: bool = False,
    one_error_per_target: bool = False,
) -> ScanResult:
    """Evaluate every rule required at `level` against each target of the rule's scope.

    Checks are compiled once per scan; targets may be a generator (configs parsed lazily). `offline`:
    no server history, so rules needing it are left out (listed for manual review);
    `one_error_per_target`: an unusable target gives one error finding, not one per rule.
    """
    started = dt.datetime.now(dt.UTC)
    now = now or started
    selected = rules_at_level(packs, level)
    left_out: dict[str, str] = {}
    if offline:
        kept = []
        for rule in selected:
            reason = getattr(REGISTRY.get(str(rule.rule.check.get("type"))), "offline_reason", None)
            if reason is None:
                kept.append(rule)
                continue
            for req in rule.rule.references.requirements:
                left_out[req] = f"{reason[0]} / {reason[1]}"
        selected = kept
    by_scope: dict[str, list[PreparedRule]] = {}
    for rule in selected:
        by_scope.setdefault(rule.pack.header.scope, []).append(prepare_rule(rule, level))
    # A pack made for other platforms (host-windows for a Linux host) yields no findings at all;
    # a rule limited to some platforms of its pack yields not_applicable with the reason.
    by_platform: dict[tuple[str, str | None], list[PreparedRule]] = {}
    result = ScanResult(
        level=level,
        started=started,
        finished=started,
        packs=packs,
        rules=selected,
        targets=[],
        left_out=left_out,
    )
    findings = result.findings
    for target in targets:
        result.targets.append(target)
        key = (target.kind, target.platform or repr(target.candidate_platforms))
        prepared_rules = by_platform.get(key)
        if prepared_rules is None:
            fitting = [p for p in by_scope.get(target.kind, ()) if _pack_fits(p.rule.pack, target)]
            prepared_rules = sorted(fitting, key=lambda p: p.reads_results)  # result readers last
            by_platform[key] = prepared_rules
        if one_error_per_target and target.error is not None:
            finding = unusable_target_finding(prepared_rules, target, now, level)
            if finding is not None:
                findings.append(finding)
            if on_target is not None:
                on_target(target)
            continue
        first = len(findings)
        results: list[dict[str, Any]] | None = None
        for prepared in prepared_rules:
            if prepared.reads_results and results is None:
                results = [_result_of(f) for f in findings[first:]]
            findings.append(evaluate(prepared, target, now, results))
        if on_target is not None:
            on_target(target)
    result.finished = dt.datetime.now(dt.UTC)
    return result


UNUSABLE_RULE_ID = "TARGET-NOT-EVALUATED"


def unusable_target_finding(
    prepared_rules: list[PreparedRule], target: Target, now: dt.datetime, level: int
) -> Finding | None:
    """One error finding for a target without usable facts (unreadable file, unknown vendor, parse
    error), naming the rules it leaves unevaluated; None when no rule applies to it at all.

    It stands for those rules in the scores: its requirements and clauses are theirs."""
    blocked: list[PreparedRule] = []
    outcome: Outcome | None = None
    for prepared in prepared_rules:
        result = _applicability(prepared, target, now)
        if result is not None and result.result == "error":
            blocked.append(prepared)
            outcome = outcome or result
    if not blocked or outcome is None:
        return None
    rules = [p.rule for p in blocked]
    ids = [rule.id for rule in rules]
    requirements = sorted({req for rule in rules for req in rule.rule.references.requirements})

    def clauses(key: str) -> str | None:
        found = [getattr(rule.rule.references, key) for rule in rules]
        return "; ".join(dict.fromkeys(c for c in found if c)) or None

    references = References.model_construct(
        requirements=requirements,
        tcvn_14423=clauses("tcvn_14423"),
        tcvn_11930=clauses("tcvn_11930"),
        circular_12=None,
    )
    rule = Rule.model_construct(
        id=UNUSABLE_RULE_ID,
        title=Text(
            vi="Không đánh giá được: không có dữ liệu dùng được (tệp hỏng, không rõ hãng, thiếu cấu hình)",
            en="Not evaluated: no usable data (unreadable file, unknown vendor, missing config)",
        ),
        rationale=Text(
            vi="Không có dữ liệu dùng được thì mọi quy tắc của đối tượng này đều chưa được đánh giá.",
            en="Without usable data none of this target's rules could be judged.",
        ),
        remediation=Remediation(
            vi="Sửa hoặc thay tệp (cấu hình đầy đủ, đúng hãng), hoặc chỉ định --platform.",
            en="Fix or replace the file (a whole config of a known vendor), or pass --platform.",
        ),
        severity="high",
        levels=[level],
        references=references,
        inputs={},
        applicability=Applicability(),
        check={},
        examples=Examples.model_construct(passing=[], failing=[]),
    )
    loaded = LoadedRule(rule=rule, pack=rules[0].pack)
    evidence = [dict(item) for item in outcome.evidence]
    evidence.append({"path": "rules_not_evaluated", "value": ids})
    message = (
        f"{outcome.message} — {len(ids)} quy tắc không được đánh giá / {len(ids)} rules not evaluated: "
        + ", ".join(ids)
    )
    return Finding(loaded, target, "error", message, evidence)


def _result_of(finding: Finding) -> dict[str, Any]:
    rule = finding.rule.rule
    return {"rule_id": rule.id, "requirements": list(rule.references.requirements), "result": finding.result}


def _pack_fits(pack: LoadedPack, target: Target) -> bool:
    platforms = pack.header.platforms
    if target.platform is not None:
        return target.platform in platforms
    if target.candidate_platforms is not None:
        return any(p in platforms for p in target.candidate_platforms)
    return True


def iter_findings(result: ScanResult, kind: Result | None = None) -> Iterator[Finding]:
    return (f for f in result.findings if kind is None or f.result == kind)


# Manual-review items ------------------------------------------------------------------------------------

_KIND_REASON = {
    "DOC": ("xem xét tài liệu", "document review"),
    "SNMP": ("cần thăm dò SNMP (máy chủ)", "needs an SNMP poll (server side)"),
    "SCAN": ("cần quét mạng LAN/Internet", "needs a LAN/Internet scan"),
    "COLLECTOR": ("cần bộ thu nhật ký/luồng của máy chủ", "needs the server's log/flow collector"),
    "AG": ("cần dữ liệu agent của máy trạm/máy chủ", "needs host agent facts"),
    "CFG": ("cần cấu hình thiết bị", "needs device configs"),
}


def manual_items(
    level: int,
    rules: list[LoadedRule],
    scanned_kinds: set[str],
    packs: list[LoadedPack],
    decided: set[str] | None = None,
    idle: set[str] | None = None,
    left_out: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Requirements at `level` that this scan did not decide by machine, with why: DOC rows (also the
    document part of partly machine-checked rows), rows only SNMP/SCAN/the collector can check, rows
    whose facts a pack does not collect yet, rows whose scope (hosts/devices) was not scanned. Never
    counted as pass."""
    covered: set[str] = set()
    for rule in rules:
        if rule.pack.header.scope in scanned_kinds:
            covered.update(rule.rule.references.requirements)
    if decided is not None:  # rules that judged (or tried to judge) at least one target
        covered &= decided
    idle = idle or set()  # rules that ran but applied to no target
    not_covered: dict[str, list[str]] = {}
    for pack in packs:
        for item in pack.header.not_covered:
            not_covered.setdefault(item.requirement, []).append(f"{item.reason.vi} / {item.reason.en}")
    for req_id, reason in (left_out or {}).items():
        if req_id not in covered:
            not_covered.setdefault(req_id, []).append(reason)
    items: list[dict[str, Any]] = []
    for req in load_requirements().values():
        if level not in req.levels:
            continue
        reasons = _reasons(req, covered, scanned_kinds, not_covered)
        if req.id in idle:
            reasons.insert(
                0, "quy tắc không áp dụng cho đối tượng nào / rules applied to no target (platform/role)"
            )
        if reasons:
            items.append(
                {
                    "requirement": req.id,
                    "title": req.title,
                    "title_vi": req.title_vi,
                    "levels": list(req.levels),
                    "refs": req.refs,
                    "check": req.check,
                    "machine_checked": req.id in covered,
                    "reasons": reasons,
                }
            )
    return items


def _reasons(
    req: Requirement, covered: set[str], scanned: set[str], not_covered: dict[str, list[str]]
) -> list[str]:
    reasons: list[str] = []
    if "DOC" in req.kinds:
        vi, en = _KIND_REASON["DOC"]
        reasons.append(f"{vi} / {en}")
    if req.id in covered:
        return reasons
    reasons.extend(not_covered.get(req.id, []))
    for kind in req.kinds:
        if kind == "DOC":
            continue
        if (kind == "AG" and "host" in scanned) or (kind == "CFG" and "device" in scanned):
            continue
        vi, en = _KIND_REASON[kind]
        reasons.append(f"{vi} / {en}")
    if not reasons:
        reasons.append("chưa có quy tắc / no rule yet")
    return reasons


# Diff -------------------------------------------------------------------------------------------------


def diff_findings(
    current: list[dict[str, Any]], previous: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Compare two scans' JSON findings by (rule_id, target): new fail, fixed, still failing."""
    before = {(f["rule_id"], f["target"]): f.get("result") for f in previous}
    out: dict[str, list[dict[str, Any]]] = {"new_fail": [], "fixed": [], "still_failing": []}
    for finding in current:
        key = (finding["rule_id"], finding["target"])
        was = before.get(key)
        entry = {"rule_id": key[0], "target": key[1], "was": was, "now": finding["result"]}
        if finding["result"] == "fail":
            out["still_failing" if was == "fail" else "new_fail"].append(entry)
        elif finding["result"] == "pass" and was == "fail":
            out["fixed"].append(entry)
    return out
