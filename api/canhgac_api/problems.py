"""RFC 9457 problem details for every error the API returns.

`type` is a stable URN per kind of problem (documented in docs/api-problems.md), `title` is short and
fixed, `detail` says what was wrong with this request and where.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    """Raise from a route to answer with a problem detail."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def rate_limited(detail: str, wait_s: float) -> ProblemError:
    """429 with Retry-After (whole seconds, at least 1) and the wait in the body too."""
    seconds = max(1, math.ceil(wait_s))
    return ProblemError(
        429,
        "rate-limited",
        "Too many requests",
        f"{detail}; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
        retry_after_s=seconds,
    )


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:canhgac:problem:{slug}" if slug != "about:blank" else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors reduced to location and message (never the input: it may hold secrets)."""
    return [{"loc": [str(x) for x in err.get("loc", ())], "msg": str(err.get("msg", ""))} for err in errors]


def describe_errors(errors: list[dict[str, Any]], limit: int = 3) -> str:
    parts = [f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:limit]]
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, request.url.path, exc.headers, **exc.extra
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110: Allow lists every method of the path, not one route's
            headers["Allow"] = ", ".join(sorted(_methods_for(app, request.scope)))
        return problem_response(
            exc.status_code,
            "about:blank",
            _reason(exc.status_code),
            str(exc.detail),
            request.url.path,
            headers=headers,
        )

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc.errors())
        return problem_response(
            422,
            "invalid-request",
            "Request failed validation",
            describe_errors(errors),
            request.url.path,
            errors=errors,
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _methods_for(app: FastAPI, scope: Scope) -> set[str]:
    """The methods some route answers on this request's path (routers nest: ask each to match)."""
    methods: set[str] = set()
    for method in _METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes):
            methods.add(method)
    return methods


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


#: For OpenAPI: the problem responses a route may give.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem responses for OpenAPI. Always possible and always listed: 400 (a body that is not
    UTF-8/JSON), 408 (a body too slow), 413 (a body too large), 422 (request validation)."""
    statuses = tuple(sorted({*statuses, 400, 408, 413, 422}))
    return {
        s: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": _reason(s)}
        for s in statuses
    }
