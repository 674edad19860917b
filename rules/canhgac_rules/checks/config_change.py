"""`config_change`: is the device's running config the approved one (change management, NW-31)?

Reads the device fact `config_change` the server builds from its config history:
``{versions, latest_version, approved_version, latest_is_approved, approved_by, approved_at, comment,
last_pull_error}``. Pass when the newest pulled version is approved (before or after the change); fail
when it is not, naming the unapproved version and the last approved one; error when the newest pull
failed (its reason) or nothing was pulled yet; error "not collected" when the fact is absent.

Only the server keeps that history: an offline audit of saved files cannot judge it, so the engine
leaves rules of this type out of offline scans and lists their requirements for manual review with
`OFFLINE_REASON`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from canhgac_rules.checks import CompiledCheck, Compiler, Ctx, Outcome, StrictModel, compile_getter_for
from canhgac_rules.facts import FactMissing

OFFLINE_REASON = (
    "cần lịch sử cấu hình do máy chủ thu định kỳ (so với bản đã duyệt)",
    "needs the config history the server pulls on a schedule (diff against the approved version)",
)


class Params(StrictModel):
    """`path`: where the fact lives (``config_change``)."""

    type: Literal["config_change"]
    path: str = "config_change"


def _text(value: Any, limit: int = 200) -> str:
    return str(value)[:limit]


def compile(params: Params, compiler: Compiler) -> CompiledCheck:
    path = params.path
    get = compile_getter_for(path)

    def run(ctx: Ctx) -> Outcome:
        try:
            fact = get(ctx.facts)
        except FactMissing as exc:
            return Outcome("error", [{"path": path, "value": None}], f"fact {exc.path} not collected")
        if not isinstance(fact, dict):
            return Outcome("error", [{"path": path, "value": None}], f"fact {path} not collected")
        error = fact.get("last_pull_error")
        if error:
            reason = _text(error)
            return Outcome(
                "error",
                [{"path": f"{path}.last_pull_error", "value": reason}],
                f"lần lấy cấu hình gần nhất thất bại / the newest config pull failed: {reason}",
            )
        latest = fact.get("latest_version")
        versions = fact.get("versions")
        if latest is None or not versions:
            return Outcome(
                "error",
                [{"path": f"{path}.versions", "value": versions or 0}],
                "chưa lấy được phiên bản cấu hình nào / no config version pulled yet",
            )
        approved = fact.get("approved_version")
        by, at, comment = fact.get("approved_by"), fact.get("approved_at"), fact.get("comment")
        evidence: list[dict[str, Any]] = [
            {"path": f"{path}.versions", "value": versions},
            {"path": f"{path}.latest_version", "value": latest},
            {"path": f"{path}.approved_version", "value": approved},
        ]
        if approved is not None:
            evidence.append(
                {
                    "path": f"{path}.approval",
                    "value": {
                        "by": _text(by) if by else None,
                        "at": _text(at) if at else None,
                        "comment": _text(comment) if comment else None,
                    },
                }
            )
        if fact.get("latest_is_approved") is True:
            return Outcome(
                "pass",
                evidence,
                f"phiên bản {latest} đã được duyệt / version {latest} approved by {by or '?'} at {at or '?'}",
            )
        who, when = by or "?", at or "?"
        last = f"bản duyệt gần nhất {approved} ({who}, {when})" if approved else "chưa có bản duyệt"
        last_en = f"last approved: {approved} by {who} at {when}" if approved else "none approved yet"
        evidence.append({"path": f"{path}.unapproved_version", "value": latest})
        return Outcome(
            "fail",
            evidence,
            f"phiên bản {latest} chưa được duyệt, {last} / version {latest} is not approved ({last_en})",
        )

    return run


@dataclass(frozen=True)
class _Check:
    name: str = "config_change"
    Params: type[Params] = Params
    offline_reason: tuple[str, str] | None = OFFLINE_REASON  # server history only: manual in offline audits

    def compile(self, params: Any, compiler: Compiler) -> CompiledCheck:
        return compile(params, compiler)


PLUGIN = _Check()
