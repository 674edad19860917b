"""Server-side scans against a real store (SQLite and PostgreSQL): targets built from stored polls, the
default-community probe against a live net-snmp `snmpd` on loopback, facts that cannot be decided,
the scheduler, and `audit_site` writing reports whose hash is the stored scan's."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.results import DevicePoll, InterfaceSample, SystemInfo
from canhgac_collector.compliance.cli import audit_site
from canhgac_collector.compliance.scan import (
    ScanInputError,
    ScanOptions,
    latest_scores,
    probe_default_communities,
    run_site_scan,
)
from canhgac_collector.compliance.scheduler import ComplianceScheduler, management_networks, scan_options
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.store import make_device_sink, sync_config_devices
from canhgac_collector.lab.snmpd import Snmpd, SnmpdError, snmpd_executable
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Event, Finding, Scan
from canhgac_collector.store.secrets import SecretBox
from canhgac_collector.store.sites import sync_sites
from tests.conftest import site_tree

DAY_CS = 100 * 86400  # sysUpTime hundredths of a second per day


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """A live agent that answers the vendor-default community `public` (a badly configured switch)."""
    try:
        snmpd_executable()
    except SnmpdError as exc:
        pytest.fail(f"{exc} (scripts/install-system-deps installs net-snmp's snmpd)")
    with Snmpd(tmp_path_factory.mktemp("snmpd"), communities=("public",)) as agent:
        yield agent


def store(
    db_url: str, tmp_path: Path, devices: list[dict[str, Any]], **extra: Any
) -> tuple[ServerConfig, sessionmaker[Session], SecretBox]:
    config = ServerConfig(
        database_url=db_url,
        sites=extra.pop("sites", site_tree()),
        devices=devices,
        snmp={"secrets_key_file": str(tmp_path / "secrets.key")},
        **extra,
    )
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    box = SecretBox.for_config(config)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(config))
        sync_config_devices(session, config, box)
    return config, sessions, box


def device(name: str, site: str, port: int, community: str, role: str = "access") -> dict[str, Any]:
    return {
        "name": name,
        "address": "127.0.0.1",
        "port": port,
        "site": site,
        "role": role,
        "snmp": {"version": "2c", "community": community},
    }


def poll(name: str, *, uptime_days: float, interfaces: list[InterfaceSample], **system: Any) -> DevicePoll:
    info = SystemInfo(sysName=name, sysDescr="Cisco IOS", vendor="cisco", sysUpTime=int(uptime_days * DAY_CS))
    for key, value in system.items():
        setattr(info, key, value)
    return DevicePoll(
        device=name,
        started_at=time.time() - 1,
        duration_s=0.1,
        state="up",
        system=info,
        interfaces=interfaces,
    )


def port(index: int, admin: str, oper: str, in_octets: int, last_change: int = 0) -> InterfaceSample:
    """`last_change`: ifLastChange in ticks of sysUpTime (0: unchanged since the device's boot)."""
    return InterfaceSample(
        ifIndex=index,
        ifName=f"Gi0/{index}",
        ifType=6,
        ifAdminStatus=admin,
        ifOperStatus=oper,
        ifLastChange=last_change,
        counters={"ifHCInOctets": in_octets, "ifHCOutOctets": 0},
    )


def findings_of(sessions: sessionmaker[Session], scan_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    with sessions() as session:
        return {
            (f.rule_id, f.target): f.doc
            for f in session.scalars(select(Finding).where(Finding.scan_id == scan_id))
        }


def test_default_community_probe_against_live_snmpd(db_url: str, tmp_path: Path, snmpd: Snmpd) -> None:
    host, agent_port = snmpd.endpoint
    # sw-bad answers `public`; sw-quiet points at a loopback port where no agent listens
    config, sessions, box = store(
        db_url,
        tmp_path,
        [device("sw-bad", "XA-A", agent_port, "public"), device("sw-quiet", "XA-B", 9, "s3cret-c0mm")],
    )
    answered = probe_default_communities([("sw-bad", host, agent_port), ("sw-quiet", host, 9)], timeout_s=0.5)
    assert answered == {"sw-bad": ["public"], "sw-quiet": []}

    make_device_sink(sessions).write_many(
        [
            poll("sw-bad", uptime_days=40, interfaces=[port(1, "up", "up", 10), port(2, "up", "down", 0)]),
            poll(
                "sw-quiet",
                uptime_days=40,
                interfaces=[port(1, "up", "down", 5, last_change=int(38 * DAY_CS))],
                sysContact="CNTT xã B",
            ),
        ]
    )
    options = scan_options(config, box)
    options.probe_default_communities = True
    options.probe_timeout_s = 0.5
    with sessions.begin() as session:
        scan, report = run_site_scan(session, "P", 3, options=options, trigger="cli")
    found = findings_of(sessions, scan.id)
    probe = found[("SNMP-DEFAULT-COMMUNITY-REFUSED", "sw-bad")]
    assert probe["result"] == "fail"
    assert probe["evidence"] == [{"path": "snmp.default_communities_answering", "value": ["public"]}]
    assert found[("SNMP-DEFAULT-COMMUNITY-REFUSED", "sw-quiet")]["result"] == "pass"
    # the store knows sw-bad is polled with `public` itself (decrypted, never shown)
    assert found[("SNMP-NO-DEFAULT-COMMUNITY-IN-USE", "sw-bad")]["result"] == "fail"
    assert found[("SNMP-NO-DEFAULT-COMMUNITY-IN-USE", "sw-quiet")]["result"] == "pass"
    assert "s3cret-c0mm" not in json.dumps(report, ensure_ascii=False)
    # NW-26: Gi0/2 is admin up and down, unchanged since the device booted 40 days ago; sw-quiet's down
    # port went down 2 days ago, so it is not silent long enough to count as unused
    unused = found[("SNMP-UNUSED-PORTS-SHUT", "sw-bad")]
    assert unused["result"] == "fail"
    assert unused["evidence"][0]["path"] == "interfaces[Gi0/2]"
    assert unused["evidence"][0]["value"]["silent_days"] == 40.0
    assert found[("SNMP-UNUSED-PORTS-SHUT", "sw-quiet")]["result"] == "pass"
    assert found[("SNMP-SYS-CONTACT-SET", "sw-quiet")]["result"] == "pass"
    assert report["scan"]["scope"]["default_community_probe"] is True


def test_undecidable_facts_are_errors_never_passes(db_url: str, tmp_path: Path) -> None:
    """No management network declared → NW-03 errs; a device never polled → every SNMP rule errs."""
    _config, sessions, box = store(db_url, tmp_path, [device("sw-new", "XA-A", 16999, "c0mm-unused")])
    with sessions.begin() as session:
        scan, _report = run_site_scan(session, "XA-A", 3, options=ScanOptions(box=box))
    found = findings_of(sessions, scan.id)
    mgmt = found[("SITE-MGMT-ADDRESS-IN-MGMT-NETWORK", "site:XA-A")]
    assert mgmt["result"] == "error"
    assert "management_networks" in mgmt["message"]
    snmp = [f for (rule, target), f in found.items() if rule.startswith("SNMP-") and target == "sw-new"]
    assert snmp
    assert {f["result"] for f in snmp} == {"error"}
    assert all("never polled" in f["message"] for f in snmp)
    # the device has no ssh: settings, so no config was pulled: one error finding with the reason
    assert ("DEV-MGMT-NO-TELNET", "sw-new") not in found
    assert found[("TARGET-NOT-EVALUATED", "sw-new")]["result"] == "error"
    assert "no config available" in found[("TARGET-NOT-EVALUATED", "sw-new")]["message"]
    with sessions() as session, pytest.raises(ScanInputError, match="no site 'NOPE'"):
        run_site_scan(session, "NOPE")
    with sessions() as session, pytest.raises(ScanInputError, match="level must be 1-5"):
        run_site_scan(session, "XA-A", 9)


def test_management_networks_are_inherited() -> None:
    tree = site_tree()
    tree[0]["management_networks"] = ["10.10.99.0/24"]
    tree[0]["children"][1]["management_networks"] = ["10.20.99.0/24"]
    nets = management_networks(ServerConfig(sites=tree))
    assert nets["P"] == ["10.10.99.0/24"]
    assert nets["XA-A"] == ["10.10.99.0/24"]  # via D1
    assert nets["XA-B"] == ["10.20.99.0/24"]
    assert nets["XA-B-MC"] == ["10.20.99.0/24"]
    tree[0]["management_networks"] = ["10.10.99.0/33"]
    with pytest.raises(ValueError, match="management_networks"):
        ServerConfig(sites=tree)


def test_scheduler_scans_declared_sites_and_drift_needs_a_pass_first(db_url: str, tmp_path: Path) -> None:
    config, sessions, box = store(
        db_url,
        tmp_path,
        [device("sw-a", "XA-A", 16999, "c0mm-a")],
        compliance={"enabled": True, "interval_h": 1},
    )
    sink = make_device_sink(sessions)
    sink.write_many([poll("sw-a", uptime_days=2, interfaces=[port(1, "up", "up", 5)], sysLocation="Phòng 1")])
    seen: list[int] = []
    scheduler = ComplianceScheduler(config, sessions, box, on_scan=lambda scan, _r: seen.append(scan.id))
    first = scheduler.run_once()
    assert len(first) == 3  # P, XA-A, XA-B declare levels; D1 and the office only inherit
    assert seen == first
    # sysLocation cleared on the device → pass → fail: one drift event for that rule and device
    sink.write_many([poll("sw-a", uptime_days=2, interfaces=[port(1, "up", "up", 5)], sysLocation="")])
    second = scheduler.run_once()
    with sessions() as session:
        drift = session.scalars(select(Event).where(Event.kind == "compliance.drift")).all()
        scans = session.scalars(select(Scan).where(Scan.id.in_(second))).all()
        scores = latest_scores(session)
    by_subject = sorted((e.subject_id, (e.data or {})["rule_id"]) for e in drift)
    # sw-a is in the subtrees of P and XA-A (not XA-B): one event per scan that holds it
    assert by_subject == [
        ("P", "SITE-DEVICE-INVENTORY-FIELDS"),
        ("XA-A", "SITE-DEVICE-INVENTORY-FIELDS"),
        ("sw-a", "SNMP-SYS-LOCATION-SET"),
        ("sw-a", "SNMP-SYS-LOCATION-SET"),
    ]
    assert all(s.trigger == "scheduled" and s.previous_scan_id is not None for s in scans)
    assert set(scores) == {("P", 3), ("XA-A", 2), ("XA-B", 2)}


def test_audit_site_report_hash_is_recorded(db_url: str, tmp_path: Path) -> None:
    config, sessions, _box = store(db_url, tmp_path, [device("sw-a", "XA-A", 16999, "c0mm-a")])
    make_device_sink(sessions).write_many([poll("sw-a", uptime_days=1, interfaces=[port(1, "up", "up", 1)])])
    out = audit_site(config, "XA-A", level=None, out_dir=tmp_path / "report", formats=["json", "csv"])
    json_file = tmp_path / "report" / "canhgac-audit.json"
    digest = hashlib.sha256(json_file.read_bytes()).hexdigest()
    with sessions() as session:
        scan = session.get(Scan, out.scan_id)
        assert scan is not None
        assert scan.report_sha256 == digest
        assert scan.trigger == "cli"
        assert scan.level == 2
    sums = (tmp_path / "report" / "SHA256SUMS").read_text()
    assert f"{digest}  canhgac-audit.json" in sums
    report = json.loads(json_file.read_text(encoding="utf-8"))
    assert report["scan"]["id"] == out.scan_id
    assert report["scan"]["level"] == 2
    assert {f["target"] for f in report["findings"]} >= {"sw-a", "site:XA-A"}
    with pytest.raises(ScanInputError, match="no site"):
        audit_site(config, "NOPE", level=2, out_dir=tmp_path / "x", formats=["json"])
