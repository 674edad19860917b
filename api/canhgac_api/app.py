"""The FastAPI application: `create_app(config)` wires storage, the site tree, ingest and background loops."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, delete, func, select

from canhgac_api import __version__
from canhgac_api.auth import TokenCache
from canhgac_api.context import AppContext
from canhgac_api.fastpath import AgentReportsFastPath
from canhgac_api.guard import HttpGuard
from canhgac_api.ingest import IngestLimits
from canhgac_api.ingest_worker import IngestClient, worker_settings
from canhgac_api.problems import install_problem_handlers
from canhgac_api.ratelimit import RateLimiter
from canhgac_api.routes import ROUTERS
from canhgac_api.schemas.report import ReportBatch
from canhgac_collector.compliance.retention import prune_scans
from canhgac_collector.config import ServerConfig
from canhgac_collector.hoststate import evaluate_host_states
from canhgac_collector.inputs.snmp.service import SnmpService
from canhgac_collector.outputs.influx import InfluxWriter
from canhgac_collector.sitetree import agent_settings, resolve_tree
from canhgac_collector.storage.db import is_up_to_date, make_engine, session_factory
from canhgac_collector.storage.devices import prune_locations, sync_config_devices
from canhgac_collector.storage.models import Host, Report, Site, Token
from canhgac_collector.storage.secrets import SecretBox
from canhgac_collector.storage.sites import sync_sites
from canhgac_collector.telemetry import Telemetry, seed_hosts

log = logging.getLogger("canhgac.api")

DESCRIPTION = """\
Canh Gác — giám sát mạng và kiểm tra tuân thủ cấp độ an toàn hệ thống thông tin.
Network health and security-level compliance for a province's government networks.

