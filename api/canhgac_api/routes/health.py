"""Liveness/readiness and the Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import text

from canhgac_api import __version__
from canhgac_api.context import Ctx
from canhgac_api.problems import problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.api import Health
from canhgac_collector.metrics.exposition import CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE
from canhgac_collector.store.db import is_up_to_date

router = APIRouter(tags=["health"])
PLUGIN = Routes("health", router)


@router.get("/api/v1/health", response_model=Health, summary="Is the service and its database working")
def health(ctx: Ctx) -> Health:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = is_up_to_date(ctx.engine)
        database = "ok"
    except Exception:
        current, database = False, "unreachable"
    status = "ok" if database == "ok" and current else "degraded"
    return Health(status=status, database=database, schema_current=current, version=__version__)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses=problem_responses(401),
    summary="Prometheus metrics (from memory, no I/O): metrics.bearer_token, or a client on this machine",
)
def metrics(ctx: Ctx) -> Response:
    # A sync route: FastAPI runs it in its thread pool, so a big render never stalls the event loop.
    return Response(ctx.telemetry.render(), media_type=PROMETHEUS_CONTENT_TYPE)
