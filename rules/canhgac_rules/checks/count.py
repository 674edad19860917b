"""`count`: the number of items of a list (filtered by `where`) compared with a threshold.

E.g. at least two port-channels on a core switch; at most N local administrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from canhgac_rules.checks import (
    MAX_EVIDENCE_ITEMS,
    CompiledCheck,
    Compiler,
    Ctx,
    InputRef,
    ItemCondition,
    Outcome,
    StrictModel,
    compile_conditions,
    compile_getter_for,
    compile_predicate,
    describe,
)
from canhgac_rules.checks.each import item_path
from canhgac_rules.facts import FactMissing


class Params(StrictModel):
    """`path` to a list (or an integer fact), `where` filter, `op` (lt/le/gt/ge/eq/ne), `value`."""

    type: Literal["count"]
    path: str
    where: list[ItemCondition] = Field(default_factory=list)
    op: Literal["lt", "le", "gt", "ge", "eq", "ne"]
    value: int | InputRef


def compile(params: Params, compiler: Compiler) -> CompiledCheck:
    get = compile_getter_for(params.path)
    selects = compile_conditions(params.where, compiler)
    predicate = compile_predicate(params.op, params.value, compiler)
    path = params.path
    limit = compiler.value(params.value)
    scope = f" where {describe(params.where, compiler)}" if params.where else ""

    def run(ctx: Ctx) -> Outcome:
        try:
            items = get(ctx.facts)
        except FactMissing as exc:
            return Outcome("error", [{"path": path, "value": None}], f"fact {exc.path} not collected")
        if isinstance(items, int) and not isinstance(items, bool):
            number, evidence = items, [{"path": path, "value": items}]
        elif isinstance(items, list):
            try:
                chosen = [
                    (item_path(path, item, i), item)
                    for i, item in enumerate(items)
                    if not params.where or selects(item, ctx.now)
                ]
            except FactMissing as exc:
                return Outcome(
                    "error", [{"path": path, "value": None}], f"fact {path}[…].{exc.path} not collected"
                )
            number = len(chosen)
            evidence = [{"path": p, "value": v} for p, v in chosen[:MAX_EVIDENCE_ITEMS]]
            evidence.append({"path": f"count({path}{scope})", "value": number})
        else:
            return Outcome("error", [{"path": path, "value": items}], f"fact {path} is not a list or count")
        if predicate(number, ctx.now):
            return Outcome("pass", evidence, f"count {number} {params.op} {limit}: ok")
        return Outcome("fail", evidence, f"count of {path}{scope} is {number}, expected {params.op} {limit}")

    return run


@dataclass(frozen=True)
class _Check:
    name: str = "count"
    Params: type[Params] = Params

    def compile(self, params: Any, compiler: Compiler) -> CompiledCheck:
        return compile(params, compiler)


PLUGIN = _Check()
