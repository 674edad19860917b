"""HS-26: CVE feeds (real Debian security tracker and OSV entries) imported through `canhgac vulns
import` into a real store, malformed feeds refused whole, and a real server scan matching the packages
the agents reported (dpkg order) into the host-linux findings."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.compliance.scan import run_site_scan
from canhgac_collector.config import ServerConfig
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Finding, Host, Site, VulnAffected, VulnFeed
from canhgac_collector.store.sites import sync_sites
from canhgac_collector.vulns.feeds import parse_feed
from canhgac_collector.vulns.match import affected_by
from canhgac_collector.vulns.store import store_feed
from tests.conftest import site_tree

FEEDS = Path(__file__).parent / "feeds"
TRACKER = FEEDS / "debian-tracker.json"
OSV = FEEDS / "osv-debian.json"
CANHGAC = [sys.executable, "-m", "canhgac_collector.cli"]
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*CANHGAC, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def cli_store(tmp_path: Path) -> tuple[Path, str]:
    config = tmp_path / "server.yaml"
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    config.write_text(f"database_url: {url}\nsites: []\n", encoding="utf-8")
    assert run("db", "upgrade", "--config", str(config)).returncode == 0
    return config, url


def feed_rows(url: str) -> tuple[list[tuple[str, str, int]], int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            feeds = [
                tuple(r) for r in session.execute(select(VulnFeed.name, VulnFeed.sha256, VulnFeed.records))
            ]
            ranges = session.scalar(select(func.count()).select_from(VulnAffected)) or 0
    finally:
        engine.dispose()
    return feeds, ranges  # type: ignore[return-value]


def test_import_tracker_and_osv_through_the_cli(tmp_path: Path) -> None:
    config, url = cli_store(tmp_path)
    tracker = run("vulns", "import", str(TRACKER), "--format", "debian", "--json", "--config", str(config))
    assert tracker.returncode == 0, tracker.stderr
    summary = json.loads(tracker.stdout)
    # 6 (package, CVE) entries; CVE-2007-6755 is open in both releases (no fix to apply): skipped
    assert (summary["entries"], summary["records"], summary["skipped"]) == (6, 12, 2)
    assert summary["ecosystems"] == ["debian:10", "debian:11", "debian:12"]
    osv = run("vulns", "import", str(OSV), "--format", "osv", "--json", "--config", str(config))
    assert osv.returncode == 0, osv.stderr
    assert json.loads(osv.stdout)["ecosystems"] == ["debian:11", "pypi"]
    again = run("vulns", "import", str(OSV), "--format", "osv", "--config", str(config))
    assert again.returncode == 0
    assert "replaced" in again.stdout
    listed = json.loads(run("vulns", "list", "--json", "--config", str(config)).stdout)
    assert [(f["name"], f["format"], f["records"]) for f in listed] == [
        ("debian", "debian", 12),
        ("osv", "osv", 3),
    ]
    assert feed_rows(url)[1] == 15  # the re-import replaced the OSV ranges, it did not add to them


def _tracker_with(package: str, cve: str, release: dict[str, Any]) -> bytes:
    data = json.loads(TRACKER.read_bytes())
    data.setdefault(package, {})[cve] = {"releases": {"bullseye": release}}
    return json.dumps(data).encode()


def _osv_with(entry: dict[str, Any]) -> bytes:
    return json.dumps([*json.loads(OSV.read_bytes()), entry]).encode()


MALFORMED = [
    ("debian", b'{"sudo": {"CVE-2023-22809": ', "not valid JSON"),
    ("debian", b'["sudo"]', "top level (package → CVE → releases): expected an object, got list"),
    (
        "debian",
        _tracker_with("sudo", "CVE-2099-0001", {"status": "resolved", "fixed_version": 5}),
        "package sudo → CVE-2099-0001.releases.bullseye.fixed_version: expected a string, got int",
    ),
    (
        "debian",
        _tracker_with("sudo", "CVE-2099-0002", {"fixed_version": "1.0-1"}),
        "package sudo → CVE-2099-0002.releases.bullseye.status: missing",
    ),
    (
        "debian",
        _tracker_with("sudo", "CVE-2099-0003", {"status": "resolved", "fixed_version": "1" * 100_000}),
        "fixed_version: 100000 characters, at most 128 allowed",
    ),
    (
        "osv",
        _osv_with({"id": "X" * 100_000, "affected": []}),
        "entry 3.id: 100000 characters, at most 64 allowed",
    ),
    (
        "osv",
        _osv_with({"id": "DSA-9999-1", "affected": [{"package": {"ecosystem": "Debian:12"}, "ranges": []}]}),
        "entry 3 (id DSA-9999-1).affected[0].package.name: missing",
    ),
    (
        "osv",
        _osv_with(
            {
                "id": "DSA-9999-2",
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": "sudo"},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": ["1.0"]}]}
                        ],
                    }
                ],
            }
        ),
        "entry 3 (id DSA-9999-2).affected[0].ranges[0].events[1].fixed: expected a string, got list",
    ),
    ("osv", _osv_with({"id": "DSA-9999-3", "aliases": "CVE-2024-0001"}), "aliases: expected a list, got str"),
]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store holding both good feeds; every malformed import below must leave it exactly so."""
    config, url = cli_store(tmp_path_factory.mktemp("store"))
    assert run("vulns", "import", str(TRACKER), "--format", "debian", "--config", str(config)).returncode == 0
    assert run("vulns", "import", str(OSV), "--format", "osv", "--config", str(config)).returncode == 0
    return config, url


