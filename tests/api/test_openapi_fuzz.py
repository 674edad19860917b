"""Property-based API conformance: schemathesis generates requests from our OpenAPI document (valid and
invalid) and checks every answer: no server errors, documented status codes and content types,
responses matching their schemas, 405s with an Allow header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Api
from tests.harness.reports import make_report


def test_api_conforms_to_its_openapi(make_api: Callable[..., Api]) -> None:
    api = make_api()
    agent = api.enroll("commune-a-key-0123456789", "fuzz-machine", "pc-fuzz")
    assert (
        api.push(agent["token"], [make_report(agent["agent_id"], 1, with_security=True)]).status_code == 200
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = {"Authorization": f"Bearer {api.token('admin')}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers)

        check()


def test_boundary_query_values_are_422_not_500(make_api: Callable[..., Api]) -> None:
    """Found by schemathesis' coverage phase: an offset beyond SQLite's integer range was a 500."""
    api = make_api()
    admin = api.token("admin")
    for params in ({"offset": 2**70}, {"offset": -1}, {"limit": 0}, {"state": "null"}):
        r = api.get("/api/v1/hosts", admin, **params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_wrong_method_is_405_with_allow_header(make_api: Callable[..., Api]) -> None:
    api = make_api()
    r = api.client.request("TRACE", "/metrics")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    assert r.json()["status"] == 405
