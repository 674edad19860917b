"""Enrollment, re-enrollment, the site tree roll-up, host states and the OpenAPI document."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from canhgac_collector.hosts.states import evaluate_host_states
from canhgac_collector.store.models import Host
from tests.api.conftest import Api
from tests.harness.reports import make_report

KEY_A = "commune-a-key-0123456789"
KEY_B = "commune-b-key-0123456789"
KEY_B_OFFICE = "commune-b-office-key-0123"


def test_bad_enrollment_key_is_401(api: Api) -> None:
    r = api.client.post(
        "/api/v1/agents/enroll",
        json={"enrollment_key": "wrong-key-0000000000", "machine_id": "m", "hostname": "h"},
    )
    assert r.status_code == 401
    assert r.json()["type"] == "urn:canhgac:problem:invalid-enrollment-key"
    r = api.client.post("/api/v1/agents/enroll", json={"machine_id": "m", "hostname": "h"})
    assert r.status_code == 422
    assert "enrollment_key" in r.json()["detail"]


def test_enroll_returns_site_settings_and_reenroll_keeps_identity(api: Api) -> None:
    first = api.enroll(KEY_A, "machine-x", "pc-x")
    assert first["site"] == "XA-A"
    assert first["last_seq"] == 0
    assert first["settings"]["interval_s"] == 30
    assert api.push(first["token"], [make_report(first["agent_id"], s) for s in (1, 2)]).status_code == 200
    again = api.enroll(KEY_A, "machine-x", "pc-x-renamed")
    assert again["agent_id"] == first["agent_id"]
    assert again["last_seq"] == 2  # a reinstalled agent continues its sequence
    assert again["token"] != first["token"]
    assert (
        api.push(first["token"], [make_report(first["agent_id"], 3)]).status_code == 401
    )  # old token revoked
    assert api.push(again["token"], [make_report(first["agent_id"], 3)]).status_code == 200


def test_sites_tree_rolls_up_host_states(api: Api) -> None:
    admin = api.token("admin")
    agents = {
        "a1": api.enroll(KEY_A, "a1"),
        "b1": api.enroll(KEY_B, "b1"),
        "mc1": api.enroll(KEY_B_OFFICE, "mc1"),
        "mc2": api.enroll(KEY_B_OFFICE, "mc2"),
    }
    for agent in agents.values():
        assert api.push(agent["token"], [make_report(agent["agent_id"], 1)]).status_code == 200
    # Age two hosts: one stale, one down.
    sessions = api.sessions
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as session:
        session.execute(
            update(Host)
            .where(Host.id == agents["mc1"]["agent_id"])
            .values(last_report_at=now - dt.timedelta(seconds=200))
        )
        session.execute(
            update(Host)
            .where(Host.id == agents["a1"]["agent_id"])
            .values(last_report_at=now - dt.timedelta(seconds=3600))
        )
    with sessions.begin() as session:
        assert evaluate_host_states(session, api.config.host_state) == 2
    with sessions.begin() as session:
        assert evaluate_host_states(session, api.config.host_state) == 0  # no repeat events

    tree = api.get("/api/v1/sites", admin).json()["sites"]
    assert [s["code"] for s in tree] == ["P"]
    province = tree[0]
    assert province["subtree"] == {"up": 2, "stale": 1, "down": 1, "new": 0, "total": 4}
    assert province["hosts"]["total"] == 0
    assert province["status"] == "degraded"
    by_code = {c["code"]: c for c in province["children"]}
    district = by_code["D1"]
    assert district["subtree"]["down"] == 1
    assert district["status"] == "down"
    assert district["children"][0]["code"] == "XA-A"
    xa_b = by_code["XA-B"]
    assert xa_b["hosts"] == {"up": 1, "stale": 0, "down": 0, "new": 0, "total": 1}
    assert xa_b["subtree"] == {"up": 2, "stale": 1, "down": 0, "new": 0, "total": 3}
    assert xa_b["level"] == 2
    assert xa_b["children"][0]["level"] == 2
    office = api.get("/api/v1/sites/XA-B-MC", admin).json()
    assert office["parent"] == "XA-B"
    assert office["status"] == "degraded"

    events = api.get("/api/v1/events", admin, kind="host.state", subject_id=agents["a1"]["agent_id"]).json()
    transitions = [(e["from_state"], e["to_state"]) for e in events["events"]]
    assert transitions == [("up", "down"), ("new", "up")]
    stale_listing = api.get("/api/v1/hosts", admin, state="stale").json()
    assert [h["id"] for h in stale_listing["hosts"]] == [agents["mc1"]["agent_id"]]

    # A report brings a down host back up, with an event.
    assert api.push(agents["a1"]["token"], [make_report(agents["a1"]["agent_id"], 2)]).status_code == 200
    events = api.get("/api/v1/events", admin, kind="host.state", subject_id=agents["a1"]["agent_id"]).json()
    assert (events["events"][0]["from_state"], events["events"][0]["to_state"]) == ("down", "up")


def test_openapi_documents_every_route_with_problem_responses(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/agents/enroll",
        "/api/v1/agents/reports",
        "/api/v1/sites",
        "/api/v1/sites/{code}",
        "/api/v1/hosts",
        "/api/v1/hosts/{host_id}",
        "/api/v1/events",
        "/api/v1/health",
    ):
        assert path in paths, path
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method} {path} has no summary"
            if path.startswith("/api/v1/") and path != "/api/v1/health":
                problems = [c for c in op["responses"] if c.startswith("4")]
                assert problems, f"{method} {path} documents no problem responses"
    ingest = paths["/api/v1/agents/reports"]["post"]
    assert "application/json" in ingest["requestBody"]["content"]
    schemas = spec["components"]["schemas"]
    assert ingest["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReportBatch")
    for name in ("ReportBatch", "Report", "Metrics", "SecurityFacts", "ProbeResult", "Problem"):
        assert name in schemas, name
    # Every $ref in the document resolves.
    import json
    import re

    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec))):
        assert ref in schemas, ref


def test_health(api: Api) -> None:
    r = api.client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["schema_current"] is True
