"""`combine`: all_of / any_of over sub-checks (each a typed check of any registered type).

all_of: fail if any sub-check fails, else error if any errs, else pass (n/a only if all are n/a).
any_of: pass if any passes, else error if any errs, else fail (n/a only if all are n/a).
Error never turns into pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from canhgac_rules.checks import CompiledCheck, Compiler, Ctx, Outcome, StrictModel


class Params(StrictModel):
    """`mode` all_of|any_of and `checks`: a list of typed checks (validated through the registry)."""

    type: Literal["combine"]
    mode: Literal["all_of", "any_of"]
    checks: list[dict[str, Any]] = Field(min_length=1)


def compile(params: Params, compiler: Compiler) -> CompiledCheck:
    subs = [compiler.sub(raw) for raw in params.checks]
    any_of = params.mode == "any_of"

    def run(ctx: Ctx) -> Outcome:
        outcomes = [sub(ctx) for sub in subs]
        evidence: list[dict[str, Any]] = []
        seen: set[str] = set()
        has_pass = has_fail = has_error = False
        all_na = True
        for outcome in outcomes:
            result = outcome.result
            if result == "pass":
                has_pass = True
                all_na = False
            elif result == "fail":
                has_fail = True
                all_na = False
            elif result == "error":
                has_error = True
                all_na = False
            for item in outcome.evidence:
                if item["path"] not in seen:
                    seen.add(item["path"])
                    evidence.append(item)
        if all_na:
            return Outcome("not_applicable", evidence, "; ".join(o.message for o in outcomes))
        deciding = list(dict.fromkeys(o.message for o in outcomes if o.result in ("fail", "error")))
        if any_of:
            if has_pass:
                return Outcome("pass", evidence, "; ".join(o.message for o in outcomes if o.result == "pass"))
            return Outcome("error" if has_error else "fail", evidence, "none holds: " + "; ".join(deciding))
        if has_fail:
            failed = dict.fromkeys(o.message for o in outcomes if o.result == "fail")
            return Outcome("fail", evidence, "; ".join(failed))
        if has_error:
            return Outcome("error", evidence, "; ".join(deciding))
        return Outcome("pass", evidence, "; ".join(o.message for o in outcomes))

    return run


@dataclass(frozen=True)
class _Check:
    name: str = "combine"
    Params: type[Params] = Params

    def compile(self, params: Any, compiler: Compiler) -> CompiledCheck:
        return compile(params, compiler)


PLUGIN = _Check()
