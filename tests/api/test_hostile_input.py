"""What one enrolled commune PC (or anyone on the network) can send, refused where it must be and confined
where it gets in: host takeover, unbounded numbers and dates, throttles, revocation, /metrics, docs."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canhgac_collector.store.models import Event
from canhgac_collector.store.tokens import revoke_token
from tests.api.conftest import Api
from tests.harness.reports import make_report

KEY_A = "commune-a-key-0123456789"
KEY_B = "commune-b-key-0123456789"


def _problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:canhgac:problem:{slug}"
    return body


def _events(api: Api, kind: str) -> list[Event]:
    sessions = api.sessions
    with sessions() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def _raw_push(api: Api, token: str, text: str) -> Any:
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Authorization": f"Bearer {token}",
    }
    return api.client.post("/api/v1/agents/reports", content=gzip.compress(text.encode()), headers=headers)


def test_another_sites_key_never_takes_over_a_host(api: Api) -> None:
    victim = api.enroll(KEY_B, "machine-of-b", "pc-xa-b-01")
    mine = {"hostname": "pc-xa-b-01", "machine_id": "machine-of-b"}
    assert api.push(victim["token"], [make_report(victim["agent_id"], 1, **mine)]).status_code == 200
    r = api.client.post(
        "/api/v1/agents/enroll",
        json={"enrollment_key": KEY_A, "machine_id": "machine-of-b", "hostname": "evil"},
    )
    _problem(r, 409, "host-in-other-site")
    # The real agent keeps its token, its site and its name; its next report is accepted.
    assert api.push(victim["token"], [make_report(victim["agent_id"], 2, **mine)]).status_code == 200
    host = api.get(f"/api/v1/hosts/{victim['agent_id']}", api.token("admin")).json()
    assert (host["site"], host["hostname"], host["reports_total"]) == ("XA-B", "pc-xa-b-01", 2)
    # Both sites' officers learn of it.
    conflicts = _events(api, "enroll.conflict")
    assert len(conflicts) == 2
    assert {e.subject_id for e in conflicts} == {victim["agent_id"]}
    b_officer = api.token("officer", "XA-B")
    a_officer = api.token("officer", "XA-A")
    for officer in (a_officer, b_officer):
        kinds = [e["kind"] for e in api.get("/api/v1/events", officer).json()["events"]]
        assert "enroll.conflict" in kinds
    assert api.get(f"/api/v1/hosts/{victim['agent_id']}", a_officer).status_code == 404


def test_machine_id_is_shown_to_admins_only(api: Api) -> None:
    agent = api.enroll(KEY_A, "secret-machine-id", "pc")
    path = f"/api/v1/hosts/{agent['agent_id']}"
    assert api.get(path, api.token("admin")).json()["machine_id"] == "secret-machine-id"
    for role, site in (("officer", "XA-A"), ("operator", None), ("auditor", None)):
        assert api.get(path, api.token(role, site)).json()["machine_id"] is None


def test_a_moved_pc_enrolls_in_its_new_site_once_an_admin_removed_it(api: Api) -> None:
    old = api.enroll(KEY_B, "moving-pc", "pc")
    admin = api.token("admin")
    assert api.client.delete(f"/api/v1/hosts/{old['agent_id']}", headers=api.auth(admin)).status_code == 204
    assert api.push(old["token"], [make_report(old["agent_id"], 1)]).status_code == 401  # at once
    new = api.enroll(KEY_A, "moving-pc", "pc")
    assert new["site"] == "XA-A"
    assert new["agent_id"] != old["agent_id"]
    assert [e.subject_id for e in _events(api, "host.removed")] == [old["agent_id"]]


def _with_raw(report: dict[str, Any], path: tuple[str, ...], raw: str) -> str:
    """The batch's JSON with the value at `path` replaced by `raw` JSON text (numbers Python won't
    write: 1e400, NaN, 2**64 as written by another program)."""
    node: Any = report
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "__RAW__"
    return json.dumps({"reports": [report]}).replace('"__RAW__"', raw)


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        (("metrics", "memory", "total_bytes"), "18446744073709551616"),  # 2**64: crashed orjson
        (("metrics", "network", 0, "bytes_sent"), "1" + "0" * 400),  # became infinity: blinded alerting
        (("metrics", "memory", "total_bytes"), "-1"),
        (("metrics", "memory", "percent"), "1e400"),
        (("metrics", "memory", "percent"), "NaN"),
        (("seq",), str(2**62)),  # the agent could never send again
        (("seq",), '"5"'),  # strict types, as the protocol says
        (("seq",), "true"),
        (("metrics", "cpu", "percent"), '"12"'),
        (("host", "hostname"), '"pc\u0000evil"'),  # reached /metrics labels
        (("host", "hostname"), '"pc\u001b[31m"'),
        (("collected_at",), '"9999-12-31T23:00:00-14:00"'),  # overflowed to 503, retried for ever
        (("collected_at",), '"0001-01-01T00:00:00+14:00"'),
        (("collected_at",), '"1970-01-01T00:00:00+00:00"'),
        (("metrics", "uptime", "boot_time"), '"9999-12-31T23:00:00-14:00"'),
    ],
)
def test_values_beyond_what_storage_takes_are_refused_and_nothing_is_stored(
    api: Api, path: tuple[Any, ...], raw: str
) -> None:
    agent = api.enroll(KEY_A, "m-numbers", "pc")
    text = _with_raw(make_report(agent["agent_id"], 1), path, raw)
    r = _raw_push(api, agent["token"], text)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    field = next(str(p) for p in reversed(path) if isinstance(p, str))
    assert field in r.json()["detail"] or r.status_code == 400
    host = api.get(f"/api/v1/hosts/{agent['agent_id']}", api.token("admin")).json()
    assert host["reports_total"] == 0
    assert api.push(agent["token"], [make_report(agent["agent_id"], 1)]).status_code == 200


def test_a_pc_with_a_wrong_clock_gets_a_clear_422_and_its_officer_an_event(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-clock", "pc-clock")
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    reports = [make_report(agent["agent_id"], s, collected_at=ahead.isoformat()) for s in (1, 2)]
    body = _problem(api.push(agent["token"], reports), 422, "clock-out-of-window")
    assert "reports[0].collected_at" in body["detail"]
    accepted_from = dt.datetime.fromisoformat(body["accepted_from"])
    accepted_until = dt.datetime.fromisoformat(body["accepted_until"])
    assert accepted_from < dt.datetime.now(dt.UTC) < accepted_until < ahead
    api.push(agent["token"], reports)  # the retry of a spooled batch: one event, not one per try
    events = _events(api, "host.clock_wrong")
    assert len(events) == 1
    assert events[0].subject_id == agent["agent_id"]
    officer = api.token("officer", "XA-A")
    assert "host.clock_wrong" in [e["kind"] for e in api.get("/api/v1/events", officer).json()["events"]]
    metrics = api.client.get("/metrics").text
    assert 'canhgac_ingest_clock_refused_total{site="XA-A"} 4' in metrics
    assert api.push(agent["token"], [make_report(agent["agent_id"], 1)]).status_code == 200


def test_a_seq_far_past_the_last_is_refused(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-seq", "pc")
    assert api.push(agent["token"], [make_report(agent["agent_id"], 5)]).status_code == 200
    far = make_report(agent["agent_id"], 5 + 10**8, collected_at=dt.datetime.now(dt.UTC).isoformat())
    body = _problem(api.push(agent["token"], [far]), 422, "seq-out-of-range")
    assert body["last_seq"] == 5
    assert api.push(agent["token"], [make_report(agent["agent_id"], 6)]).status_code == 200


def _enroll_try(api: Api, key: str, machine: str) -> Any:
    return api.client.post(
        "/api/v1/agents/enroll", json={"enrollment_key": key, "machine_id": machine, "hostname": "h"}
    )


def test_enrollment_is_throttled_with_retry_after_and_failures_are_recorded(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(enrollment={"per_address_rps": 0.01, "per_address_burst": 4})
    for i in range(3):
        _problem(_enroll_try(api, "guess-0000000000000000", f"m{i}"), 401, "invalid-enrollment-key")
    assert _enroll_try(api, KEY_A, "honest").status_code == 201
    refused = _problem(_enroll_try(api, KEY_A, "honest-2"), 429, "rate-limited")
    assert int(refused["retry_after_s"]) >= 1
    retry_after = api.client.post(
        "/api/v1/agents/enroll", json={"enrollment_key": KEY_A, "machine_id": "x", "hostname": "h"}
    ).headers["Retry-After"]
    assert int(retry_after) >= 1
    metrics = api.client.get("/metrics").text
    assert 'canhgac_refused_requests_total{what="enroll",reason="invalid_key"} 3' in metrics
    assert 'canhgac_refused_requests_total{what="enroll",reason="rate_limited"} 2' in metrics
    # Events for wrong keys: a few per address (not one per try, which would fill the database).
    failed = _events(api, "enroll.failed")
    assert 1 <= len(failed) <= 3
    assert "testclient" in (failed[0].actor or "") or "127.0.0.1" in (failed[0].actor or "")


def test_a_sites_key_is_throttled_across_addresses(make_api: Callable[..., Api]) -> None:
    api = make_api(enrollment={"per_site_rps": 0.01, "per_site_burst": 2})
    assert _enroll_try(api, KEY_A, "m1").status_code == 201
    assert _enroll_try(api, KEY_A, "m2").status_code == 201
    _problem(_enroll_try(api, KEY_A, "m3"), 429, "rate-limited")
    assert _enroll_try(api, KEY_B, "m4").status_code == 201  # another site's key is not held back


def test_a_token_revoked_through_the_api_stops_at_once(api: Api) -> None:
    admin = api.token("admin")
    officer = api.token("officer", "XA-A")
    assert api.get("/api/v1/hosts", officer).status_code == 200  # cached now
    listed = api.get("/api/v1/tokens", admin).json()["tokens"]
    officer_id = next(t["id"] for t in listed if t["role"] == "officer")
    assert api.client.delete(f"/api/v1/tokens/{officer_id}", headers=api.auth(admin)).status_code == 204
    _problem(api.get("/api/v1/hosts", officer), 401, "invalid-token")
    assert api.client.delete(f"/api/v1/tokens/{officer_id}", headers=api.auth(admin)).status_code == 404
    assert api.client.delete(f"/api/v1/tokens/{officer_id}", headers=api.auth(officer)).status_code == 401


def test_a_token_revoked_from_the_cli_stops_within_the_check_interval(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(host_state={"stale_after_s": 60, "down_after_s": 120, "check_interval_s": 0.2})
    officer = api.token("officer", "XA-A")
    assert api.get("/api/v1/hosts", officer).status_code == 200  # cached for 30 s
    sessions = api.sessions
    with sessions.begin() as session:  # what `canhgac token revoke` does, from another process
        token_id = next(
            t["id"]
            for t in api.get("/api/v1/tokens", api.token("admin")).json()["tokens"]
            if t["role"] == "officer"
        )
        assert revoke_token(session, token_id)
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    while api.get("/api/v1/hosts", officer).status_code == 200:
        assert dt.datetime.now(dt.UTC) < deadline, "the revoked token still worked after 5 s"
    assert api.get("/api/v1/hosts", officer).status_code == 401


def test_bodies_over_the_limit_are_refused_before_they_are_read(api: Api) -> None:
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    for path in ("/api/v1/agents/enroll", "/api/v1/silences", "/api/v1/alerts/ack"):
        r = api.client.post(path, content=big, headers={"Content-Type": "application/json"})
        _problem(r, 413, "body-too-large")
    metrics = api.client.get("/metrics").text
    assert 'canhgac_refused_requests_total{what="http",reason="body_too_large"} 3' in metrics


def test_a_forged_ack_link_with_any_characters_is_a_problem_not_a_crash(api: Api) -> None:
    for token in ("v1.1.1.x.%C3%A9", "v1.1.1.x.\u00e9", "v1.\u0000.1.x.y", "v1." + "9" * 400 + ".1.x.y"):
        r = api.client.get("/api/v1/alerts/ack", params={"token": token})
        assert 400 <= r.status_code < 500, (token, r.status_code, r.text)
        r = api.client.post("/api/v1/alerts/ack", data={"token": token})
        assert 400 <= r.status_code < 500, (token, r.status_code, r.text)


def test_options_and_wrong_methods_list_every_method_of_the_path(api: Api) -> None:
    r = api.client.options("/api/v1/alerts/ack")
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    r = api.client.put("/api/v1/agents/enroll")
    assert r.headers["allow"] == "POST"


def test_metrics_need_the_token_or_a_local_client(make_api: Callable[..., Api]) -> None:
    api = make_api(metrics={"bearer_token": "scrape-secret-0123456789"})
    assert api.client.get("/metrics").status_code == 200  # loopback
    remote = TestClient(api.client.app, client=("203.0.113.7", 40000))
    _problem(remote.get("/metrics"), 401, "unauthenticated")
    _problem(remote.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401, "unauthenticated")
    ok = remote.get("/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"})
    assert ok.status_code == 200
    assert "canhgac_refused_requests_total" in ok.text


def test_metrics_from_loopback_can_require_the_token_too(make_api: Callable[..., Api]) -> None:
    api = make_api(metrics={"bearer_token": "scrape-secret-0123456789", "loopback_without_token": False})
    _problem(api.client.get("/metrics"), 401, "unauthenticated")
    assert api.client.get("/metrics", headers=api.auth("scrape-secret-0123456789")).status_code == 200


def test_api_docs_can_be_switched_off(make_api: Callable[..., Api]) -> None:
    api = make_api(listen={"openapi_docs": False})
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert api.client.get(path).status_code == 404
    assert api.client.get("/api/v1/health").status_code == 200


def test_scans_are_rate_limited_per_caller(make_api: Callable[..., Api]) -> None:
    api = make_api(compliance={"max_scans_per_hour": 2})
    auditor, other = api.token("auditor"), api.token("auditor")
    for _ in range(2):
        r = api.client.post("/api/v1/scans", json={"site": "XA-A", "level": 2}, headers=api.auth(auditor))
        assert r.status_code == 201, r.text
    refused = api.client.post("/api/v1/scans", json={"site": "XA-A", "level": 2}, headers=api.auth(auditor))
    _problem(refused, 429, "rate-limited")
    assert int(refused.headers["Retry-After"]) > 60
    r = api.client.post("/api/v1/scans", json={"site": "XA-A", "level": 2}, headers=api.auth(other))
    assert r.status_code == 201


def test_scans_past_retention_are_pruned_newest_kept(make_api: Callable[..., Api]) -> None:
    api = make_api(compliance={"retention_scans_per_site": 2, "max_scans_per_hour": 100})
    admin = api.token("admin")
    ids = []
    for site in ("XA-A", "XA-A", "XA-A", "XA-A", "XA-B"):
        r = api.client.post("/api/v1/scans", json={"site": site, "level": 2}, headers=api.auth(admin))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    assert ctx.server.prune()["scans"] == 2
    kept = [s["id"] for s in api.get("/api/v1/scans", admin).json()["scans"]]
    assert sorted(kept) == sorted(ids[2:])
    assert api.get(f"/api/v1/scans/{ids[0]}/findings", admin).status_code == 404
