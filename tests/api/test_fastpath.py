"""The agent-reports fast path answers exactly as the documented FastAPI route would, and leaves every
other request to the framework."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from canhgac_api.app import create_app
from canhgac_api.fastpath import AgentReportsFastPath
from canhgac_collector.config import ServerConfig
from canhgac_collector.store.db import make_engine, upgrade
from tests.api.conftest import Api
from tests.harness.reports import gzip_batch, make_report

KEY_A = "commune-a-key-0123456789"


@pytest.fixture
def twin_apis(make_config: Callable[..., ServerConfig]) -> Iterator[tuple[Api, Api]]:
    """Two servers on one database: with the fast path (as served) and without it (the FastAPI route)."""
    config = make_config()
    engine = make_engine(config.database_url)
    upgrade(engine)
    fast = create_app(config, engine)
    framework = create_app(config, engine)
    framework.user_middleware = [m for m in framework.user_middleware if m.cls is not AgentReportsFastPath]
    with TestClient(fast) as a, TestClient(framework) as b:
        yield Api(a, config, engine), Api(b, config, engine)


def _requests(agent: dict[str, Any]) -> list[tuple[str, bytes, dict[str, str]]]:
    """(what, body, headers): accepted, replayed, refused in each way the route refuses."""
    ok = gzip_batch([make_report(agent["agent_id"], 1)])
    bad = gzip.compress(b'{"reports": [{"seq": "x"}]}')
    return [
        ("accepted", ok, {}),
        ("duplicate", ok, {}),
        ("invalid", bad, {}),
        ("not gzip", b"not gzip", {}),
        ("no auth", ok, {"Authorization": ""}),
        ("bad token", ok, {"Authorization": "Bearer nope"}),
        ("media type", ok, {"Content-Type": "text/plain"}),
        ("encoding", ok, {"Content-Encoding": "br"}),
        ("too large", b"x" * (5 * 1024 * 1024), {}),
    ]


def test_fast_path_and_framework_route_answer_alike(twin_apis: tuple[Api, Api]) -> None:
    fast, framework = twin_apis
    answers: dict[str, list[tuple[int, str, Any]]] = {"fast": [], "framework": []}
    for name, api in (("fast", fast), ("framework", framework)):
        agent = api.enroll(KEY_A, f"m-{name}", f"pc-{name}")
        for _what, body, headers in _requests(agent):
            r = api.push(agent["token"], [], body=body, headers=headers)
            payload = r.json()
            if "settings" not in payload:  # a problem detail: compare all of it
                answers[name].append((r.status_code, r.headers["content-type"], payload))
            else:
                answers[name].append((r.status_code, r.headers["content-type"], payload["accepted"]))
    assert [a[0] for a in answers["fast"]] == [200, 200, 422, 400, 401, 401, 415, 415, 413]
    assert answers["fast"] == answers["framework"]


def test_other_requests_are_left_to_the_framework(api: Api) -> None:
    r = api.client.get("/api/v1/agents/reports")
    assert r.status_code == 405  # the framework's answer, as a problem detail
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "POST" in r.headers["allow"]
    assert api.client.get("/api/v1/health").status_code == 200
