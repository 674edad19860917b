"""Run a compliance scan of a site subtree from the store, keep it (Scan + Findings), diff it against the
previous scan of the same site and level, and raise a `compliance.drift` event per rule × target that
went from pass to fail.

The JSON report is built by the offline auditor's builder (`canhgac_rules.report.report_document`, with
the server's `scan` section); the SHA-256 of its file bytes (`canhgac_rules.report.report_bytes`) is
recorded on the scan, so a report file handed to an inspector can be matched to the scan history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Subquery, func, insert, select
from sqlalchemy.orm import Session

from canhgac_collector.compliance.exposure import ExposureSettings, probe_public_addresses
from canhgac_collector.compliance.targets import (
    DEFAULT_COMMUNITIES,
    StoreScope,
    host_and_config_targets,
    site_target,
    snmp_targets,
)
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Device, Finding, Scan, Site
from canhgac_collector.store.secrets import SecretBox
from canhgac_collector.vulns.match import with_vulnerabilities
from canhgac_rules.engine import ScanResult, Target, diff_findings, run_scan
from canhgac_rules.loader import LoadedPack, LoadedRule
from canhgac_rules.report import finding_docs, report_bytes, report_document, tool_version
from canhgac_rules.validate import load_default_packs

log = logging.getLogger("canhgac.compliance")

SNMP_PACK = "snmp-device"
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


class ScanInputError(ValueError):
    """The scan cannot start: unknown site, no level declared or given, level out of range."""


@dataclass
class ScanOptions:
    """What a scan needs beyond the store: the sites' management networks (site code → CIDRs, already
    inherited), the device secrets box, and whether to probe devices with the default communities."""

    management_networks: Mapping[str, Sequence[str]] = field(default_factory=dict)
    box: SecretBox | None = None
    probe_default_communities: bool = False
    probe_timeout_s: float = 1.0
    packs: list[LoadedPack] | None = None  # default: the shipped packs
    # NW-05: site code → its own declared public addresses, checked when `public_scan` is set.
    public_addresses: Mapping[str, Sequence[str]] = field(default_factory=dict)
    public_scan: ExposureSettings | None = None


@cache
def shipped_packs() -> list[LoadedPack]:
    """The shipped rule packs, validated once per process."""
    return load_default_packs()


def store_scope(session: Session, code: str) -> StoreScope:
    """The subtree rooted at `code` and its effective declared level (own, else nearest ancestor's)."""
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise ScanInputError(f"no site {code!r} in the store")
    level, parent_id = site.level, site.parent_id
    while level is None and parent_id is not None:
        parent = session.get(Site, parent_id)
        if parent is None:
            break
        level, parent_id = parent.level, parent.parent_id
    return StoreScope(site.id, site.code, site.name, site.path, level)


def probe_default_communities(
    targets: Sequence[tuple[str, str, int]], timeout_s: float = 1.0
) -> dict[str, list[str]]:
    """Ask each (name, address, port) for sysObjectID with `public` and `private` (SNMPv2c, one try);
    returns name → the communities that got an answer. Only run with the auditor's consent (config)."""
    from canhgac_agent.snmp.client import SnmpEngine
    from canhgac_agent.snmp.errors import SnmpError
    from canhgac_agent.snmp.types import Credentials
    from canhgac_agent.snmp.types import Target as SnmpTarget

    async def one(engine: SnmpEngine, address: str, port: int, community: str) -> bool:
        target = SnmpTarget(address, port, timeout_s=timeout_s, retries=0)
        try:
            await engine.get(target, Credentials("2c", community=community.encode()), [SYS_OBJECT_ID])
        except (SnmpError, OSError):
            return False
        return True

    async def main() -> dict[str, list[str]]:
        async with SnmpEngine() as engine:
            jobs = [
                (name, community, one(engine, address, port, community))
                for name, address, port in targets
                for community in DEFAULT_COMMUNITIES
            ]
            answers = await asyncio.gather(*(job for _, _, job in jobs))
        out: dict[str, list[str]] = {name: [] for name, _, _ in targets}
        for (name, community, _), ok in zip(jobs, answers, strict=True):
            if ok:
                out[name].append(community)
        return out

    return asyncio.run(main())


def public_exposure(
    session: Session,
    scope: StoreScope,
    declared: Mapping[str, Sequence[str]],
    settings: ExposureSettings,
) -> dict[str, Any]:
    """The NW-05 check of the public addresses the subtree's sites declare (site code → addresses);
    `open_services` is None when none is declared: the rule then errs, never passes."""
    codes = session.scalars(
        select(Site.code).where(Site.path.startswith(scope.path, autoescape=True)).order_by(Site.path)
    ).all()
    addresses = [(code, address) for code in codes for address in declared.get(code, ())]
    if not addresses:
        return {
            "addresses": [],
            "open_services": None,
            "note": "không khai báo địa chỉ công khai / no public_addresses declared for these sites",
        }
    return probe_public_addresses(addresses, settings)


def _merge(results: list[ScanResult], packs: list[LoadedPack], level: int) -> ScanResult:
    rules: list[LoadedRule] = []
    seen: set[int] = set()
    for result in results:
        for rule in result.rules:
            if id(rule) not in seen:
                seen.add(id(rule))
                rules.append(rule)
    merged = ScanResult(
        level=level,
        started=min(r.started for r in results),
        finished=max(r.finished for r in results),
        packs=packs,
        rules=rules,
        targets=[t for r in results for t in r.targets],
    )
    merged.findings = [f for r in results for f in r.findings]
    return merged


def run_site_scan(
    session: Session,
    site_code: str,
    level: int | None = None,
    *,
    options: ScanOptions | None = None,
    trigger: str = "api",
    actor: str | None = "system",
    now: dt.datetime | None = None,
) -> tuple[Scan, dict[str, Any]]:
    """Scan the subtree of `site_code` at `level` (default: its declared level), store the scan and its
    findings, diff against the previous scan of the same site and level, record drift events.

    Returns the stored Scan (flushed, with its id) and the JSON report. The caller commits.
    """
    opts = options or ScanOptions()
    scope = store_scope(session, site_code)
    chosen = level if level is not None else scope.declared_level
    if chosen is None:
        raise ScanInputError(f"site {site_code} declares no level (nor do its parents): give a level 1-5")
    if not 1 <= chosen <= 5:
        raise ScanInputError(f"level must be 1-5, got {chosen}")
    packs = opts.packs if opts.packs is not None else shipped_packs()
    probe: dict[str, list[str]] | None = None
    if opts.probe_default_communities:
        devices = session.execute(
            select(Device.name, Device.address, Device.port)
            .join(Site, Device.site_id == Site.id)
            .where(Site.path.startswith(scope.path, autoescape=True))
        ).all()
        probe = probe_default_communities([(n, a, p) for n, a, p in devices], opts.probe_timeout_s)

    main_targets: list[Target] = with_vulnerabilities(session, host_and_config_targets(session, scope))
    exposure = None
    if opts.public_scan is not None:
        exposure = public_exposure(session, scope, opts.public_addresses, opts.public_scan)
    main_targets.append(
        site_target(session, scope, management_networks=opts.management_networks, public_exposure=exposure)
    )
    snmp = snmp_targets(session, scope, box=opts.box, probe=probe)
    # The snmp-device pack judges only snmp targets; every other pack only the other targets (a
    # config target of unknown vendor has no platform and would otherwise pick up SNMP rules).
    other_packs = [p for p in packs if p.id != SNMP_PACK]
    snmp_packs = [p for p in packs if p.id == SNMP_PACK]
    # A device without a usable config (failed pull, none pulled) is one error finding with the reason.
    results = [run_scan(other_packs, main_targets, chosen, now=now, one_error_per_target=True)]
    if snmp_packs:
        results.append(run_scan(snmp_packs, snmp, chosen, now=now))
    result = _merge(results, packs, chosen)

    previous = session.scalar(
        select(Scan)
        .where(Scan.site_id == scope.site_id, Scan.level == chosen)
        .order_by(Scan.id.desc())
        .limit(1)
    )
    findings = finding_docs(result)
    diff: dict[str, Any] | None = None
    if previous is not None:
        before = [
            {"rule_id": r, "target": t, "result": res}
            for r, t, res in session.execute(
                select(Finding.rule_id, Finding.target, Finding.result).where(Finding.scan_id == previous.id)
            )
        ]
        diff = dict(diff_findings(findings, before))
        diff["previous_scan"] = previous.id
    scores = result.scores()
    overall = scores["overall"]
    kinds = [t.kind for t in result.targets]
    used = {rule.pack.id for rule in result.rules}
    scan = Scan(
        site_id=scope.site_id,
        level=chosen,
        trigger=trigger,
        actor=actor,
        started_at=result.started,
        finished_at=result.finished,
        packs=[
            {
                "id": p.id,
                "version": p.version,
                "scope": p.header.scope,
                "rules_at_level": sum(1 for r in result.rules if r.pack is p),
            }
            for p in packs
            if p.id in used
        ],
        targets={
            "hosts": kinds.count("host"),
            "devices": len({t.name for t in result.targets if t.kind == "device"}),
            "sites": kinds.count("site"),
            "targets_with_errors": sum(1 for t in result.targets if t.error),
            "default_community_probe": probe is not None,
        },
        passed=overall["pass"],
        failed=overall["fail"],
        errors=overall["error"],
        not_applicable=overall["not_applicable"],
        score=overall["score"],
        summary=scores,
        manual_review=result.manual_items(),
        previous_scan_id=previous.id if previous is not None else None,
        diff=diff,
        report_sha256="",
    )
    session.add(scan)
    session.flush()
    if findings:  # Core executemany: the ORM unit of work cost ~40 % of a 25k-finding scan
        session.execute(
            insert(Finding),
            [
                {
                    "scan_id": scan.id,
                    "rule_id": doc["rule_id"],
                    "target": str(doc["target"])[:255],
                    "target_kind": doc["target_kind"],
                    "result": doc["result"],
                    "severity": doc["severity"],
                    "doc": doc,
                }
                for doc in findings
            ],
        )
    report = scan_report(scan, scope, result, findings, diff)
    scan.report_sha256 = hashlib.sha256(report_bytes(report)).hexdigest()
    if diff is not None:
        _drift_events(session, scan, scope, diff, findings)
    session.flush()
    log.info(
        "compliance scan site=%s level=%d id=%d pass=%d fail=%d error=%d score=%s",
        scope.code,
        chosen,
        scan.id,
        scan.passed,
        scan.failed,
        scan.errors,
        scan.score,
    )
    return scan, report


def scan_report(
    scan: Scan,
    scope: StoreScope,
    result: ScanResult,
    findings: list[dict[str, Any]],
    diff: dict[str, Any] | None,
) -> dict[str, Any]:
    """The stored scan's JSON report: the offline auditor's document (`report_document`) with the
    server's `scan` section; `findings` are `finding_docs(result)`."""
    meta = scan_meta(scan, scope.code, scope.name, scope.declared_level, result.rules, len(findings))
    return report_document(meta, scan.summary, findings, scan.manual_review, diff)


def scan_meta(
    scan: Scan,
    code: str,
    name: str,
    declared_level: int | None,
    rules: Sequence[LoadedRule] | None = None,
    findings: int | None = None,
) -> dict[str, Any]:
    """The report's `scan` section (also the API's scan summary)."""
    return {
        "id": scan.id,
        "mode": "server",
        "tool": "canhgac",
        "tool_version": tool_version(),
        "trigger": scan.trigger,
        "site": {"code": code, "name": name, "declared_level": declared_level},
        "level": scan.level,
        "started": scan.started_at.isoformat(),
        "finished": scan.finished_at.isoformat(),
        "duration_s": round((scan.finished_at - scan.started_at).total_seconds(), 3),
        "scope": dict(scan.targets),
        "packs": list(scan.packs),
        "rules_evaluated": len(rules) if rules is not None else sum(p["rules_at_level"] for p in scan.packs),
        "findings": findings
        if findings is not None
        else scan.passed + scan.failed + scan.errors + scan.not_applicable,
        "previous_scan_id": scan.previous_scan_id,
    }


def _drift_events(
    session: Session, scan: Scan, scope: StoreScope, diff: dict[str, Any], findings: list[dict[str, Any]]
) -> None:
    """One `compliance.drift` event per rule × target that passed in the previous scan and fails now."""
    by_key = {(f["rule_id"], f["target"]): f for f in findings}
    for entry in diff["new_fail"]:
        if entry["was"] != "pass":
            continue
        finding = by_key[(entry["rule_id"], entry["target"])]
        subject_type = finding["target_kind"]
        # Same subject ids as the other events: a site's code, a host's agent id, a device's name.
        subject_id = str(entry["target"])[:64]
        if subject_type == "site":
            subject_id = scope.code
        elif subject_type == "host" and str(finding.get("source") or "").startswith("store:"):
            subject_id = str(finding["source"]).rsplit("/", 1)[-1][:64]  # store:SITE/host/<agent id>
        record_event(
            session,
            kind="compliance.drift",
            subject_type=subject_type,
            subject_id=subject_id,
            site_id=scope.site_id,
            from_state="pass",
            to_state="fail",
            message=(
                f"Tuân thủ giảm: {entry['rule_id']} trên {entry['target']} chuyển từ đạt sang không đạt / "
                f"compliance drift: {entry['rule_id']} on {entry['target']} went from pass to fail"
            ),
            data={
                "rule_id": entry["rule_id"],
                "target": entry["target"],
                "scan_id": scan.id,
                "previous_scan_id": diff.get("previous_scan"),
                "level": scan.level,
                "requirements": finding["requirements"],
                "message": finding["message"],
            },
            at=scan.finished_at,
        )


def newest_scan_ids() -> Subquery:
    """The id of the newest scan of every (site, level), as a subquery to join `Scan.id` on."""
    return (
        select(Scan.site_id, Scan.level, func.max(Scan.id).label("id"))
        .group_by(Scan.site_id, Scan.level)
        .subquery()
    )


def latest_scores(session: Session) -> dict[tuple[str, int], float]:
    """(site code, level) → score of the newest scan of each, for /metrics
    (`canhgac_compliance_score_ratio{site,level}`); scans that judged nothing are left out."""
    newest = newest_scan_ids()
    rows = session.execute(
        select(Site.code, Scan.level, Scan.score)
        .join(newest, Scan.id == newest.c.id)
        .join(Site, Scan.site_id == Site.id)
    ).all()
    return {(code, level): score for code, level, score in rows if score is not None}


def clause_scores(summary: Mapping[str, Any]) -> dict[str, float]:
    """Legal clause ("TCVN 14423:2026 8.1.2") → score from a scan's summary; clauses nothing judged are
    left out."""
    clauses = summary.get("clause")
    if not isinstance(clauses, Mapping):
        return {}
    return {
        clause: float(counts["score"])
        for clause, counts in clauses.items()
        if isinstance(counts, Mapping) and isinstance(counts.get("score"), int | float)
    }


def latest_clause_scores(session: Session) -> dict[tuple[str, int, str], float]:
    """(site code, level, clause) → clause score of the newest scan of each site and level, for /metrics
    (`canhgac_compliance_clause_score_ratio{site,level,clause}`)."""
    newest = newest_scan_ids()
    rows = session.execute(
        select(Site.code, Scan.level, Scan.summary)
        .join(newest, Scan.id == newest.c.id)
        .join(Site, Scan.site_id == Site.id)
    ).all()
    return {
        (code, level, clause): score
        for code, level, summary in rows
        for clause, score in clause_scores(summary).items()
    }
