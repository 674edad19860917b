"""`compare`: one fact path against a value or an input (eq, ne, lt…ge, in, matches, is_true, present…)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from canhgac_rules.checks import (
    CompiledCheck,
    Compiler,
    Ctx,
    InputRef,
    Outcome,
    StrictModel,
    compile_getter_for,
    compile_predicate,
)
from canhgac_rules.checks.ops import NONE_AWARE, UNARY, Op
from canhgac_rules.facts import FactMissing


class Params(StrictModel):
    """`path` (dotted fact path), `op`, `value` (literal or `{input: name}`; not for unary ops).

    `if_none`: the result when the fact is present but None ("not known / cannot be expressed on this
    platform"); `error` by default, since an unknown fact must never pass silently.
    """

    type: Literal["compare"]
    path: str
    op: Op
    value: Any | InputRef = None
    if_none: Literal["error", "fail", "pass", "not_applicable"] = "error"
    cast: Literal["number"] | None = None  # e.g. sshd settings are strings: "300" → 300


def _number(value: Any) -> Any:
    """Numeric value of a string fact ("300" → 300); the original when it is not a number."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def compile(params: Params, compiler: Compiler) -> CompiledCheck:
    get = compile_getter_for(params.path)
    predicate = compile_predicate(params.op, params.value, compiler)
    path = params.path
    if_none = params.if_none
    cast = params.cast == "number"
    handles_none = params.op in NONE_AWARE
    shown = "" if params.op in UNARY else f" {compiler.value(params.value)!r}"
    expect = f"{path} {params.op}{shown}"

    def run(ctx: Ctx) -> Outcome:
        try:
            value = get(ctx.facts)
        except FactMissing as exc:
            return Outcome("error", [{"path": path, "value": None}], f"fact {exc.path} not collected")
        evidence = [{"path": path, "value": value}]
        if cast:
            value = _number(value)
        if value is None and not handles_none:
            message = f"{path} is not known (null)" if if_none == "error" else f"{path} is null"
            return Outcome(if_none, evidence, message)
        if predicate(value, ctx.now):
            return Outcome("pass", evidence, f"{expect}: ok")
        return Outcome("fail", evidence, f"expected {expect}, found {value!r}")

    return run


@dataclass(frozen=True)
class _Check:
    name: str = "compare"
    Params: type[Params] = Params

    def compile(self, params: Any, compiler: Compiler) -> CompiledCheck:
        return compile(params, compiler)


PLUGIN = _Check()
