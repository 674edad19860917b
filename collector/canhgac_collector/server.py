"""The server's composition root: every domain service built from one config, started and stopped in order.

`canhgac serve` calls `serve()`: migrate, build the `Server` (site tree synced into the store, configured
devices, metrics seeded from the store), wrap it in the HTTP face (`canhgac_api.app.create_app`) and run
it. The HTTP face starts and stops the `Server` in its lifespan, so the test client, the demo and `serve`
run the same wiring. This is the one module of the server that imports the HTTP face.

What runs, each in its own task or thread: the SNMP poller, scheduled config pulls over SSH, alert
evaluation and notification, scheduled compliance scans, the InfluxDB history writer, and the maintenance
loop below (host states, retention).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.plugins import registry
from canhgac_collector.alerting.engine import AlertEngine
from canhgac_collector.alerting.service import AlertService
from canhgac_collector.alerting.settings import site_reference_errors
from canhgac_collector.compliance import metrics as compliance_metrics
from canhgac_collector.compliance.retention import prune_scans
from canhgac_collector.compliance.scan import clause_scores, latest_clause_scores, latest_scores
from canhgac_collector.compliance.scheduler import ComplianceScheduler
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices import metrics as device_metrics
from canhgac_collector.devices.configs.service import ConfigPullService
from canhgac_collector.devices.edge.states import refresh_edge_states
from canhgac_collector.devices.snmp.service import SnmpService
from canhgac_collector.devices.store import prune_locations, sync_config_devices
from canhgac_collector.devices.traps.service import TrapService
from canhgac_collector.hosts import metrics as host_metrics
from canhgac_collector.hosts.retention import prune_reports
from canhgac_collector.hosts.states import evaluate_host_states, hosts_by_site_state
from canhgac_collector.lan import metrics as lan_metrics
from canhgac_collector.lan.approved import sync_config_approved
from canhgac_collector.metrics import sites as site_metrics
from canhgac_collector.metrics.history import InfluxWriter
from canhgac_collector.metrics.telemetry import Telemetry
from canhgac_collector.reload import ConfigReloader, ReloadError, default_pid_path, read_config
from canhgac_collector.sitelink.prober import SiteLinkProber
from canhgac_collector.sitetree import SiteNode, resolve_tree
from canhgac_collector.store.db import is_up_to_date, open_existing_store, session_factory, upgrade
from canhgac_collector.store.models import Scan
from canhgac_collector.store.secrets import SecretBox, SecretsError
from canhgac_collector.store.sites import sync_sites
from canhgac_collector.store.tokens import revocation_mark
from canhgac_collector.tasks import cancel_and_wait

log = logging.getLogger("canhgac.server")
PRUNE_EVERY_S = 3600.0

# The domains' metrics: one line each, in the order /metrics shows them.
METRICS = registry(
    site_metrics.PLUGIN,
    host_metrics.PLUGIN,
    device_metrics.PLUGIN,
    compliance_metrics.PLUGIN,
    lan_metrics.PLUGIN,
)


# The config sections a running server re-reads on SIGHUP (`Server.reload`); the others need a restart.
RELOADABLE = ("sites", "devices", "alerting", "agent_defaults", "lan")


class SchemaNotCurrentError(RuntimeError):
    """The database is behind the code's migrations (`canhgac db upgrade`)."""


@dataclass(frozen=True)
class Reloaded:
    """What a reload changed, for the log line."""

    sites_added: list[str]
    sites_retired: list[str]
    devices: dict[str, int]  # added, updated, removed
    restart_needed: list[str]  # changed sections that only a restart applies


