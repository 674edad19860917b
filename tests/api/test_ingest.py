"""Report ingest: stored exactly once, strict validation, nothing partial stored on any refusal."""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from canhgac_api.app import create_app
from canhgac_api.schemas.report import MAX_REPORTS_PER_BATCH
from canhgac_collector.config import ServerConfig
from canhgac_collector.store.db import make_engine, upgrade
from tests.api.conftest import Api
from tests.harness.reports import gzip_batch, make_report

KEY_A = "commune-a-key-0123456789"


def _host(api: Api, agent_id: str) -> dict[str, object]:
    r = api.get(f"/api/v1/hosts/{agent_id}", api.token("admin"))
    assert r.status_code == 200, r.text
    data: dict[str, object] = r.json()
    return data


def _assert_problem(r, status: int, slug: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["type"] == f"urn:canhgac:problem:{slug}"
    assert body["title"]
    assert body["detail"]
    return body


def test_batch_is_stored_once_and_replay_is_acknowledged_as_duplicate(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-1", "pc-xa-a-01")
    reports = [make_report(agent["agent_id"], s, with_security=(s == 2)) for s in (1, 2, 3)]
    r = api.push(agent["token"], reports)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == [1, 2, 3]
    assert r.json()["duplicates"] == []
    assert r.json()["last_seq"] == 3
    # The reply carries the site's settings: XA-A overrides the province's portal target.
    targets = {t["name"]: t for t in r.json()["settings"]["probe_targets"]}
    assert targets["portal"]["url"] == "http://127.0.0.1:10/"
    assert targets["provincial-dc"]["port"] == 9

    replay = api.push(agent["token"], reports)
    assert replay.status_code == 200
    assert replay.json()["accepted"] == []
    assert replay.json()["duplicates"] == [1, 2, 3]

    host = _host(api, agent["agent_id"])
    assert host["last_seq"] == 3
    assert host["reports_total"] == 3
    assert host["state"] == "up"
    assert host["last_report_at"] is not None
    assert host["metrics"]["memory"]["total_bytes"] == 4_000_000_000  # type: ignore[index]
    assert host["security"]["firewall"]["enabled"] is True  # type: ignore[index]
    assert host["identity"]["hardware"]["serial"] == "7XK2Q32"  # type: ignore[index]


def test_overlapping_batch_stores_only_the_new_reports(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-2")
    aid = agent["agent_id"]
    assert api.push(agent["token"], [make_report(aid, s) for s in (1, 2)]).status_code == 200
    r = api.push(agent["token"], [make_report(aid, s) for s in (2, 3, 4)])
    assert r.json()["accepted"] == [3, 4]
    assert r.json()["duplicates"] == [2]
    assert _host(api, aid)["reports_total"] == 4


def test_seq_reused_with_other_content_is_refused_whole(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-3")
    aid = agent["agent_id"]
    api.push(agent["token"], [make_report(aid, 1)])
    forged = make_report(aid, 1, interval_s=60)
    body = _assert_problem(api.push(agent["token"], [forged, make_report(aid, 2)]), 409, "seq-conflict")
    assert "seq 1" in str(body["detail"])
    host = _host(api, aid)
    assert host["last_seq"] == 1  # seq 2 of the refused batch was not stored
    assert host["reports_total"] == 1


def test_replayed_old_seq_no_longer_held_is_refused(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-4")
    aid = agent["agent_id"]
    api.push(agent["token"], [make_report(aid, 5)])
    _assert_problem(api.push(agent["token"], [make_report(aid, 3)]), 409, "seq-conflict")
    assert _host(api, aid)["reports_total"] == 1


def test_malformed_bodies_are_400_and_store_nothing(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-5")
    aid = agent["agent_id"]
    _assert_problem(api.push(agent["token"], [], body=b"not gzip at all"), 400, "malformed-body")
    truncated = gzip_batch([make_report(aid, 1)])[:-20]
    assert "truncated" in str(
        _assert_problem(api.push(agent["token"], [], body=truncated), 400, "malformed-body")["detail"]
    )
    _assert_problem(api.push(agent["token"], [], body=gzip.compress(b'{"reports": [')), 400, "malformed-body")
    assert _host(api, aid)["reports_total"] == 0


def test_schema_violations_are_422_naming_the_field(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-6")
    aid = agent["agent_id"]
    bad_percent = make_report(aid, 2)
    bad_percent["metrics"]["cpu"]["percent"] = 250
    unknown_key = make_report(aid, 3, surprise="x")
    naive_time = make_report(aid, 4, collected_at="2026-11-22T07:40:00")
    for bad, where in (
        (bad_percent, "metrics.cpu.percent"),
        (unknown_key, "surprise"),
        (naive_time, "collected_at"),
    ):
        body = _assert_problem(api.push(agent["token"], [make_report(aid, 1), bad]), 422, "invalid-report")
        assert where in str(body["detail"]), body
        assert any(".".join(e["loc"]).endswith(where) for e in body["errors"])  # type: ignore[attr-defined]
    unordered = [make_report(aid, 2), make_report(aid, 1)]
    assert "strictly increasing" in str(
        _assert_problem(api.push(agent["token"], unordered), 422, "invalid-report")["detail"]
    )
    too_many = gzip.compress(
        json.dumps({"reports": [make_report(aid, 1)] * (MAX_REPORTS_PER_BATCH + 1)}).encode()
    )
    _assert_problem(api.push(agent["token"], [], body=too_many), 422, "invalid-report")
    assert _host(api, aid)["reports_total"] == 0  # the good report beside each bad one was not stored


def test_oversized_and_bomb_bodies_are_413(make_api: Callable[..., Api]) -> None:
    api = make_api(ingest={"max_body_bytes": 4096, "max_decompressed_bytes": 64 * 1024})
    agent = api.enroll(KEY_A, "m-7")
    aid = agent["agent_id"]
    big = gzip.compress(bytes(range(256)) * 64, compresslevel=0)  # > 4096 compressed
    _assert_problem(api.push(agent["token"], [], body=big), 413, "body-too-large")
    bomb = gzip.compress(b'{"reports": [' + b" " * (1024 * 1024) + b"]}")  # ~1 KB → 1 MB
    assert len(bomb) < 4096
    _assert_problem(api.push(agent["token"], [], body=bomb), 413, "body-too-large")
    assert _host(api, aid)["reports_total"] == 0


def test_wrong_media_type_or_encoding_is_415(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-8")
    _assert_problem(
        api.push(agent["token"], [make_report(agent["agent_id"], 1)], headers={"Content-Type": "text/plain"}),
        415,
        "unsupported-media-type",
    )
    _assert_problem(
        api.push(agent["token"], [make_report(agent["agent_id"], 1)], headers={"Content-Encoding": "br"}),
        415,
        "unsupported-encoding",
    )


def test_uncompressed_json_is_accepted(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-9")
    body = json.dumps({"reports": [make_report(agent["agent_id"], 1)]}).encode()
    r = api.push(agent["token"], [], body=body, headers={"Content-Encoding": "identity"})
    assert r.status_code == 200
    assert r.json()["accepted"] == [1]


def test_unauthenticated_and_wrong_principal(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-10")
    other = api.enroll(KEY_A, "m-11")
    reports = [make_report(agent["agent_id"], 1)]
    r = api.client.post(
        "/api/v1/agents/reports",
        content=gzip_batch(reports),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    _assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    _assert_problem(api.push("cgt_nope_nope", reports), 401, "invalid-token")
    _assert_problem(api.push(api.token("admin"), reports), 403, "forbidden")  # people don't push reports
    _assert_problem(api.push(other["token"], reports), 403, "wrong-agent")  # another agent's reports
    assert _host(api, agent["agent_id"])["reports_total"] == 0


def test_rate_limit_answers_429(make_api: Callable[..., Api]) -> None:
    api = make_api(ingest={"rate_limit_per_agent_rps": 0.01, "rate_limit_burst": 2})
    agent = api.enroll(KEY_A, "m-12")
    aid = agent["agent_id"]
    assert api.push(agent["token"], [make_report(aid, 1)]).status_code == 200
    assert api.push(agent["token"], [make_report(aid, 2)]).status_code == 200
    _assert_problem(api.push(agent["token"], [make_report(aid, 3)]), 429, "rate-limited")
    assert _host(api, aid)["reports_total"] == 2


def test_ingest_metrics_count_outcomes(api: Api) -> None:
    agent = api.enroll(KEY_A, "m-13")
    aid = agent["agent_id"]
    api.push(agent["token"], [make_report(aid, 1), make_report(aid, 2)])
    api.push(agent["token"], [make_report(aid, 2)])
    api.push(agent["token"], [], body=b"junk")
    text = api.client.get("/metrics").text
    assert 'canhgac_ingest_reports_total{outcome="accepted"} 2' in text
    assert 'canhgac_ingest_reports_total{outcome="duplicate"} 1' in text
    assert 'canhgac_ingest_requests_total{code="400"} 1' in text


def test_ingest_worker_dying_answers_503_and_a_new_worker_stores_the_retry_once(api: Api) -> None:
    """The worker process is killed with a request in flight: that request gets a problem detail, a new
    worker is started, and the agent's retry is stored exactly once (ADR 0009)."""
    agent = api.enroll(KEY_A, "m-crash", "pc-crash")
    assert api.push(agent["token"], [make_report(agent["agent_id"], 1)]).status_code == 200
    ingest = api.client.app.state.ctx.ingest  # type: ignore[attr-defined]
    pid = ingest.worker_pid
    os.kill(pid, signal.SIGSTOP)  # hold the request inside the worker
    replies: list[Any] = []
    pusher = threading.Thread(
        target=lambda: replies.append(api.push(agent["token"], [make_report(agent["agent_id"], 2)]))
    )
    pusher.start()
    deadline = time.monotonic() + 10
    while ingest.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ingest.in_flight == 1
    os.kill(pid, signal.SIGKILL)
    pusher.join(10)
    problem = _assert_problem(replies[0], 503, "storage-unavailable")
    assert "retry" in str(problem["detail"])

    while (ingest.worker_pid == pid or ingest.in_flight) and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    assert ingest.worker_pid != pid
    retry = api.push(agent["token"], [make_report(agent["agent_id"], 2)])
    deadline = time.monotonic() + 10
    while retry.status_code == 503 and time.monotonic() < deadline:  # the new worker is still starting
        time.sleep(0.1)
        retry = api.push(agent["token"], [make_report(agent["agent_id"], 2)])
    assert retry.status_code == 200, retry.text
    assert retry.json()["accepted"] == [2]
    host = _host(api, agent["agent_id"])
    assert (host["last_seq"], host["reports_total"]) == (2, 2)
    metrics = api.client.get("/metrics", headers=api.auth(api.token("operator"))).text
    assert "canhgac_ingest_worker_restarts_total 1\n" in metrics


def test_ingest_worker_outlives_a_group_stop_signal_and_ends_with_the_api(
    make_config: Callable[..., ServerConfig],
) -> None:
    """systemd and Ctrl-C signal the whole process group: the worker keeps answering until the API closes
    its socket at shutdown, then exits (ADR 0009)."""
    config = make_config()
    engine = make_engine(config.database_url)
    upgrade(engine)
    with TestClient(create_app(config, engine)) as client:
        api = Api(client, config, engine)
        agent = api.enroll(KEY_A, "m-term", "pc-term")
        ingest = client.app.state.ctx.ingest  # type: ignore[attr-defined]
        pid = ingest.worker_pid
        assert api.push(agent["token"], [make_report(agent["agent_id"], 1)]).status_code == 200  # it runs
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGINT)
        time.sleep(0.2)
        assert api.push(agent["token"], [make_report(agent["agent_id"], 2)]).status_code == 200
        assert ingest.worker_pid == pid
        assert ingest.restarts == 0
    # the API has shut down: its worker is gone
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_hung_ingest_worker_is_replaced_after_the_stall_timeout(make_api: Callable[..., Api]) -> None:
    """A worker that stops answering (stopped, deadlocked) is killed after `worker_stall_timeout_s` with
    requests waiting; an idle worker is not (nothing to answer)."""
    api = make_api(ingest={"worker_stall_timeout_s": 0.5})
    agent = api.enroll(KEY_A, "m-hang", "pc-hang")
    ingest = api.client.app.state.ctx.ingest  # type: ignore[attr-defined]
    assert api.push(agent["token"], [make_report(agent["agent_id"], 1)]).status_code == 200
    time.sleep(1.5)  # idle for three stall timeouts: not a stall
    assert api.push(agent["token"], [make_report(agent["agent_id"], 2)]).status_code == 200
    assert ingest.stalls == 0
    pid = ingest.worker_pid
    os.kill(pid, signal.SIGSTOP)  # hung
    started = time.monotonic()
    hung = api.push(agent["token"], [make_report(agent["agent_id"], 3)])
    assert 0.5 <= time.monotonic() - started < 10
    _assert_problem(hung, 503, "storage-unavailable")
    assert ingest.stalls == 1
    deadline = time.monotonic() + 10
    retry = api.push(agent["token"], [make_report(agent["agent_id"], 3)])
    while retry.status_code == 503 and time.monotonic() < deadline:  # the new worker is starting
        time.sleep(0.1)
        retry = api.push(agent["token"], [make_report(agent["agent_id"], 3)])
    assert retry.status_code == 200, retry.text
    assert ingest.worker_pid != pid
    host = _host(api, agent["agent_id"])
    assert (host["last_seq"], host["reports_total"]) == (3, 3)
