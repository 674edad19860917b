"""`canhgac audit --site CODE --level N --format … --out DIR` against the store, as a function.

The scan is stored like any other (trigger "cli"), so the report's SHA-256 is in the scan history: the
JSON file written here hashes to exactly `Scan.report_sha256`. `audit_online` is the handler the
server's CLI gives the rules library's `audit` command (`canhgac_rules.cli.audit_command`) for `--site`.

Only the standard library is imported at module load (the CLI imports this module to build `canhgac`);
the store, the engine and the report writers are imported when a scan runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canhgac_collector.config import ServerConfig
    from canhgac_rules.cli import OnlineAuditRun
    from canhgac_rules.loader import LoadedPack
    from canhgac_rules.report_settings import ReportSettings


@dataclass(frozen=True)
class AuditOutcome:
    scan_id: int
    report: dict[str, Any]
    files: list[Path]  # the report files, SHA256SUMS last


def audit_site(
    config: ServerConfig,
    site: str,
    *,
    level: int | None,
    out_dir: Path,
    formats: list[str],
    actor: str = "cli",
    packs: list[LoadedPack] | None = None,
    now: dt.datetime | None = None,
    lang: str = "vi",
    settings: ReportSettings | None = None,
) -> AuditOutcome:
    """Scan `site`'s subtree from the store at `level` (default: declared), store it, write reports
    (HTML/PDF in edition `lang`, headed by `settings`, default the config's `report:` block).

    Raises ScanInputError (unknown site, no level, bad level, database not migrated)."""
    from canhgac_collector.compliance.scan import ScanInputError, run_site_scan
    from canhgac_collector.compliance.scheduler import scan_options
    from canhgac_collector.store.db import StoreNotReadyError, open_existing_store, session_factory
    from canhgac_collector.store.secrets import SecretBox, SecretsError
    from canhgac_rules.report import write_reports

    try:
        engine = open_existing_store(config.database_url)
    except StoreNotReadyError as exc:
        raise ScanInputError(str(exc)) from None
    try:
        try:
            box: SecretBox | None = SecretBox.for_config(config)
        except (SecretsError, OSError):
            box = None
        with session_factory(engine).begin() as session:
            options = scan_options(config, box)
            options.packs = packs  # None: the shipped packs
            scan, report = run_site_scan(
                session, site, level, options=options, trigger="cli", actor=actor, now=now
            )
            scan_id = scan.id
    finally:
        engine.dispose()
    # The offline auditor's writers: its JSON file has exactly the bytes the scan's report_sha256 hashes.
    files = write_reports(report, out_dir, formats, settings=settings or config.report, lang=lang)
    return AuditOutcome(scan_id=scan_id, report=report, files=files)


def audit_online(
    site: str,
    *,
    level: int | None,
    config: Path | None,
    out: Path,
    formats: list[str],
    packs: list[LoadedPack],
    now: dt.datetime | None,
    lang: str = "vi",
    report: Mapping[str, Any] | None = None,
) -> OnlineAuditRun:
    """`canhgac audit --site CODE` (an `canhgac_rules.cli.OnlineAudit`): load the server config (found
    like every server command's: `--config`, `CANHGAC_CONFIG`, /etc/canhgac/server.yaml), then
    `audit_site` with the config's `report:` settings and `report` (command-line settings) on top; a bad
    config or an unusable site is an `AuditInputError` (usage, exit 2)."""
    from canhgac_collector.cli_support import announce_database, find_config
    from canhgac_collector.compliance.scan import ScanInputError
    from canhgac_collector.config import ConfigError, load_config
    from canhgac_rules.audit import AuditInputError
    from canhgac_rules.cli import OnlineAuditRun

    try:
        cfg = load_config(find_config(config))
    except ConfigError as exc:
        raise AuditInputError(f"config: {exc}") from None
    announce_database(cfg)
    try:
        settings = cfg.report.merged(dict(report or {}))
    except ValueError as exc:
        raise AuditInputError(f"report settings: {exc}") from None
    out.mkdir(parents=True, exist_ok=True)
    try:
        outcome = audit_site(
            cfg,
            site,
            level=level,
            out_dir=out,
            formats=formats,
            packs=packs,
            now=now,
            lang=lang,
            settings=settings,
        )
    except ScanInputError as exc:
        raise AuditInputError(f"--site {site}: {exc}") from None
    return OnlineAuditRun(
        report=outcome.report, files=outcome.files, note=f"scan #{outcome.scan_id} stored / đã lưu"
    )