@dataclass
class Server:
    """The domain services of one server process and what they share."""

    config: ServerConfig
    engine: Engine
    sessions: sessionmaker[Session]
    tree: dict[str, SiteNode]
    site_ids: dict[str, int]  # code → id
    telemetry: Telemetry
    device_secrets: SecretBox
    alerting: AlertService
    compliance: ComplianceScheduler
    config_pulls: ConfigPullService
    influx: InfluxWriter | None = None
    snmp: SnmpService | None = None
    traps: TrapService | None = None
    site_links: SiteLinkProber | None = None
    # Called when a token was revoked by another process (the HTTP face forgets its cached tokens).
    on_revocation: list[Callable[[], None]] = field(default_factory=list)
    # Called after a reload was applied (the HTTP face takes the new tree and agent settings).
    on_reload: list[Callable[[Server], None]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def site_codes(self) -> dict[int, str]:
        return {v: k for k, v in self.site_ids.items()}

    def publish_scores(self) -> None:
        """The newest compliance scores per (site, level), overall and per clause, onto /metrics."""
        with self.sessions() as session:
            scores = latest_scores(session)
            clauses = latest_clause_scores(session)
        published = self.telemetry.get(compliance_metrics.PLUGIN)
        published.set_scores(scores)
        published.set_clause_scores(clauses)

    def publish_scan(self, scan: Scan) -> None:
        """A scan just stored replaces its own site and level's scores on /metrics (cheap: no reload)."""
        code = self.site_codes.get(scan.site_id)
        if code is None:  # a site the configuration does not name: reload everything
            self.publish_scores()
            return
        published = self.telemetry.get(compliance_metrics.PLUGIN)
        published.set_scan(code, scan.level, scan.score, clause_scores(scan.summary))

    async def start(self) -> None:
        if self.influx is not None:
            self.influx.start()
        if self.snmp is not None:
            self.snmp.start()
        self._tasks.append(asyncio.create_task(self._maintenance(), name="maintenance"))
        if self.config.alerting.enabled:
            self.alerting.start()
        await asyncio.to_thread(self.publish_scores)
        if self.config.compliance.enabled:
            self.compliance.start()
        if self.config.device_configs.enabled:
            self.config_pulls.start()
        if self.traps is not None:
            await asyncio.to_thread(self.traps.start)
        if self.site_links is not None:
            self.site_links.start()

    async def stop(self) -> None:
        """Stop everything but history; `stop_history` last, once ingest handed over its last points.
        Each service is stopped even when stopping another one failed (that failure is logged)."""
        tasks, self._tasks = self._tasks, []
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("compliance scheduler", lambda: asyncio.to_thread(self.compliance.stop)),
            ("config puller", lambda: asyncio.to_thread(self.config_pulls.stop)),
            ("maintenance", lambda: cancel_and_wait(tasks)),
            ("alerting", self.alerting.stop),
        ]
        if self.snmp is not None:
            snmp = self.snmp
            steps.append(("snmp poller", lambda: asyncio.to_thread(snmp.stop)))
        if self.traps is not None:
            traps = self.traps
            steps.append(("trap receiver", lambda: asyncio.to_thread(traps.stop)))
        if self.site_links is not None:
            steps.append(("site line probes", self.site_links.stop))
        for name, step in steps:
            try:
                await step()
            except Exception:
                log.exception("stopping the %s failed; stopping the rest", name)

    async def stop_history(self) -> None:
        if self.influx is not None:
            await asyncio.to_thread(self.influx.stop)

    # -- reload ---------------------------------------------------------------------------------------

    async def reload(self, new: ServerConfig) -> Reloaded:
        """Apply the `RELOADABLE` sections of `new` without stopping anything: sites (tree, contacts,
        enrollment keys, probe targets) and devices synced into the store in one transaction, then the
        alert engine, the compliance scheduler, the SNMP target list and the HTTP face switched over.
        Raises ReloadError, with nothing changed, when `new` cannot be applied."""
        config = self.config.model_copy(update={key: getattr(new, key) for key in RELOADABLE})
        restart_needed = [
            key
            for key in type(new).model_fields
            if key not in RELOADABLE and getattr(new, key) != getattr(self.config, key)
        ]
        tree = resolve_tree(config)
        problems = site_reference_errors(config.alerting, tree)
        if problems:
            raise ReloadError("; ".join(problems))
        before = set(self.site_ids)
        site_ids, devices, engine = await asyncio.to_thread(self._sync_reloaded, config, tree)
        self.config, self.tree, self.site_ids = config, tree, site_ids
        self.telemetry.get(site_metrics.PLUGIN).set_tree(tree)
        self.alerting.apply(config, engine)
        if config.alerting.enabled and not self.alerting.running:
            self.alerting.start()
        elif not config.alerting.enabled and self.alerting.running:
            await self.alerting.stop()
        self.compliance.reconfigure(config)
        if self.snmp is not None:
            self.snmp.refresh_devices()
        for listener in self.on_reload:
            listener(self)
        return Reloaded(
            sites_added=sorted(set(site_ids) - before),
            sites_retired=sorted(before - set(site_ids)),
            devices=devices,
            restart_needed=restart_needed,
        )

    def _sync_reloaded(
        self, config: ServerConfig, tree: dict[str, SiteNode]
    ) -> tuple[dict[str, int], dict[str, int], AlertEngine]:
        """Sites and devices into the store and the new alert engine, all or nothing."""
        try:
            with self.sessions.begin() as session:
                site_ids = sync_sites(session, tree)
                devices = sync_config_devices(session, config, self.device_secrets)
                sync_config_approved(session, config.lan, site_ids)
                engine = self.alerting.prepare(config, tree, site_ids)  # raising rolls the sync back
        except (ValueError, SecretsError) as exc:
            raise ReloadError(str(exc)) from exc
        return site_ids, devices, engine

    # -- maintenance ------------------------------------------------------------------------------

    def refresh_states(self) -> None:
        """Age host states (events on change) and refresh the hosts-by-state snapshot for /metrics."""
        with self.sessions.begin() as session:
            evaluate_host_states(session, self.config.host_state)
        with self.sessions() as session:
            self.telemetry.get(host_metrics.PLUGIN).hosts_by_site_state = hosts_by_site_state(session)
        devices = self.telemetry.get(device_metrics.PLUGIN)
        refresh_edge_states(
            self.sessions, self.config.snmp.poll_interval_s, devices, self.config.snmp.edge_delay_min_s
        )

    def revocations(self) -> tuple[int, dt.datetime | None]:
        with self.sessions() as session:
            return revocation_mark(session)

    def prune(self) -> dict[str, int]:
        """Everything past its retention: scans, the per-report ledger, MAC/ARP sightings."""
        cfg = self.config
        now = dt.datetime.now(dt.UTC)
        with self.sessions.begin() as session:
            scans = prune_scans(
                session, cfg.compliance.retention_scans_per_site, cfg.compliance.retention_days, now
            )
        with self.sessions.begin() as session:
            reports = prune_reports(session, now - dt.timedelta(days=cfg.ingest.report_retention_days))
        with self.sessions.begin() as session:
            sightings = prune_locations(session, now - dt.timedelta(days=cfg.snmp.location_retention_days))
        return {"scans": scans, "reports": reports, "sightings": sightings}

    async def _maintenance(self) -> None:
        interval = self.config.host_state.check_interval_s
        loop = asyncio.get_running_loop()
        next_prune = 0.0
        revocations: tuple[int, dt.datetime | None] | None = None  # read inside the try: may fail
        while True:
            try:
                if revocations is None:
                    revocations = await asyncio.to_thread(self.revocations)
                await asyncio.to_thread(self.refresh_states)
                seen = await asyncio.to_thread(self.revocations)
                if seen != revocations:
                    revocations = seen
                    for forget in self.on_revocation:
                        forget()
                if loop.time() >= next_prune:
                    pruned = await asyncio.to_thread(self.prune)
                    if any(pruned.values()):
                        log.info("pruned past retention %s", pruned)
                    next_prune = loop.time() + PRUNE_EVERY_S
            except Exception:
                log.exception("maintenance failed; retrying")
            await asyncio.sleep(interval)


