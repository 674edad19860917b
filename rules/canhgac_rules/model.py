"""Pack and rule models (pydantic, unknown keys rejected); the JSON Schema is generated from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from canhgac_rules.checks import Condition, StrictModel

RuleId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$", max_length=80)]
Level = Annotated[int, Field(ge=1, le=5)]
Severity = Literal["low", "medium", "high", "critical"]
Scope = Literal["host", "device", "site"]
RequirementId = Annotated[str, Field(pattern=r"^(?:NW|HS)-\d{2}$")]
Clause = Annotated[str, Field(min_length=1, max_length=200)]


class Text(StrictModel):
    """Vietnamese first, English beside it."""

    vi: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class Remediation(Text):
    """How to fix: text, generic commands, and per-platform commands (`cisco_ios: [...]`)."""

    commands: list[str] = Field(default_factory=list)
    commands_by_platform: dict[str, list[str]] = Field(default_factory=dict)


class References(StrictModel):
    """Requirement ids from the table, and the clauses: at least one TCVN clause is required."""

    requirements: Annotated[list[RequirementId], Field(min_length=1)]
    tcvn_11930: Clause | None = None  # TCVN 11930:2017 clause (legacy, via Circular 12/2022 annexes)
    tcvn_14423: Clause | None = None  # TCVN 14423:2026 section (x/y = 3..7 for L1..L5)
    circular_12: Clause | None = None  # Circular 12/2022/TT-BTTTT annex item

    @model_validator(mode="after")
    def _a_clause(self) -> References:
        if not self.tcvn_11930 and not self.tcvn_14423:
            raise ValueError("missing clause reference: give tcvn_14423 and/or tcvn_11930")
        return self


class Input(StrictModel):
    """A tunable threshold: `default`, overridden from a level upward (`"3": 300` applies to L3–L5)."""

    model_config = StrictModel.model_config | {"extra": "allow"}
    default: Any
    description: str | None = None

    @model_validator(mode="after")
    def _level_keys(self) -> Input:
        for key in self.model_extra or {}:
            if key not in {"1", "2", "3", "4", "5"}:
                raise ValueError(f"input override key {key!r} is not a level 1-5")
        return self

    def for_level(self, level: int) -> Any:
        """The value in force at `level`: the override of the highest level ≤ `level`, else default."""
        extra = self.model_extra or {}
        for candidate in range(level, 0, -1):
            if str(candidate) in extra:
                return extra[str(candidate)]
        return self.default


class Applicability(StrictModel):
    """When the rule applies: target platform, OS (distro id / system), role, and fact conditions.

    A target outside these is `not_applicable` (with the reason), never silently skipped.
    """

    platforms: list[str] = Field(default_factory=list)
    os: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    when: list[Condition] = Field(default_factory=list)


class Example(StrictModel):
    """A facts document with optional scan context (level, platform, role, time)."""

    facts: dict[str, Any]
    level: Level | None = None
    platform: str | None = None
    role: str | None = None
    now: str | None = None
    note: str | None = None


class Examples(StrictModel):
    passing: Annotated[list[dict[str, Any]], Field(alias="pass", min_length=1)]
    failing: Annotated[list[dict[str, Any]], Field(alias="fail", min_length=1)]


class Rule(StrictModel):
    """One rule: what is required, why, where in the law, how to check it and how to fix it."""

    id: RuleId
    title: Text
    rationale: Text
    remediation: Remediation
    severity: Severity
    levels: Annotated[list[Level], Field(min_length=1)]
    references: References
    inputs: dict[str, Input] = Field(default_factory=dict)
    applicability: Applicability = Field(default_factory=Applicability)
    check: dict[str, Any]  # typed by the check registry (see canhgac_rules.checks)
    examples: Examples

    @field_validator("levels")
    @classmethod
    def _sorted_unique(cls, levels: list[int]) -> list[int]:
        if len(set(levels)) != len(levels):
            raise ValueError("levels repeat")
        return sorted(levels)


class NotCovered(StrictModel):
    """A machine-checkable requirement this pack does not (yet) check, and why."""

    requirement: RequirementId
    reason: Text


class PackHeader(StrictModel):
    """A pack: id, version, scope, platforms, and its rules (validated one by one)."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]+$")]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+(?:\.\d+)?$")]
    scope: Scope
    platforms: Annotated[list[str], Field(min_length=1)]
    title: Text
    description: Text | None = None
    not_covered: list[NotCovered] = Field(default_factory=list)
    rules: list[dict[str, Any]]
