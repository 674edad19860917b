"""Typed check types: one module each, registered below with one line per type.

A check type has a pydantic `Params` model (its YAML shape, unknown keys rejected) and a `compile`
function turning validated params, with inputs already resolved for one level, into a fast closure
`(Ctx) -> Outcome`. Packs hold data only: no code and no string DSL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from canhgac_rules.checks.ops import UNARY, Op, OpError, Predicate, compile_op
from canhgac_rules.facts import FactMissing, Getter, PathError, compile_getter, parse_path

Result = Literal["pass", "fail", "not_applicable", "error"]
RESULTS: tuple[Result, ...] = ("pass", "fail", "not_applicable", "error")
MAX_EVIDENCE_ITEMS = 20


class CompileError(ValueError):
    """A check cannot be compiled: unknown type or input, bad regex or path. Names the reason."""


@dataclass(slots=True)
class Ctx:
    """What a compiled check reads: the facts document and the scan time (for age operators)."""

    facts: dict[str, Any]
    now: dt.datetime


@dataclass(slots=True)
class Outcome:
    """A check's verdict with the fact paths it read (`{"path", "value"}` dicts) and a message."""

    result: Result
    evidence: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""


CompiledCheck = Callable[[Ctx], Outcome]


class StrictModel(BaseModel):
    """Unknown keys are an error in every pack model."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InputRef(StrictModel):
    """`{input: name}`: a value taken from the rule's `inputs`, resolved for the scan's level."""

    input: str


class Condition(StrictModel):
    """`{path, op, value}`: one test of a fact (absolute in applicability, item-relative in lists)."""

    path: str = ""
    op: Op
    value: Any | InputRef = None


class AnyCondition(StrictModel):
    """`{any: [conditions]}`: holds when at least one of the conditions holds."""

    any: list[Condition]


ItemCondition = Condition | AnyCondition


class Compiler(Protocol):
    """Services a check type's `compile` uses: input resolution and sub-check compilation."""

    def value(self, raw: Any) -> Any: ...
    def sub(self, raw: dict[str, Any]) -> CompiledCheck: ...


class CheckType(Protocol):
    """A check module's interface: its name, params model and compiler."""

    @property
    def name(self) -> str: ...
    @property
    def Params(self) -> type[StrictModel]: ...  # the params model class

    def compile(self, params: Any, compiler: Compiler) -> CompiledCheck: ...


# Shared helpers ---------------------------------------------------------------------------------------


def compile_path(path: str) -> tuple[tuple[str, str | None], ...]:
    try:
        return parse_path(path)
    except PathError as exc:
        raise CompileError(str(exc)) from None


def compile_getter_for(path: str) -> Getter:
    """`compile_path` + a fast resolver (raises FactMissing on a miss)."""
    return compile_getter(compile_path(path))


def compile_predicate(op: str, raw_value: Any, compiler: Compiler) -> Predicate:
    value = None if op in UNARY else compiler.value(raw_value)
    if op not in UNARY and raw_value is None and op not in ("eq", "ne"):
        raise CompileError(f"operator {op} needs a value")
    try:
        return compile_op(op, value)
    except OpError as exc:
        raise CompileError(str(exc)) from None


ItemTest = Callable[[Any, dt.datetime], bool]


def compile_conditions(conditions: list[ItemCondition], compiler: Compiler) -> ItemTest:
    """All conditions must hold on an item. A field missing from the item raises FactMissing with the
    item-relative path; a None field fails every operator but eq/ne/present/absent."""
    tests: list[ItemTest] = [_compile_one(cond, compiler) for cond in conditions]
    if len(tests) == 1:
        return tests[0]

    def all_hold(item: Any, now: dt.datetime) -> bool:
        return all(test(item, now) for test in tests)

    return all_hold


def _compile_one(cond: ItemCondition, compiler: Compiler) -> ItemTest:
    if isinstance(cond, AnyCondition):
        tests = [_compile_one(sub, compiler) for sub in cond.any]
        return lambda item, now: any(test(item, now) for test in tests)
    get = compile_getter_for(cond.path)
    predicate = compile_predicate(cond.op, cond.value, compiler)
    none_aware = cond.op in ("present", "absent", "eq", "ne")

    def test(item: Any, now: dt.datetime) -> bool:
        value = get(item)
        if value is None and not none_aware:
            return False
        return predicate(value, now)

    return test


def describe(conditions: list[ItemCondition], compiler: Compiler | None = None) -> str:
    """Human-readable form of item conditions (inputs shown resolved), for messages."""
    parts: list[str] = []
    for cond in conditions:
        if isinstance(cond, AnyCondition):
            parts.append("(" + " or ".join(describe([sub], compiler) for sub in cond.any) + ")")
        else:
            shown = compiler.value(cond.value) if compiler is not None else cond.value
            value = "" if cond.op in UNARY else f" {shown!r}"
            parts.append(f"{cond.path or 'item'} {cond.op}{value}")
    return " and ".join(parts) if parts else "true"


__all__ = [
    "MAX_EVIDENCE_ITEMS",
    "RESULTS",
    "AnyCondition",
    "CheckType",
    "CompileError",
    "CompiledCheck",
    "Compiler",
    "Condition",
    "Ctx",
    "FactMissing",
    "InputRef",
    "ItemCondition",
    "Outcome",
    "Result",
    "StrictModel",
    "compile_conditions",
    "compile_getter_for",
    "compile_path",
    "compile_predicate",
    "describe",
]
