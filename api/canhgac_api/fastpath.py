"""`POST /api/v1/agents/reports` answered in plain ASGI, in front of the framework's routing (ADR 0009).

Every agent calls this route every 30 s, and its own work now runs in the ingest worker; what was left on
the event loop was mostly the framework: exception and exit-stack middlewares, route matching over
every route, dependency solving, Request and Response objects, and a wrapper around `send` per layer.
This middleware sits just inside Starlette's ServerErrorMiddleware (so an unexpected error is still a
logged 500 problem) and answers the route itself with `routes.agents.receive_reports`, the same code the
documented FastAPI route runs. Every other request passes through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from canhgac_api.problems import ProblemError, problem_response
from canhgac_api.routes.agents import receive_reports

REPORTS_PATH = "/api/v1/agents/reports"
_JSON = [(b"content-type", b"application/json")]


class AgentReportsFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != REPORTS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        ctx = scope["app"].state.ctx
        try:
            ack = await receive_reports(ctx, dict(scope["headers"]), receive)
        except ProblemError as exc:
            response = problem_response(
                exc.status, exc.slug, exc.title, exc.detail, REPORTS_PATH, exc.headers, **exc.extra
            )
            await response(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON, (b"content-length", b"%d" % len(ack))],
            }
        )
        await send({"type": "http.response.body", "body": ack})
