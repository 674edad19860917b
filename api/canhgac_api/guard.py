"""Hostile-network guards in front of every route: bodies bounded before they are read, slow bodies cut
off, `/metrics` kept from strangers.

- A request whose Content-Length exceeds the route's limit is answered 413 at once, unread. Agent
  reports have their own, larger limit (`ingest.max_body_bytes`); every other route `listen.max_body_bytes`.
- A body that streams (chunked, or lying about its length) is counted as it arrives: past the limit 413,
  and a body still arriving after `listen.body_timeout_s` is answered 408.
- `/metrics` answers a bearer token equal to `metrics.bearer_token`, or, with
  `metrics.loopback_without_token`, a client on this machine; anyone else gets 401.
All refusals are RFC 9457 problem details and are counted in `canhgac_refused_requests_total`.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canhgac_api.problems import ProblemError, problem_response
from canhgac_collector.config import ServerConfig

REPORTS_PATH = "/api/v1/agents/reports"
METRICS_PATH = "/metrics"


class BodyTooLarge(ProblemError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "body-too-large",
            "Request body too large",
            f"the body exceeds the limit of {limit} bytes",
            headers={"Connection": "close"},  # the rest of the body is never read: drop the connection
        )


class BodyTooSlow(ProblemError):
    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            408,
            "request-timeout",
            "Request body too slow",
            f"the request body did not arrive within {timeout_s:g} s",
            headers={"Connection": "close"},
        )


class HttpGuard:
    """ASGI middleware, outermost: see the module docstring."""

    def __init__(self, app: ASGIApp, config: ServerConfig, refused: Counter[tuple[str, str]]) -> None:
        self.app = app
        self.reports_limit = config.ingest.max_body_bytes
        self.default_limit = config.listen.max_body_bytes
        self.body_timeout_s = config.listen.body_timeout_s
        token = config.metrics.bearer_token
        self.metrics_token = token.get_secret_value().encode() if token is not None else None
        self.metrics_loopback = config.metrics.loopback_without_token
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        try:
            if path == METRICS_PATH:
                self._check_metrics_caller(scope)
            limit = self.reports_limit if path == REPORTS_PATH else self.default_limit
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
        except ProblemError as exc:
            await self._refuse(exc, scope, receive, send)
            return
        bounded = self._bounded(receive, limit)
        if path == REPORTS_PATH:  # streamed: the fast path reads it and answers the guard's problems
            await self.app(scope, bounded, send)
            return
        try:  # small bodies, read here so a refusal is a clean problem, not the framework's 400
            messages = await _read_body(bounded)
        except ProblemError as exc:
            await self._refuse(exc, scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)

    def _bounded(self, receive: Receive, limit: int) -> Receive:
        """`receive`, raising BodyTooLarge past `limit` bytes and BodyTooSlow past the body timeout."""
        deadline = time.monotonic() + self.body_timeout_s
        seen = 0
        refused = self.refused
        timeout_s = self.body_timeout_s

        async def bounded_receive() -> Message:
            nonlocal seen
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.001))
            except TimeoutError:
                refused[("http", "body_timeout")] += 1
                raise BodyTooSlow(timeout_s) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused[("http", "body_too_large")] += 1
                    raise BodyTooLarge(limit)
            return message

        return bounded_receive

    def _check_metrics_caller(self, scope: Scope) -> None:
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, value = header.partition(b" ")
        if self.metrics_token is not None and scheme.lower() == b"bearer":
            if hmac.compare_digest(value.strip(), self.metrics_token):
                return
        elif self.metrics_loopback and _is_loopback(scope):
            return
        self.refused[("metrics", "unauthorized")] += 1
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            "/metrics needs the bearer token of metrics.bearer_token (or a client on this machine)",
        )

    async def _refuse(self, exc: ProblemError, scope: Scope, receive: Receive, send: Send) -> None:
        if exc.status == 413:
            self.refused[("http", "body_too_large")] += 1
        response = problem_response(
            exc.status, exc.slug, exc.title, exc.detail, scope["path"], exc.headers, **exc.extra
        )
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """The body read already, then the client's own `receive` (for the disconnect)."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else 1 << 62
    return None


def _is_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False
