"""Roles and site scope: an officer of one commune never reads another's hosts, sites or events."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.harness.reports import make_report

KEYS = {
    "XA-A": "commune-a-key-0123456789",
    "XA-B": "commune-b-key-0123456789",
    "XA-B-MC": "commune-b-office-key-0123",
}


def _populate(api: Api) -> dict[str, str]:
    ids = {}
    for site, key in KEYS.items():
        agent = api.enroll(key, f"machine-{site}", f"pc-{site.lower()}")
        assert api.push(agent["token"], [make_report(agent["agent_id"], 1)]).status_code == 200
        ids[site] = agent["agent_id"]
    return ids


def test_officer_sees_only_their_subtree(api: Api) -> None:
    ids = _populate(api)
    officer_a = api.token("officer", "XA-A")
    listed = api.get("/api/v1/hosts", officer_a).json()
    assert {h["id"] for h in listed["hosts"]} == {ids["XA-A"]}
    assert listed["total"] == 1
    assert api.get(f"/api/v1/hosts/{ids['XA-A']}", officer_a).status_code == 200
    for other in ("XA-B", "XA-B-MC"):
        r = api.get(f"/api/v1/hosts/{ids[other]}", officer_a)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
    assert api.get("/api/v1/hosts", officer_a, site="XA-B").status_code == 404
    assert api.get("/api/v1/sites/XA-B", officer_a).status_code == 404
    tree = api.get("/api/v1/sites", officer_a).json()["sites"]
    assert [s["code"] for s in tree] == ["XA-A"]
    events = api.get("/api/v1/events", officer_a).json()["events"]
    assert events
    assert all(e["site"] == "XA-A" for e in events)


def test_officer_of_a_commune_sees_its_offices(api: Api) -> None:
    ids = _populate(api)
    officer_b = api.token("officer", "XA-B")
    listed = api.get("/api/v1/hosts", officer_b).json()
    assert {h["id"] for h in listed["hosts"]} == {ids["XA-B"], ids["XA-B-MC"]}
    assert api.get(f"/api/v1/hosts/{ids['XA-A']}", officer_b).status_code == 404


def test_province_roles_see_everything(api: Api) -> None:
    ids = _populate(api)
    for token in (api.token("admin"), api.token("operator"), api.token("auditor"), api.token("officer", "P")):
        listed = api.get("/api/v1/hosts", token).json()
        assert {h["id"] for h in listed["hosts"]} == set(ids.values())


def test_auditor_scoped_to_a_site(api: Api) -> None:
    ids = _populate(api)
    auditor = api.token("auditor", "XA-B")
    listed = api.get("/api/v1/hosts", auditor).json()
    assert {h["id"] for h in listed["hosts"]} == {ids["XA-B"], ids["XA-B-MC"]}


def test_agent_tokens_cannot_read(api: Api) -> None:
    agent = api.enroll(KEYS["XA-A"], "m-agent")
    for path in ("/api/v1/hosts", "/api/v1/sites", "/api/v1/events", f"/api/v1/hosts/{agent['agent_id']}"):
        r = api.get(path, agent["token"])
        assert r.status_code == 403, path


def test_reading_needs_a_token(api: Api) -> None:
    for path in ("/api/v1/hosts", "/api/v1/sites", "/api/v1/events"):
        r = api.client.get(path)
        assert r.status_code == 401
        assert r.json()["type"] == "urn:canhgac:problem:unauthenticated"


def test_revoked_token_stops_working(api: Api) -> None:
    from canhgac_collector.store.models import Token
    from canhgac_collector.store.tokens import revoke_token

    token = api.token("operator")
    assert api.get("/api/v1/hosts", token).status_code == 200
    token_id = token.split("_")[1]
    sessions = api.sessions
    with sessions.begin() as session:
        assert revoke_token(session, token_id)
        assert session.get(Token, token_id) is not None
    api.client.app.state.ctx.tokens.clear()  # what the 30 s cache expiry does on a live server
    assert api.get("/api/v1/hosts", token).status_code == 401
