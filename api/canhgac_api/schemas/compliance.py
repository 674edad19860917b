"""API shapes of compliance scans, their findings and per-site scores."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from canhgac_collector.config import SITE_CODE_RE

FindingResult = Literal["pass", "fail", "not_applicable", "error"]


class ScanRequest(BaseModel):
    """Start a scan of a site's subtree; `level` defaults to the site's declared (or inherited) level."""

    model_config = ConfigDict(extra="forbid")

    site: Annotated[str, Field(pattern=SITE_CODE_RE)]
    level: Annotated[int, Field(ge=1, le=5)] | None = None


class Counts(BaseModel):
    pass_: int = Field(alias="pass")
    fail: int
    error: int
    not_applicable: int
    score: float | None  # pass / (pass + fail); error and n/a are never counted as pass

    model_config = ConfigDict(populate_by_name=True)


class ScanSummary(BaseModel):
    """A scan as the offline report's `scan` section, with its counts and report hash."""

    id: int
    mode: str
    tool: str
    tool_version: str
    trigger: str
    site: dict[str, Any]
    level: int
    started: str
    finished: str
    duration_s: float
    scope: dict[str, Any]
    packs: list[dict[str, Any]]
    rules_evaluated: int
    findings: int
    previous_scan_id: int | None
    counts: Counts
    report_sha256: str


class ScanDetail(ScanSummary):
    summary: dict[str, Any]  # scores per rule, requirement, clause, level, target, overall
    manual_review: list[dict[str, Any]]  # requirements a machine did not decide, with why
    diff: dict[str, Any] | None  # new_fail, fixed, still_failing vs the previous scan (same site, level)


class ScanList(BaseModel):
    scans: list[ScanSummary]
    total: int


class FindingList(BaseModel):
    """Findings with the offline report's keys (rule_id, requirements, levels, target, result,
    evidence, message, remediation, references…)."""

    scan_id: int
    findings: list[dict[str, Any]]
    total: int


class LevelScore(BaseModel):
    level: int
    scan_id: int
    finished: str
    counts: Counts
    requirements: dict[str, Any]  # requirement id → counts and score
    levels: dict[str, Any]  # per rule level (the rule's first level) → counts and score


class SiteCompliance(BaseModel):
    site: str
    declared_level: int | None
    latest: list[LevelScore]  # newest scan per scanned level
