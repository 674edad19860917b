"""`requirement_score`: the share of a target's judged rules for some requirements that pass, vs a threshold.

E.g. the hardening baseline (HS-06) as a score over the host's HS-03…HS-20 findings. It reads
`rule_results` (`[{rule_id, requirements, result}]`): the engine supplies the target's other findings
there, evaluating rules of this type after all the others; a pack example gives the list itself.
Score = pass / (pass + fail); error and not_applicable findings are left out of the ratio (an error is
never counted as a pass) but the errors are listed in the evidence.
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
    Outcome,
    StrictModel,
    compile_predicate,
)

RESULTS_KEY = "rule_results"


class Params(StrictModel):
    """`requirements` whose rules are scored; `op` (ge/gt) and `value`: the threshold (0–1 or input)."""

    type: Literal["requirement_score"]
    requirements: list[str] = Field(min_length=1)
    op: Literal["ge", "gt"] = "ge"
    value: float | InputRef


def compile(params: Params, compiler: Compiler) -> CompiledCheck:
    wanted = frozenset(params.requirements)
    threshold = compiler.value(params.value)
    predicate = compile_predicate(params.op, params.value, compiler)
    label = f"score({','.join(params.requirements)})"

    def run(ctx: Ctx) -> Outcome:
        results = ctx.facts.get(RESULTS_KEY)
        if not isinstance(results, list):
            return Outcome(
                "error", [{"path": RESULTS_KEY, "value": None}], f"fact {RESULTS_KEY} not collected"
            )
        counted = {"pass": 0, "fail": 0, "error": 0}
        shown: list[dict[str, Any]] = []
        for item in results:
            if not isinstance(item, dict) or not wanted.intersection(item.get("requirements") or ()):
                continue
            result = item.get("result")
            if result in counted:
                counted[result] += 1
                if result != "pass" and len(shown) < MAX_EVIDENCE_ITEMS:
                    shown.append({"path": f"{RESULTS_KEY}[{item.get('rule_id')}]", "value": result})
        judged = counted["pass"] + counted["fail"]
        tally = f"{counted['pass']} pass, {counted['fail']} fail, {counted['error']} error"
        if judged == 0:
            message = f"no rule for {', '.join(sorted(wanted))} judged this target ({tally})"
            return Outcome("error", [{"path": label, "value": None}, *shown], message)
        score = round(counted["pass"] / judged, 4)
        evidence: list[dict[str, Any]] = [
            {"path": label, "value": score},
            {"path": f"count({RESULTS_KEY})", "value": tally},
            *shown,
        ]
        if predicate(score, ctx.now):
            return Outcome("pass", evidence, f"{label} = {score} ({tally}) {params.op} {threshold}: ok")
        return Outcome("fail", evidence, f"{label} = {score} ({tally}), expected {params.op} {threshold}")

    return run


@dataclass(frozen=True)
class _Check:
    name: str = "requirement_score"
    Params: type[Params] = Params
    reads_results: bool = True  # the engine runs it after the target's other rules

    def compile(self, params: Any, compiler: Compiler) -> CompiledCheck:
        return compile(params, compiler)


PLUGIN = _Check()
