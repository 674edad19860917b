"""One report builder for every scan: the same findings give the same JSON bytes offline (`canhgac audit
--offline`) and on the server (stored scans, `canhgac audit --site`), written by the same writers."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

from canhgac_collector.compliance.scan import scan_report
from canhgac_collector.compliance.targets import StoreScope
from canhgac_collector.store.models import Scan
from canhgac_rules.audit import build_report, iter_device_targets, iter_host_targets
from canhgac_rules.engine import Target, run_scan
from canhgac_rules.report import finding_docs, report_bytes, write_reports
from canhgac_rules.validate import load_default_packs

FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def test_offline_and_server_reports_of_the_same_findings_are_the_same_bytes(tmp_path: Path) -> None:
    configs = FIXTURES / "configs" / "cisco_ios"

    def targets() -> Iterator[Target]:
        yield from iter_device_targets(configs)
        yield from iter_host_targets(FIXTURES / "hosts")

    result = run_scan(load_default_packs(), targets(), 3, now=NOW)
    assert {f.result for f in result.findings} >= {"pass", "fail", "error"}
    offline = build_report(result, site_name=None, configs_dir=configs, facts_dir=None, previous=None)
    scores = result.scores()
    scan = Scan(
        id=7,
        site_id=1,
        level=3,
        trigger="cli",
        actor="cli",
        started_at=result.started,
        finished_at=result.finished,
        packs=[],
        targets={},
        summary=scores,
        manual_review=result.manual_items(),
        previous_scan_id=None,
    )
    scope = StoreScope(site_id=1, code="XA-A", name="Xã A", path="/P/XA-A/", declared_level=3)
    server = scan_report(scan, scope, result, finding_docs(result), None)

    # Only the `scan` section differs (folders and a random id offline; site and scan id on the server).
    assert offline["scan"]["mode"] == "offline"
    assert server["scan"]["mode"] == "server"
    assert list(offline) == list(server)
    assert report_bytes({**offline, "scan": None}) == report_bytes({**server, "scan": None})

    # One writer: the JSON file is exactly report_bytes (what a stored scan's report_sha256 hashes) and
    # SHA256SUMS lists it.
    for name, report in (("offline", offline), ("server", server)):
        files = write_reports(report, tmp_path / name, ["json", "csv"])
        assert [f.name for f in files] == ["canhgac-audit.json", "canhgac-audit.csv", "SHA256SUMS"]
        assert files[0].read_bytes() == report_bytes(report)
        digest = hashlib.sha256(report_bytes(report)).hexdigest()
        assert f"{digest}  canhgac-audit.json\n" in files[-1].read_text(encoding="utf-8")