@pytest.mark.parametrize(("fmt", "content", "message"), MALFORMED, ids=[m[2][:40] for m in MALFORMED])
def test_malformed_feed_is_refused_and_the_store_is_unchanged(
    imported: tuple[Path, str], tmp_path: Path, fmt: str, content: bytes, message: str
) -> None:
    config, url = imported
    before = feed_rows(url)
    assert before[1] == 15
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    proc = run("vulns", "import", str(bad), "--format", fmt, "--config", str(config))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "nothing imported" in proc.stderr
    assert feed_rows(url) == before  # the earlier feed of that name is still there, whole


def test_dpkg_order_decides_what_is_affected() -> None:
    assert affected_by("1.1.1n-0+deb11u3", None, "1.1.1n-0+deb11u4")
    assert not affected_by("1.1.1n-0+deb11u4", None, "1.1.1n-0+deb11u4")
    assert not affected_by("1.1.1w-0+deb11u1", None, "1.1.1n-0+deb11u4")  # w > n
    assert affected_by("3.0.11-1~deb12u2", None, "3.0.11-1")  # ~ sorts before the release
    assert not affected_by("1:1.0-1", None, "2.0-1")  # the epoch wins
    assert not affected_by("1.0-1", "1.5-1", "2.0-1")  # before the range was introduced
    assert not affected_by("not a version!", None, "2.0-1")  # never guessed


def _host(session: Session, site: Site, index: int, name: str, os: dict[str, Any], software: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    session.add(
        Host(
            id=f"agent-{index}",
            machine_id=f"m-{index}",
            hostname=name,
            site_id=site.id,
            state_changed_at=now,
            enrolled_at=now,
            latest_report=json.dumps({"host": {"hostname": name, "os": os}}).encode(),
            security={"platform": "linux", "software": software},
            security_collected_at=NOW - dt.timedelta(hours=2),
        )
    )


def _dpkg(*packages: tuple[str, str]) -> dict[str, Any]:
    return {
        "source": "dpkg",
        "packages": [{"name": n, "version": v, "publisher": None} for n, v in packages],
        "truncated": False,
    }


def scan_store(db_url: str, imported_at: dt.datetime) -> sessionmaker[Session]:
    config = ServerConfig(database_url=db_url, sites=site_tree())
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(config))
        for path, fmt in ((TRACKER, "debian"), (OSV, "osv")):
            data = path.read_bytes()
            store_feed(session, parse_feed(data, fmt), name=fmt, source=path.name, data=data, now=imported_at)  # type: ignore[arg-type]
        site = session.scalar(select(Site).where(Site.code == "XA-A"))
        assert site is not None
        debian = {"system": "Linux", "distro_id": "debian"}
        _host(
            session,
            site,
            1,
            "srv-cu",
            {**debian, "distro_version": "11"},
            _dpkg(("openssl", "1.1.1n-0+deb11u3"), ("sudo", "1.9.5p2-3"), ("bash", "5.1-2+deb11u1")),
        )
        _host(
            session,
            site,
            2,
            "srv-moi",
            {**debian, "distro_version": "12"},
            _dpkg(("openssl", "3.0.15-1~deb12u1"), ("sudo", "1.9.13p3-1+deb12u1")),
        )
        rpm = {"source": "rpm", "packages": [{"name": "sudo", "version": "1.9.5p2-9.el9", "publisher": None}]}
        _host(
            session,
            site,
            3,
            "srv-rpm",
            {"system": "Linux", "distro_id": "rocky", "distro_version": "9.4"},
            rpm,
        )
    return sessions


