"""Compliance scans: start one (admin, auditor), list and read scans and findings, per-site scores.

Everything is scoped to the caller's subtree: a scan or site outside it answers 404, exactly like one
that does not exist. A scan runs in a worker thread; the answer comes when it is stored.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from canhgac_api.auth import Principal, Reader, require, visible_site_path
from canhgac_api.context import AppContext, Ctx
from canhgac_api.problems import ProblemError, problem_responses, rate_limited
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.compliance import (
    Counts,
    FindingList,
    FindingResult,
    LevelScore,
    ScanDetail,
    ScanList,
    ScanRequest,
    ScanSummary,
    SiteCompliance,
)
from canhgac_collector.compliance import queries
from canhgac_collector.compliance.scan import (
    ScanInputError,
    run_site_scan,
    scan_meta,
    store_scope,
)
from canhgac_collector.compliance.scheduler import scan_options
from canhgac_collector.config import SITE_CODE_RE
from canhgac_collector.store.models import Scan, Site
from canhgac_collector.store.secrets import SecretBox, SecretsError
from canhgac_collector.store.sites import visible_site

router = APIRouter(tags=["compliance"])
PLUGIN = Routes("compliance", router)
Scanner = Annotated[Principal, Depends(require("admin", "auditor"))]
ScanId = Annotated[int, Path(ge=1, le=2**62, description="the scan's id")]


def _not_found(what: str) -> ProblemError:
    return ProblemError(404, "not-found", "Not found", f"no {what} within your scope")


def _counts(scan: Scan) -> Counts:
    return Counts.model_validate(
        {
            "pass": scan.passed,
            "fail": scan.failed,
            "error": scan.errors,
            "not_applicable": scan.not_applicable,
            "score": scan.score,
        }
    )


def _summary(scan: Scan, site: Site, declared: int | None) -> dict[str, Any]:
    return {
        **scan_meta(scan, site.code, site.name, declared),
        "counts": _counts(scan),
        "report_sha256": scan.report_sha256,
    }


def _declared(session: Session, code: str) -> int | None:
    return store_scope(session, code).declared_level


def _visible_scan(session: Session, principal: Principal, scan_id: int) -> tuple[Scan, Site]:
    row = queries.find_scan(session, principal.scope_path, scan_id)
    if row is None:
        raise _not_found(f"scan {scan_id}")
    return row


def _box(ctx: AppContext) -> SecretBox | None:
    if ctx.device_secrets is not None:
        return ctx.device_secrets
    try:
        return SecretBox.for_config(ctx.config)
    except (SecretsError, OSError):
        return None


def _scan(ctx: AppContext, body: ScanRequest, principal: Principal) -> dict[str, Any]:
    with ctx.sessions.begin() as session:
        visible_site_path(session, principal, body.site)  # 404 outside the caller's subtree
        try:
            scan, _report = run_site_scan(
                session,
                body.site,
                body.level,
                options=scan_options(ctx.config, _box(ctx)),
                trigger="api",
                actor=principal.token_id,
            )
        except ScanInputError as exc:
            raise ProblemError(422, "invalid-scan", "Cannot scan", str(exc)) from None
        site = session.get(Site, scan.site_id)
        assert site is not None
        summary = _summary(scan, site, _declared(session, site.code))
    if ctx.server is not None:
        ctx.server.publish_scan(scan)
    return summary


@router.post(
    "/api/v1/scans",
    status_code=201,
    response_model=ScanSummary,
    responses=problem_responses(401, 403, 404, 429),
    summary="Run a compliance scan of a site's subtree now (admin, auditor)",
)
async def start_scan(body: ScanRequest, principal: Scanner, ctx: Ctx) -> dict[str, Any]:
    allowed, wait = ctx.scan_limiter.allow(principal.token_id)
    if not allowed:
        ctx.telemetry.refused[("scan", "rate_limited")] += 1
        raise rate_limited(
            f"more than {ctx.config.compliance.max_scans_per_hour} scans in an hour with this token", wait
        )
    return await asyncio.to_thread(_scan, ctx, body, principal)


@router.get(
    "/api/v1/scans",
    response_model=ScanList,
    responses=problem_responses(401, 403, 404),
    summary="Scans in your scope, newest first, optionally of one site",
)
def list_scans(
    principal: Reader,
    ctx: Ctx,
    site: Annotated[str | None, Query(pattern=SITE_CODE_RE, description="scans of this site")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    with ctx.sessions() as session:
        if site is not None:
            visible_site_path(session, principal, site)  # 404 outside the caller's subtree
        found = queries.list_scans(session, principal.scope_path, site_code=site, limit=limit)
        declared: dict[str, int | None] = {}
        scans = []
        for scan, s in found.rows:
            if s.code not in declared:
                declared[s.code] = _declared(session, s.code)
            scans.append(_summary(scan, s, declared[s.code]))
    return {"scans": scans, "total": found.total}


@router.get(
    "/api/v1/scans/{scan_id}",
    response_model=ScanDetail,
    responses=problem_responses(401, 403, 404),
    summary="One scan: metadata, scores, manual-review items and the diff against the previous scan",
)
def scan_detail(scan_id: ScanId, principal: Reader, ctx: Ctx) -> dict[str, Any]:
    with ctx.sessions() as session:
        scan, site = _visible_scan(session, principal, scan_id)
        return {
            **_summary(scan, site, _declared(session, site.code)),
            "summary": scan.summary,
            "manual_review": scan.manual_review,
            "diff": scan.diff,
        }


@router.get(
    "/api/v1/scans/{scan_id}/findings",
    response_model=FindingList,
    responses=problem_responses(401, 403, 404),
    summary="A scan's findings (offline report keys), optionally of one result",
)
def scan_findings(
    scan_id: ScanId,
    principal: Reader,
    ctx: Ctx,
    result: FindingResult | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    with ctx.sessions() as session:
        scan, _site = _visible_scan(session, principal, scan_id)
        found = queries.scan_findings(session, scan.id, result=result, limit=limit, offset=offset)
    return {"scan_id": scan_id, "findings": list(found.rows), "total": found.total}


@router.get(
    "/api/v1/sites/{code}/compliance",
    response_model=SiteCompliance,
    responses=problem_responses(401, 403, 404),
    summary="A site's newest compliance scores per scanned level and per requirement",
)
def site_compliance(
    code: Annotated[str, Path(pattern=SITE_CODE_RE)], principal: Reader, ctx: Ctx
) -> dict[str, Any]:
    with ctx.sessions() as session:
        site = visible_site(session, code, principal.scope_path)
        if site is None:
            raise _not_found(f"site {code!r}")
        scans = queries.newest_scans(session, site.id)
        latest = [
            LevelScore(
                level=s.level,
                scan_id=s.id,
                finished=s.finished_at.isoformat(),
                counts=_counts(s),
                requirements=s.summary.get("requirement", {}),
                levels=s.summary.get("level", {}),
            )
            for s in scans
        ]
        return {"site": site.code, "declared_level": _declared(session, site.code), "latest": latest}
