"""The HTTP face: `create_app(config)` is the FastAPI application over the server's domain services."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from canhgac_api import __version__
from canhgac_api.auth import TokenCache
from canhgac_api.context import AppContext
from canhgac_api.fastpath import AgentReportsFastPath
from canhgac_api.guard import HttpGuard
from canhgac_api.ingest_worker import IngestClient, worker_settings
from canhgac_api.problems import install_problem_handlers
from canhgac_api.ratelimit import RateLimiter
from canhgac_api.routes import ROUTERS
from canhgac_api.schemas.report import ReportBatch
from canhgac_collector.config import ServerConfig
from canhgac_collector.hosts.ingest import IngestLimits
from canhgac_collector.lan.ingest import LanLimits
from canhgac_collector.metrics.telemetry import Telemetry
from canhgac_collector.reload import ConfigReloader
from canhgac_collector.server import Server, build_server
from canhgac_collector.sitetree import agent_settings
from canhgac_collector.store.db import make_engine

log = logging.getLogger("canhgac.api")

DESCRIPTION = """\
Canh Gác — giám sát mạng và kiểm tra tuân thủ cấp độ an toàn hệ thống thông tin.
Network health and security-level compliance for a province's government networks.

Errors are RFC 9457 problem details. Authenticate with `Authorization: Bearer <token>`
(`canhgac token create`); agents get theirs from `POST /api/v1/agents/enroll`.
"""


def build_context(server: Server) -> AppContext:
    """The HTTP face's context: the domain services, plus what only HTTP needs (token cache, ingest
    worker, throttles)."""
    config = server.config
    ingest = config.ingest
    enrollment = config.enrollment
    scans_per_hour = config.compliance.max_scans_per_hour
    limits = IngestLimits(
        max_report_age_s=ingest.max_report_age_s,
        max_clock_ahead_s=ingest.max_clock_ahead_s,
        max_seq_gap=ingest.max_seq_gap,
    )
    ctx = AppContext(
        config=config,
        engine=server.engine,
        sessions=server.sessions,
        tree=server.tree,
        site_ids=server.site_ids,
        tokens=TokenCache(),
        ingest=IngestClient(
            worker_settings(
                server.engine.url.render_as_string(hide_password=False),
                ingest.max_decompressed_bytes,
                history=config.influx.enabled,
                stall_timeout_s=ingest.worker_stall_timeout_s,
                limits=limits,
                lan=LanLimits(config.lan.max_devices_per_site, config.lan.max_new_device_events),
                edge_delay=(config.snmp.poll_interval_s, config.snmp.edge_delay_min_s),
            ),
            server.telemetry,
        ),
        telemetry=server.telemetry,
        ingest_limiter=RateLimiter(ingest.rate_limit_per_agent_rps, ingest.rate_limit_burst),
        enroll_limiter=RateLimiter(enrollment.per_address_rps, enrollment.per_address_burst),
        enroll_site_limiter=RateLimiter(enrollment.per_site_rps, enrollment.per_site_burst),
        enroll_global_limiter=RateLimiter(enrollment.global_rps, enrollment.global_burst),
        enroll_failure_events=RateLimiter(1 / 60, 3),
        scan_limiter=RateLimiter(scans_per_hour / 3600, scans_per_hour),
        site_codes=server.site_codes,
        settings_by_site_id=_agent_settings(server),
        device_secrets=server.device_secrets,
        server=server,
    )
    server.on_revocation.append(ctx.tokens.clear)
    server.on_reload.append(lambda reloaded: refresh_context(ctx, reloaded))
    return ctx


def _agent_settings(server: Server) -> dict[int, dict[str, Any]]:
    return {server.site_ids[code]: agent_settings(server.config, node) for code, node in server.tree.items()}


def refresh_context(ctx: AppContext, server: Server) -> None:
    """After a configuration reload: the new config, site tree, ids and agent settings (enrollment
    keys, scopes and settings replies use them from the next request on)."""
    ctx.settings_by_site_id = _agent_settings(server)
    ctx.site_codes = server.site_codes
    ctx.site_ids = server.site_ids
    ctx.tree = server.tree
    ctx.config = server.config


def create_app(
    config: ServerConfig, engine: Engine | None = None, reloader: ConfigReloader | None = None
) -> FastAPI:
    """The API application over the whole server (`canhgac_collector.server`), which its lifespan
    builds, starts and stops (and, with a `reloader`, reloads on SIGHUP). The database must already be
    migrated (`canhgac db upgrade`)."""
    engine = engine or make_engine(config.database_url)
    refused: Counter[tuple[str, str]] = Counter()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry = Telemetry()
        telemetry.refused = refused  # the HTTP guard, built before the server, counts into it
        server = await asyncio.to_thread(build_server, config, engine, telemetry)
        ctx = build_context(server)
        app.state.ctx = ctx
        app.state.alerting = server.alerting
        app.state.compliance = server.compliance
        # Everything imported and built so far lives as long as the process: move it out of the
        # collector's reach, so a full collection scans only what requests allocate (~80 ms → ~1 ms).
        gc.collect()
        gc.freeze()
        await ctx.ingest.start()
        try:
            await server.start()
            if reloader is not None:
                reloader.attach(server)
            yield
        finally:
            # Each step runs even when the one before it failed: nothing is left running.
            try:
                if reloader is not None:
                    reloader.detach()
                await server.stop()
            finally:
                try:
                    await ctx.ingest.stop()  # the last reports are answered (their points handed over)
                finally:
                    await server.stop_history()

    docs = config.listen.openapi_docs
    app = FastAPI(
        title="Canh Gác API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    install_problem_handlers(app)
    for routes in ROUTERS.values():
        app.include_router(routes.router)
    app.add_middleware(AgentReportsFastPath)  # agent reports skip the framework's routing (ADR 0009)
    # Outermost: bodies bounded and timed before anything reads them; /metrics kept from strangers.
    app.add_middleware(HttpGuard, config=config, refused=refused)
    _document_report_schema(app)
    return app


def _document_report_schema(app: FastAPI) -> None:
    """Put the agent report schema (read from the raw body, so FastAPI cannot see it) into OpenAPI."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = base()
        schema = ReportBatch.model_json_schema(ref_template="#/components/schemas/{model}")
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components.update(schema.pop("$defs", {}))
        components["ReportBatch"] = schema
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
