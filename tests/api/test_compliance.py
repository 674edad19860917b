"""Compliance over the API: a province with an enrolled Linux host and polled switches, scanned at its
declared level; findings for host, snmp-device and site targets with evidence; scores; a second scan
after the host's firewall is turned off shows the drift (diff + `compliance.drift` event); scoping;
scheduled scans."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.api.conftest import Api
from tests.api.device_fixtures import make_device_api, populate
from tests.conftest import site_tree
from tests.harness.reports import make_report

PC1_MAC = "00:50:56:aa:00:01"  # learned by sw-a1 on Gi0/2 (an edge port: its LLDP neighbour is a phone)


def tree_with_management_networks() -> list[dict[str, Any]]:
    """The test tree; the province's management network holds 127.0.0.1 (every device's address),
    commune A declares another one, so sw-a1 (127.0.0.1, in XA-A) is outside its management network."""
    tree = copy.deepcopy(site_tree())
    tree[0]["management_networks"] = ["127.0.0.0/8"]
    tree[0]["children"][0]["children"][0]["management_networks"] = ["10.20.99.0/24"]
    return tree


def host_report(seq: int, *, firewall: bool = True) -> dict[str, Any]:
    report = make_report("x", seq, hostname="pc-xa-a-01", machine_id="m-xa-a-01", with_security=True)
    report["security"]["firewall"]["enabled"] = firewall
    return report


def enrol_host(api: Api) -> str:
    """Enroll a Linux PC at commune A and send one report with security facts; returns its token."""
    enrolled = api.enroll("commune-a-key-0123456789", "m-xa-a-01", "pc-xa-a-01")
    token = str(enrolled["token"])
    report = host_report(1) | {"agent_id": enrolled["agent_id"]}
    r = api.push(token, [report])
    assert r.status_code == 200, r.text
    return token


def push_security(api: Api, token: str, agent_id: str, seq: int, *, firewall: bool) -> None:
    r = api.push(token, [host_report(seq, firewall=firewall) | {"agent_id": agent_id}])
    assert r.status_code == 200, r.text


def wait_host_firewall(api: Api, admin: str, enabled: bool) -> None:
    """Ingest commits in the writer thread; wait until the new security facts are stored."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        hosts = api.get("/api/v1/hosts", admin).json()["hosts"]
        detail = api.get(f"/api/v1/hosts/{hosts[0]['id']}", admin).json()
        if (detail.get("security") or {}).get("firewall", {}).get("enabled") is enabled:
            return
        time.sleep(0.05)
    raise AssertionError(f"host security facts never showed firewall.enabled={enabled}")


def by_rule_target(findings: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["rule_id"], f["target"]): f for f in findings}


