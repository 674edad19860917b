"""`each`: all / any / none of the items of a list (filtered by `where`) meet `condition`.

E.g. every vty line has `login` != none; no SNMP community has access rw; every physical access port
that is up has port-security or 802.1X.
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
    ItemCondition,
    Outcome,
    StrictModel,
    compile_conditions,
    compile_getter_for,
    describe,
)
from canhgac_rules.facts import FactMissing, item_key


class Params(StrictModel):
    """`path` to a list; `quantifier` all|any|none; `where` selects items; `condition` judges them.

    `if_empty`: the result when no item is selected (default: pass for all/none, fail for any).
    """

    type: Literal["each"]
    path: str
    quantifier: Literal["all", "any", "none"] = "all"
    where: list[ItemCondition] = Field(default_factory=list)
    condition: list[ItemCondition]
    if_empty: Literal["pass", "fail", "not_applicable"] | None = None


def item_path(path: str, item: Any, index: int) -> str:
    key = item_key(item)
    return f"{path}[{key}]" if key is not None else f"{path}[#{index}]"


def compile(params: Params, compiler: Compiler) -> CompiledCheck:
    get = compile_getter_for(params.path)
    selects = compile_conditions(params.where, compiler)
    holds = compile_conditions(params.condition, compiler)
    path = params.path
    quantifier = params.quantifier
    if_empty = params.if_empty or ("fail" if quantifier == "any" else "pass")
    wanted = describe(params.condition, compiler)
    scope = describe(params.where, compiler) if params.where else "all items"
    empty = f"no item of {path} where {scope}" if params.where else f"{path} is empty"

    def run(ctx: Ctx) -> Outcome:
        try:
            items = get(ctx.facts)
        except FactMissing as exc:
            return Outcome("error", [{"path": path, "value": None}], f"fact {exc.path} not collected")
        if not isinstance(items, list):
            return Outcome("error", [{"path": path, "value": items}], f"fact {path} is not a list")
        now = ctx.now
        matching: list[tuple[str, Any]] = []
        other: list[tuple[str, Any]] = []
        selected = 0
        try:
            for index, item in enumerate(items):
                if params.where and not selects(item, now):
                    continue
                selected += 1
                (matching if holds(item, now) else other).append((item_path(path, item, index), item))
        except FactMissing as exc:
            return Outcome(
                "error", [{"path": path, "value": None}], f"fact {path}[…].{exc.path} not collected"
            )
        if selected == 0:
            return Outcome(if_empty, [{"path": path, "value": []}], empty)
        if quantifier == "all":
            ok, shown = not other, other
            text = f"{len(other)} of {selected} item(s) of {path} fail: {wanted}"
        elif quantifier == "none":
            ok, shown = not matching, matching
            text = f"{len(matching)} item(s) of {path} must not have: {wanted}"
        else:
            ok, shown = bool(matching), (matching[:1] if matching else other)
            text = f"no item of {path} has: {wanted}"
        if ok:
            shown = (matching or other)[:3]
        evidence = [{"path": p, "value": v} for p, v in shown[:MAX_EVIDENCE_ITEMS]]
        if ok:
            return Outcome("pass", evidence, f"{quantifier} of {scope} in {path}: {wanted}: ok")
        return Outcome("fail", evidence, text)

    return run


@dataclass(frozen=True)
class _Check:
    name: str = "each"
    Params: type[Params] = Params

    def compile(self, params: Any, compiler: Compiler) -> CompiledCheck:
        return compile(params, compiler)


PLUGIN = _Check()
