"""`rules check`: everything a pack can get wrong, reported as `file: rule id: reason`.

Schema (unknown keys), unique ids, references to existing requirements (and levels they require),
check types known, regexes compile, inputs referenced exist (compiled at every level of the rule),
platforms known to the pack, and every example behaving as labelled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from canhgac_rules.checks import CompileError
from canhgac_rules.engine import Target, evaluate, prepare_rule
from canhgac_rules.loader import LoadedPack, LoadedRule, Problem, load_packs
from canhgac_rules.model import Example
from canhgac_rules.requirements import load_requirements

EXAMPLE_NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)  # default scan time of examples (deterministic)


def check_packs(
    paths: Iterable[Path] | None = None, *, run_examples: bool = True
) -> tuple[list[LoadedPack], list[Problem]]:
    """Load and fully check packs; bad rules are dropped from the returned packs."""
    packs, problems = load_packs(paths)
    table = load_requirements()
    seen: dict[str, str] = {}
    pack_ids: dict[str, str] = {}
    for pack in packs:
        if pack.id in pack_ids:
            problems.append(
                Problem(pack.file, "-", f"duplicate pack id {pack.id!r} (also in {pack_ids[pack.id]})")
            )
        pack_ids[pack.id] = pack.file
        for item in pack.header.not_covered:
            if item.requirement not in table:
                problems.append(
                    Problem(pack.file, "-", f"not_covered names unknown requirement {item.requirement}")
                )
        good: list[LoadedRule] = []
        for rule in pack.rules:
            reasons = _rule_problems(rule, table, seen, run_examples)
            seen.setdefault(rule.id, pack.file)
            problems.extend(Problem(pack.file, rule.id, reason) for reason in reasons)
            if not reasons:
                good.append(rule)
        pack.rules = good
    return packs, problems


def load_default_packs() -> list[LoadedPack]:
    """The shipped packs, fully validated; raises ValueError listing problems (a packaging bug)."""
    packs, problems = check_packs(None, run_examples=False)
    if problems:
        raise ValueError("shipped rule packs are invalid:\n" + "\n".join(map(str, problems)))
    return packs


def _rule_problems(
    rule: LoadedRule, table: dict[str, Any], seen: dict[str, str], run_examples: bool
) -> list[str]:
    reasons: list[str] = []
    spec = rule.rule
    if spec.id in seen:
        reasons.append(f"duplicate rule id (first in {seen[spec.id]})")
    required_levels: set[int] = set()
    for req in spec.references.requirements:
        if req not in table:
            reasons.append(f"reference {req} is not in the requirement table")
        else:
            required_levels.update(table[req].levels)
    if required_levels and not set(spec.levels) <= required_levels:
        extra = sorted(set(spec.levels) - required_levels)
        reasons.append(f"levels {extra} are not required by {', '.join(spec.references.requirements)}")
    unknown_platforms = set(spec.applicability.platforms) - set(rule.pack.header.platforms)
    if unknown_platforms:
        reasons.append(f"applicability platforms {sorted(unknown_platforms)} not in pack platforms")
    for level in spec.levels:
        try:
            prepare_rule(rule, level)
        except CompileError as exc:
            reasons.append(str(exc))
            break
    if reasons or not run_examples:
        return reasons
    for label, examples in (("pass", spec.examples.passing), ("fail", spec.examples.failing)):
        for index, raw in enumerate(examples):
            reason = _example_problem(rule, label, index, raw)
            if reason:
                reasons.append(reason)
    return reasons


def as_example(raw: dict[str, Any]) -> Example:
    """An example is a bare facts document, or `{facts, level?, platform?, role?, now?, note?}`."""
    allowed = {"facts", "level", "platform", "role", "now", "note"}
    if "facts" in raw and isinstance(raw["facts"], dict) and set(raw) <= allowed:
        return Example.model_validate(raw)
    return Example(facts=raw)


def run_example(rule: LoadedRule, raw: dict[str, Any]) -> tuple[str, str]:
    """Evaluate one example; returns (result, message)."""
    example = as_example(raw)
    spec = rule.rule
    level = example.level or spec.levels[0]
    platforms = spec.applicability.platforms or rule.pack.header.platforms
    platform = example.platform or platforms[0]
    role = example.role or (spec.applicability.roles[0] if spec.applicability.roles else None)
    os_name = spec.applicability.os[0] if spec.applicability.os else None
    now = dt.datetime.fromisoformat(example.now) if example.now else EXAMPLE_NOW
    kind = rule.pack.header.scope
    target = Target(name="example", kind=kind, facts=example.facts, platform=platform, role=role, os=os_name)
    finding = evaluate(prepare_rule(rule, level), target, now)
    return finding.result, finding.message


def _example_problem(rule: LoadedRule, label: str, index: int, raw: dict[str, Any]) -> str | None:
    try:
        result, message = run_example(rule, raw)
    except (ValidationError, ValueError) as exc:
        return f"example {label}[{index}] is malformed: {exc}".replace("\n", " ")
    if result != label:
        return f"example {label}[{index}] gave {result}, expected {label} ({message})"
    return None