def findings(sessions: sessionmaker[Session], scan_id: int, rule: str) -> dict[str, dict[str, Any]]:
    with sessions() as session:
        rows = session.scalars(select(Finding).where(Finding.scan_id == scan_id, Finding.rule_id == rule))
        return {f.target: f.doc for f in rows}


def test_server_scan_reports_unpatched_cves_with_fixed_versions(db_url: str) -> None:
    sessions = scan_store(db_url, imported_at=NOW - dt.timedelta(days=10))
    with sessions.begin() as session:
        scan, _ = run_site_scan(session, "P", 3, trigger="cli", now=NOW)
    fixes = findings(sessions, scan.id, "HOST-LNX-VULN-FIXES-APPLIED")
    old = fixes["srv-cu"]
    assert old["result"] == "fail"
    listed = {(e["value"]["package"], e["value"]["cve"], e["value"]["fixed"]) for e in old["evidence"][:-1]}
    assert listed == {
        ("openssl", "CVE-2022-4304", "1.1.1n-0+deb11u4"),  # from the OSV advisory's aliases only
        ("openssl", "CVE-2022-4450", "1.1.1n-0+deb11u4"),
        ("openssl", "CVE-2023-0215", "1.1.1n-0+deb11u4"),
        ("openssl", "CVE-2023-0286", "1.1.1n-0+deb11u4"),  # tracker and OSV agree: listed once
        ("sudo", "CVE-2023-22809", "1.9.5p2-3+deb11u1"),
    }  # CVE-2022-0778 (fixed in deb11u1) and CVE-2021-3156 (fixed in 1.9.5p2-1) are already applied
    assert old["evidence"][-1] == {"path": "count(vulnerabilities)", "value": 5}
    assert fixes["srv-moi"]["result"] == "pass"
    # rpm packages: no imported feed describes them, so the rule cannot pass
    assert fixes["srv-rpm"]["result"] == "error"
    fresh = findings(sessions, scan.id, "HOST-LNX-VULN-SCAN-FRESH")
    assert (fresh["srv-cu"]["result"], fresh["srv-moi"]["result"], fresh["srv-rpm"]["result"]) == (
        "pass",
        "pass",
        "error",
    )


def test_a_stale_feed_does_not_prove_the_levels_scanning_period(db_url: str) -> None:
    sessions = scan_store(db_url, imported_at=NOW - dt.timedelta(days=200))
    with sessions.begin() as session:
        level3, _ = run_site_scan(session, "P", 3, trigger="cli", now=NOW)  # every 6 months
        level2, _ = run_site_scan(session, "P", 2, trigger="cli", now=NOW)  # yearly
    assert findings(sessions, level3.id, "HOST-LNX-VULN-SCAN-FRESH")["srv-moi"]["result"] == "fail"
    assert findings(sessions, level2.id, "HOST-LNX-VULN-SCAN-FRESH")["srv-moi"]["result"] == "pass"


def test_without_a_feed_the_host_is_not_scanned(db_url: str) -> None:
    sessions = scan_store(db_url, imported_at=NOW)
    with sessions.begin() as session:
        session.execute(delete(VulnAffected))
        session.execute(delete(VulnFeed))
    with sessions.begin() as session:
        scan, _ = run_site_scan(session, "P", 3, trigger="cli", now=NOW)
    fresh = findings(sessions, scan.id, "HOST-LNX-VULN-SCAN-FRESH")["srv-cu"]
    assert fresh["result"] == "fail"
    assert fresh["evidence"][0] == {"path": "vuln_feed_imported_at", "value": None}
    assert findings(sessions, scan.id, "HOST-LNX-VULN-FIXES-APPLIED")["srv-cu"]["result"] == "error"