def build_server(config: ServerConfig, engine: Engine, telemetry: Telemetry | None = None) -> Server:
    """Sync the configured site tree and devices into the store and build every service (nothing runs
    yet). The database must be at the current schema."""
    if not is_up_to_date(engine):
        raise SchemaNotCurrentError(
            f"the database at {config.redacted_database_url()} is not at the current schema; "
            "run `canhgac db upgrade --config …`"
        )
    sessions = session_factory(engine)
    tree = resolve_tree(config)
    with sessions.begin() as session:
        site_ids = sync_sites(session, tree)
    telemetry = telemetry or Telemetry()
    telemetry.install(METRICS)
    device_secrets = SecretBox.for_config(config)
    with sessions.begin() as session:  # configured devices in; API-created ones stay
        sync_config_devices(session, config, device_secrets)
        sync_config_approved(session, config.lan, site_ids)
    telemetry.get(site_metrics.PLUGIN).set_tree(tree)
    hosts = telemetry.get(host_metrics.PLUGIN)
    hosts.stale_after_s = config.host_state.stale_after_s
    hosts.down_after_s = config.host_state.down_after_s
    hosts.seed_from_store(sessions)
    influx = InfluxWriter(config.influx) if config.influx.enabled else None
    telemetry.influx = influx
    alerting = AlertService(config, sessions, tree, site_ids)
    alerting.register_metrics(telemetry.registry)
    config_pulls = ConfigPullService(config.device_configs, sessions, device_secrets)
    config_pulls.register_metrics(telemetry.registry)
    server = Server(
        config=config,
        engine=engine,
        sessions=sessions,
        tree=tree,
        site_ids=site_ids,
        telemetry=telemetry,
        device_secrets=device_secrets,
        alerting=alerting,
        compliance=ComplianceScheduler(config, sessions, device_secrets),
        config_pulls=config_pulls,
        influx=influx,
        snmp=SnmpService(config.snmp, sessions, device_secrets, telemetry.get(device_metrics.PLUGIN))
        if config.snmp.enabled
        else None,
    )
    server.compliance.on_scan = lambda scan, _report: server.publish_scan(scan)
    if config.traps.enabled:
        server.traps = TrapService(config.traps, sessions, on_link_change=alerting.nudge)
        server.traps.register_metrics(telemetry.registry)
    if config.site_links.enabled:
        prober = server.site_links = SiteLinkProber(config.site_links, tree, alerting.engine.site_links)
        prober.register_metrics(telemetry.registry)
        server.on_reload.append(lambda s: prober.configure(s.config.site_links, s.tree))
    return server


def serve(
    config: ServerConfig,
    migrate: bool = True,
    config_path: Path | None = None,
    pid_path: Path | None = None,
) -> None:
    """`canhgac serve`: the API and every collector loop in this process until SIGTERM/SIGINT; SIGHUP
    re-reads `config_path` (`canhgac_collector.reload`), the pid going to `pid_path` (default: beside
    the database or in the state directory)."""
    from canhgac_api.app import create_app
    from canhgac_api.server import run
    from canhgac_collector.config_advice import config_warnings

    # An existing database only (`canhgac db upgrade` creates it); `migrate` brings an older one up to date.
    engine = open_existing_store(config.database_url, current=not migrate)
    if migrate:
        upgrade(engine)
    log.info(
        "serving listen=%s:%d database=%s",
        config.listen.host,
        config.listen.port,
        config.redacted_database_url(),
    )
    for warning in config_warnings(config):
        log.warning("config warning: %s", warning)
    reloader = ConfigReloader(lambda: read_config(config_path), pid_path or default_pid_path(config))
    run(create_app(config, engine, reloader), config)
