"""HS-02 coverage per site: the share of a subtree's enrolled hosts whose anti-malware/EDR agent runs and
is connected to its manager, judged by a real scan of the store at level 3 (and 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from canhgac_collector.compliance.scan import run_site_scan
from canhgac_collector.store.models import Finding, Host
from tests.collector.seed import host, open_store


def managed(state: bool | None) -> dict[str, Any]:
    products = [{"name": "Wazuh agent", "kind": "edr", "running": True, "connected": state}]
    return {"endpoint_management": {"products": products, "managed": state}}


def coverage_finding(sessions: Any, code: str, level: int) -> Finding:
    with sessions.begin() as session:
        scan, _report = run_site_scan(session, code, level, trigger="cli")
        return session.scalars(
            select(Finding).where(Finding.scan_id == scan.id, Finding.rule_id == "SITE-AV-COVERAGE")
        ).one()


def test_coverage_counts_every_enrolled_host_of_the_subtree(make_config: Callable[..., Any]) -> None:
    sessions, ids = open_store(make_config())
    with sessions.begin() as session:
        rows = [
            (host(ids["XA-B"], "a1", "pc-b-1"), managed(True)),
            (host(ids["XA-B-MC"], "a2", "pc-b-mc-1"), managed(None)),  # runs, connection unreadable
            (host(ids["XA-B"], "a3", "pc-b-2"), None),  # never sent security facts
            (host(ids["XA-A"], "a4", "pc-a-1"), managed(False)),  # another commune: not counted
        ]
        for row, security in rows:
            row.security = security
            session.add(row)

    finding = coverage_finding(sessions, "XA-B", 3)
    assert finding.result == "fail"
    facts = {e["path"]: e["value"] for e in finding.doc["evidence"]}
    assert facts["endpoint_management.coverage"] == round(1 / 3, 4)

    with sessions.begin() as session:
        for hid in ("a2", "a3"):
            session.get_one(Host, hid).security = managed(True)
    assert coverage_finding(sessions, "XA-B", 3).result == "pass"
    assert coverage_finding(sessions, "XA-A", 3).result == "fail"


def test_a_site_without_enrolled_hosts_is_not_judged(make_config: Callable[..., Any]) -> None:
    sessions, _ids = open_store(make_config())
    assert coverage_finding(sessions, "XA-A", 3).result == "not_applicable"
