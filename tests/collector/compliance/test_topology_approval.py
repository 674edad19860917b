"""NW-30 on a real store: a site's LLDP/CDP links approved with `canhgac topology approve`, then scans
that compare the live links with that snapshot (added/removed links as evidence) and judge its age
against the level's maximum."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.results import DevicePoll, Neighbor, SystemInfo
from canhgac_collector.compliance.scan import ScanOptions, run_site_scan
from canhgac_collector.devices.store import make_device_sink
from canhgac_collector.store.models import Finding, TopologySnapshot
from tests.collector.compliance.test_server_scan import device, store
from tests.conftest import site_tree

APPROVED = "SITE-TOPOLOGY-APPROVED-RECENTLY"
MATCHES = "SITE-TOPOLOGY-MATCHES-APPROVED"


def lldp(local: str, remote: str, remote_port: str) -> Neighbor:
    return Neighbor(
        protocol="lldp", local_ifIndex=None, local_port=local, remote_name=remote, remote_port=remote_port
    )


def poll(name: str, neighbors: list[Neighbor]) -> DevicePoll:
    return DevicePoll(
        device=name,
        started_at=time.time() - 1,
        duration_s=0.1,
        state="up",
        system=SystemInfo(sysName=name, sysDescr="Cisco IOS", vendor="cisco"),
        neighbors=neighbors,
    )


def site_findings(sessions: sessionmaker[Session], scan_id: int) -> dict[str, dict[str, Any]]:
    with sessions() as session:
        rows = session.scalars(
            select(Finding).where(Finding.scan_id == scan_id, Finding.target_kind == "site")
        )
        return {f.rule_id: f.doc for f in rows}


def scan(
    sessions: sessionmaker[Session], level: int, now: dt.datetime | None = None
) -> dict[str, dict[str, Any]]:
    with sessions.begin() as session:
        done, _ = run_site_scan(session, "XA-A", level, options=ScanOptions(), trigger="cli", now=now)
        scan_id = done.id
    return site_findings(sessions, scan_id)


def approve(config_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "canhgac_collector.cli",
            "topology",
            "approve",
            *args,
            "--config",
            str(config_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_approved_topology_then_drift_and_age(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'canhgac.sqlite'}"
    _config, sessions, _box = store(
        db_url,
        tmp_path,
        [
            device("sw-core", "XA-A", 16001, "c0mm-core", role="core"),
            device("sw-a1", "XA-A", 16002, "c0mm-a1"),
            device("sw-a2", "XA-A", 16003, "c0mm-a2"),
        ],
    )
    sink = make_device_sink(sessions)
    # core↔sw-a1 seen from both ends, each spelling the other's port its own way; an AP on sw-a1
    sink.write_many(
        [
            poll("sw-core", [lldp("Gi1/0/1", "sw-a1", "Gi0/24")]),
            poll(
                "sw-a1",
                [
                    lldp("Gi0/24", "SW-CORE.xa-a.gov.vn", "GigabitEthernet1/0/1"),
                    lldp("Gi0/5", "ap-hoitruong", "eth0"),
                ],
            ),
            poll("sw-a2", []),
        ]
    )
    before = scan(sessions, 3)
    assert before[APPROVED]["result"] == "fail"  # never approved
    assert before[APPROVED]["evidence"][0]["value"] is None
    assert before[MATCHES]["result"] == "not_applicable"

    config_path = tmp_path / "server.yaml"
    config_path.write_text(yaml.safe_dump({"database_url": db_url, "sites": site_tree()}), encoding="utf-8")
    unknown = approve(config_path, "--site", "NOPE", "--by", "Nguyễn Văn A")
    assert unknown.returncode == 4
    assert "unknown site 'NOPE'" in unknown.stderr
    done = approve(config_path, "--site", "XA-A", "--by", "Nguyễn Văn A, Phòng VH-TT", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["links"] == 2  # core↔sw-a1 once, sw-a1↔AP
    with sessions() as session:
        snapshot = session.scalars(select(TopologySnapshot)).one()
        assert snapshot.approved_by == "Nguyễn Văn A, Phòng VH-TT"
        approved_at = snapshot.approved_at

    fresh = scan(sessions, 3)
    assert fresh[APPROVED]["result"] == "pass"
    assert fresh[MATCHES]["result"] == "pass"

    # sw-a2 gets cabled to sw-a1 and the AP disappears: one link added, one removed
    sink.write_many(
        [
            poll(
                "sw-a1",
                [
                    lldp("Gi0/24", "SW-CORE.xa-a.gov.vn", "GigabitEthernet1/0/1"),
                    lldp("Gi0/23", "sw-a2", "Gi0/1"),
                ],
            ),
        ]
    )
    drift = scan(sessions, 3)[MATCHES]
    assert drift["result"] == "fail"
    evidence = {item["path"]: item["value"] for item in drift["evidence"]}
    assert evidence["topology.added"] == ["sw-a1[Gi0/23] — sw-a2[Gi0/1]"]
    assert evidence["topology.removed"] == ["ap-hoitruong[eth0] — sw-a1[Gi0/5]"]

    # age: yearly at level 3, quarterly at level 5
    assert scan(sessions, 3, approved_at + dt.timedelta(days=300))[APPROVED]["result"] == "pass"
    assert scan(sessions, 3, approved_at + dt.timedelta(days=400))[APPROVED]["result"] == "fail"
    assert scan(sessions, 5, approved_at + dt.timedelta(days=60))[APPROVED]["result"] == "pass"
    old = scan(sessions, 5, approved_at + dt.timedelta(days=100))[APPROVED]
    assert old["result"] == "fail"
    assert old["evidence"][0]["value"] == approved_at.isoformat()