Errors are RFC 9457 problem details. Authenticate with `Authorization: Bearer <token>`
(`canhgac token create`); agents get theirs from `POST /api/v1/agents/enroll`.
"""


class SchemaNotCurrentError(RuntimeError):
    pass


def build_context(
    config: ServerConfig, engine: Engine, refused: Counter[tuple[str, str]] | None = None
) -> AppContext:
    """Sync the configured site tree into the store and assemble the shared context. `refused` is the
    counter the HTTP guard (built before the context) already counts into."""
    if not is_up_to_date(engine):
        raise SchemaNotCurrentError(
            f"the database at {config.redacted_database_url()} is not at the current schema; "
            "run `canhgac db upgrade --config …`"
        )
    sessions = session_factory(engine)
    tree = resolve_tree(config)
    with sessions.begin() as session:
        site_ids = sync_sites(session, tree)
    telemetry = Telemetry()
    if refused is not None:
        telemetry.refused = refused
    ingest = config.ingest
    enrollment = config.enrollment
    limits = IngestLimits(
        max_report_age_s=ingest.max_report_age_s,
        max_clock_ahead_s=ingest.max_clock_ahead_s,
        max_seq_gap=ingest.max_seq_gap,
    )
    return AppContext(
        config=config,
        engine=engine,
        sessions=sessions,
        tree=tree,
        site_ids=site_ids,
        tokens=TokenCache(),
        ingest=IngestClient(
            worker_settings(
                engine.url.render_as_string(hide_password=False),
                ingest.max_decompressed_bytes,
                history=config.influx.enabled,
                stall_timeout_s=ingest.worker_stall_timeout_s,
                limits=limits,
            ),
            telemetry,
        ),
        telemetry=telemetry,
        ingest_limiter=RateLimiter(ingest.rate_limit_per_agent_rps, ingest.rate_limit_burst),
        enroll_limiter=RateLimiter(enrollment.per_address_rps, enrollment.per_address_burst),
        enroll_site_limiter=RateLimiter(enrollment.per_site_rps, enrollment.per_site_burst),
        enroll_global_limiter=RateLimiter(enrollment.global_rps, enrollment.global_burst),
        enroll_failure_events=RateLimiter(1 / 60, 3),
        scan_limiter=RateLimiter(
            config.compliance.max_scans_per_hour / 3600, config.compliance.max_scans_per_hour
        ),
        site_codes={v: k for k, v in site_ids.items()},
        settings_by_site_id={site_ids[code]: agent_settings(config, node) for code, node in tree.items()},
    )


def sync_devices(ctx: AppContext) -> None:
    """Bring the configured devices into the store (API-created ones stay). Only touches the secrets
    key file when there are devices, so a server without any never needs one."""
    assert ctx.device_secrets is not None
    with ctx.sessions.begin() as session:
        sync_config_devices(session, ctx.config, ctx.device_secrets)


def refresh_state(ctx: AppContext) -> None:
    """Age host states (events on change) and refresh the hosts-by-state snapshot for /metrics."""
    with ctx.sessions.begin() as session:
        evaluate_host_states(session, ctx.config.host_state)
    with ctx.sessions() as session:
        rows = session.execute(
            select(Site.code, Host.state, func.count())
            .join(Host, Host.site_id == Site.id)
            .group_by(Site.code, Host.state)
        ).all()
    ctx.telemetry.hosts_by_site_state = {(code, state): n for code, state, n in rows}


def prune_reports(ctx: AppContext) -> int:
    """Delete stored reports older than the retention; the counters on each host are kept."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=ctx.config.ingest.report_retention_days)
    with ctx.sessions.begin() as session:
        result = session.execute(delete(Report).where(Report.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_old_scans(ctx: AppContext) -> int:
    """Scans (with findings) past the compliance retention, the newest of each site kept."""
    cfg = ctx.config.compliance
    with ctx.sessions.begin() as session:
        return prune_scans(session, cfg.retention_scans_per_site, cfg.retention_days, dt.datetime.now(dt.UTC))


def revocations_seen(ctx: AppContext) -> tuple[int, dt.datetime | None]:
    """How many tokens are revoked and the newest revocation: a change means another process (the
    `canhgac token revoke` CLI) revoked one, and the token cache must forget what it holds."""
    with ctx.sessions() as session:
        count, newest = session.execute(
            select(func.count(), func.max(Token.revoked_at)).where(Token.revoked_at.is_not(None))
        ).one()
    return int(count), newest


def prune_device_locations(ctx: AppContext) -> int:
    """Forget MAC/ARP sightings older than the retention, so `locate` never answers from stale data."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=ctx.config.snmp.location_retention_days)
    with ctx.sessions.begin() as session:
        return prune_locations(session, cutoff)


async def _background(ctx: AppContext) -> None:
    interval = ctx.config.host_state.check_interval_s
    next_prune = 0.0
    loop = asyncio.get_running_loop()
    revocations = await asyncio.to_thread(revocations_seen, ctx)
    while True:
        try:
            await asyncio.to_thread(refresh_state, ctx)
            seen = await asyncio.to_thread(revocations_seen, ctx)
            if seen != revocations:
                ctx.tokens.clear()
                revocations = seen
            if loop.time() >= next_prune:
                pruned = await asyncio.to_thread(prune_old_scans, ctx)
                if pruned:
                    log.info("pruned scans past retention count=%d", pruned)
                pruned = await asyncio.to_thread(prune_reports, ctx)
                if pruned:
                    log.info("pruned reports older than retention count=%d", pruned)
                pruned = await asyncio.to_thread(prune_device_locations, ctx)
                if pruned:
                    log.info("pruned MAC/ARP sightings older than retention count=%d", pruned)
                next_prune = loop.time() + 3600
        except Exception:
            log.exception("background state refresh failed; retrying")
        await asyncio.sleep(interval)


def create_app(config: ServerConfig, engine: Engine | None = None) -> FastAPI:
    """The API application. The database must already be migrated (`canhgac db upgrade`)."""
    engine = engine or make_engine(config.database_url)
    refused: Counter[tuple[str, str]] = Counter()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = build_context(config, engine, refused)
        device_secrets = ctx.device_secrets = SecretBox.for_config(config)
        await asyncio.to_thread(sync_devices, ctx)
        # /metrics and history (issue 5): the site tree, host thresholds, hosts known before this start
        ctx.telemetry.set_sites(ctx.tree, ctx.site_ids)
        ctx.telemetry.host_stale_after_s = config.host_state.stale_after_s
        ctx.telemetry.host_down_after_s = config.host_state.down_after_s
        await asyncio.to_thread(seed_hosts, ctx.telemetry, ctx.sessions)
        influx = InfluxWriter(config.influx) if config.influx.enabled else None
        ctx.telemetry.influx = influx
        app.state.ctx = ctx
        # Everything imported and built so far lives as long as the process: move it out of the
        # collector's reach, so a full collection scans only what requests allocate (~80 ms → ~1 ms).
        gc.collect()
        gc.freeze()
        await ctx.ingest.start()
        if influx is not None:
            influx.start()
        snmp: SnmpService | None = None
        if config.snmp.enabled:
            snmp = SnmpService(config.snmp, ctx.sessions, device_secrets, ctx.telemetry)
            snmp.start()
        task = asyncio.create_task(_background(ctx), name="state-refresh")
        # Alerting (issue 6): evaluation and notification loops in their own tasks; routes use app.state.
        from canhgac_collector.alerting.service import AlertService

        alerting = app.state.alerting = AlertService(config, ctx.sessions, ctx.tree, ctx.site_ids)
        alerting.register_metrics(ctx.telemetry.registry)
        if config.alerting.enabled:
            alerting.start()
        # Compliance (issue 4): newest scores for /metrics, and scheduled scans when enabled.
        from canhgac_api.routes.compliance import publish_scores
        from canhgac_collector.compliance.scheduler import ComplianceScheduler

        await asyncio.to_thread(publish_scores, ctx)
        compliance = app.state.compliance = ComplianceScheduler(
            config, ctx.sessions, device_secrets, on_scan=lambda _scan, _report: publish_scores(ctx)
        )
        if config.compliance.enabled:
            compliance.start()
        try:
            yield
        finally:
            await asyncio.to_thread(compliance.stop)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await alerting.stop()
            if snmp is not None:
                await asyncio.to_thread(snmp.stop)
            await ctx.ingest.stop()  # the last reports are answered (and their points handed over) first
            if influx is not None:
                await asyncio.to_thread(influx.stop)

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
    for router in ROUTERS:
        app.include_router(router)
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