def test_scan_drift_scores_and_scoping(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(make_api, tmp_path, sites=tree_with_management_networks())
    populate(api)
    token = enrol_host(api)
    admin = api.token("admin")
    auditor = api.token("auditor")
    agent_id = api.get("/api/v1/hosts", admin).json()["hosts"][0]["id"]

    r = api.client.post("/api/v1/scans", json={"site": "P"}, headers=api.auth(auditor))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["level"] == 3  # the province's declared level
    assert first["site"]["code"] == "P"
    assert first["scope"]["hosts"] == 1
    assert first["scope"]["devices"] == 4
    assert first["scope"]["sites"] == 1
    counts = first["counts"]
    assert counts["pass"] > 0
    assert counts["fail"] > 0
    assert counts["error"] > 0
    assert counts["score"] == round(counts["pass"] / (counts["pass"] + counts["fail"]), 4)
    assert len(first["report_sha256"]) == 64
    assert {p["id"] for p in first["packs"]} >= {"host-linux", "device-config", "snmp-device", "site-network"}

    findings = api.get(f"/api/v1/scans/{first['id']}/findings", admin).json()["findings"]
    found = by_rule_target(findings)
    for f in findings:
        assert {"rule_id", "requirements", "levels", "target", "result", "evidence"} <= set(f)

    # host: the firewall is on, judged from the agent's facts
    fw = found[("HOST-LNX-FIREWALL-ENABLED", "pc-xa-a-01")]
    assert fw["result"] == "pass"
    assert fw["evidence"][0]["path"] == "firewall.enabled"
    assert fw["evidence"][0]["value"] is True
    # snmp-device: v2c where level 3 needs v3 authPriv fails, sw-b1 (v3 authPriv) passes
    assert found[("SNMP-V3-AUTHPRIV", "sw-a1")]["result"] == "fail"
    assert found[("SNMP-V3-AUTHPRIV", "sw-a1")]["evidence"] == [{"path": "snmp.security", "value": "v2c"}]
    assert found[("SNMP-V3-AUTHPRIV", "sw-b1")]["result"] == "pass"
    assert found[("SNMP-NO-DEFAULT-COMMUNITY-IN-USE", "core-p")]["result"] == "pass"
    # no probe ran (not enabled): the probe rule cannot be decided, so it is an error, never a pass
    assert found[("SNMP-DEFAULT-COMMUNITY-REFUSED", "core-p")]["result"] == "error"
    assert found[("SNMP-SYS-CONTACT-SET", "core-p")]["result"] == "fail"  # the polls carry no sysContact
    # the devices have no ssh: settings, so no config is pulled: one error finding with the reason
    assert ("DEV-MGMT-NO-TELNET", "core-p") not in found
    config_rule = found[("TARGET-NOT-EVALUATED", "core-p")]
    assert config_rule["result"] == "error"
    assert "no config available" in config_rule["message"]
    # site: sw-a1 sits outside commune A's management network; pc-1's MAC on an edge port is unknown
    mgmt = found[("SITE-MGMT-ADDRESS-IN-MGMT-NETWORK", "site:P")]
    assert mgmt["result"] == "fail"
    assert any(e["path"] == "devices[sw-a1]" for e in mgmt["evidence"])
    unknown = found[("SITE-NO-UNKNOWN-DEVICES", "site:P")]
    assert unknown["result"] == "fail"
    macs = {e["value"]["id"] for e in unknown["evidence"] if isinstance(e["value"], dict)}
    assert PC1_MAC in macs
    assert "SEP001122334455" in macs
    assert "00:1a:2b:00:00:01" not in macs  # a switch port's own MAC is inventory, not unknown

    only_fail = api.get(f"/api/v1/scans/{first['id']}/findings", admin, result="fail").json()
    assert only_fail["total"] == counts["fail"]
    assert {f["result"] for f in only_fail["findings"]} == {"fail"}

    # the host turns its firewall off → second scan: diff and a drift event
    push_security(api, token, agent_id, 2, firewall=False)
    wait_host_firewall(api, admin, False)
    r = api.client.post("/api/v1/scans", json={"site": "P", "level": 3}, headers=api.auth(admin))
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["previous_scan_id"] == first["id"]
    detail = api.get(f"/api/v1/scans/{second['id']}", auditor).json()
    new_fail = {(e["rule_id"], e["target"], e["was"]) for e in detail["diff"]["new_fail"]}
    assert ("HOST-LNX-FIREWALL-ENABLED", "pc-xa-a-01", "pass") in new_fail
    assert detail["manual_review"], "document-review items are listed, never counted"
    events = api.get("/api/v1/events", admin, kind="compliance.drift").json()["events"]
    drift = [e for e in events if e["data"]["rule_id"] == "HOST-LNX-FIREWALL-ENABLED"]
    assert len(drift) == 1
    assert drift[0]["subject_id"] == agent_id  # as host.state events name hosts
    assert drift[0]["subject_type"] == "host"
    assert drift[0]["site"] == "P"
    assert (drift[0]["from_state"], drift[0]["to_state"]) == ("pass", "fail")
    assert drift[0]["data"]["scan_id"] == second["id"]

    # scores per level and requirement
    scores = api.get("/api/v1/sites/P/compliance", auditor).json()
    assert scores["declared_level"] == 3
    assert [s["scan_id"] for s in scores["latest"]] == [second["id"]]
    assert scores["latest"][0]["requirements"]["NW-11"]["fail"] >= 3
    listed = api.get("/api/v1/scans", admin, site="P").json()
    assert [s["id"] for s in listed["scans"]] == [second["id"], first["id"]]

    # scoping: an officer of commune B sees none of P's scans; commune A's officer scans nothing
    officer_b = api.token("officer", "XA-B")
    assert api.get(f"/api/v1/scans/{first['id']}", officer_b).status_code == 404
    assert api.get(f"/api/v1/scans/{first['id']}/findings", officer_b).status_code == 404
    assert api.get("/api/v1/sites/P/compliance", officer_b).status_code == 404
    assert api.get("/api/v1/sites/XA-A/compliance", officer_b).status_code == 404
    assert api.get("/api/v1/scans", officer_b).json()["scans"] == []
    officer_a = api.token("officer", "XA-A")
    r = api.client.post("/api/v1/scans", json={"site": "XA-A"}, headers=api.auth(officer_a))
    assert r.status_code == 403
    # an auditor of commune B cannot scan the province
    auditor_b = api.token("auditor", "XA-B")
    r = api.client.post("/api/v1/scans", json={"site": "P"}, headers=api.auth(auditor_b))
    assert r.status_code == 404
    r = api.client.post("/api/v1/scans", json={"site": "XA-B", "level": 2}, headers=api.auth(auditor_b))
    assert r.status_code == 201, r.text
    assert api.get(f"/api/v1/scans/{r.json()['id']}", officer_b).status_code == 200
    r = api.client.post("/api/v1/scans", json={"site": "P", "level": 7}, headers=api.auth(admin))
    assert r.status_code == 422


def test_scheduled_scans_run_and_publish_scores(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(
        make_api,
        tmp_path,
        compliance={"enabled": True, "interval_h": 0.5 / 3600},  # every 0.5 s
    )
    populate(api)
    admin = api.token("admin")
    deadline = time.monotonic() + 20
    scans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        scans = list(api.get("/api/v1/scans", admin, site="XA-A").json()["scans"])
        if len(scans) >= 2:
            break
        time.sleep(0.1)
    assert len(scans) >= 2, "the scheduler should have scanned commune A twice"
    assert all(s["trigger"] == "scheduled" and s["level"] == 2 for s in scans)
    metrics = api.client.get("/metrics").text
    score = re.search(r'^canhgac_compliance_score_ratio\{site="XA-A",level="2"\} (\S+)$', metrics, re.M)
    assert score, metrics[-2000:]
    assert 0.0 <= float(score.group(1)) <= 1.0


def test_a_scan_puts_its_clause_scores_on_metrics(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(make_api, tmp_path)
    populate(api)
    enrol_host(api)
    auditor = api.token("auditor")
    r = api.client.post("/api/v1/scans", json={"site": "P"}, headers=api.auth(auditor))
    assert r.status_code == 201, r.text
    detail = api.get(f"/api/v1/scans/{r.json()['id']}", auditor).json()
    judged = {c: v["score"] for c, v in detail["summary"]["clause"].items() if v["score"] is not None}
    assert judged, "a scan of the province judges at least one clause"
    metrics = api.client.get("/metrics").text
    published = {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r'^canhgac_compliance_clause_score_ratio\{site="P",level="3",clause="([^"]+)"\} (\S+)$',
            metrics,
            re.M,
        )
    }
    assert published == judged
