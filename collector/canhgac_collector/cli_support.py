"""What every `canhgac` server command shares: finding its config, opening the store, naming both.

The config is `--config FILE`, else the file `CANHGAC_CONFIG` names, else /etc/canhgac/server.yaml; with
none of them a command stops and says where it looked (it never runs on defaults, which would put a new
database in the current folder). Only `canhgac db upgrade` creates a database: the other commands open
an existing, migrated one and name it on stderr, password masked.

`CANHGAC_INTERNAL_DEFAULT_CONFIG` is internal, for tests only: it stands in for /etc/canhgac/server.yaml
so a test never reads or depends on the real one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from canhgac_collector.config import ConfigError, ServerConfig, load_config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

ENV_CONFIG = "CANHGAC_CONFIG"
ENV_INTERNAL_DEFAULT_CONFIG = "CANHGAC_INTERNAL_DEFAULT_CONFIG"
DEFAULT_CONFIG = Path("/etc/canhgac/server.yaml")
EXIT_CONFIG = 2

err = Console(stderr=True, soft_wrap=True)  # one error, one line: greppable in logs

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="tệp cấu hình / server.yaml; mặc định / default: $CANHGAC_CONFIG, rồi / then "
        "/etc/canhgac/server.yaml",
    ),
]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="in đủ mọi ô, không cắt / print every cell whole (always so when piped)"),
]


def find_config(explicit: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """The server config to use: `explicit`, else $CANHGAC_CONFIG, else /etc/canhgac/server.yaml.

    Raises ConfigError naming the three places when none is given and the default does not exist."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    default = Path(env.get(ENV_INTERNAL_DEFAULT_CONFIG) or DEFAULT_CONFIG)
    try:
        default.stat()
    except PermissionError:
        return default  # there but unreadable: loading it says so
    except OSError:
        raise ConfigError(
            f"không tìm thấy cấu hình máy chủ / no server config found: chưa có / no --config, "
            f"{ENV_CONFIG} chưa đặt / not set, {default} không tồn tại / does not exist "
            "(mẫu / example: examples/server.yaml)"
        ) from None
    return default


def load_server_config(explicit: Path | None) -> ServerConfig:
    """The validated config found by `find_config`, or one line per problem on stderr and exit 2."""
    from canhgac_collector.alerting.settings import site_reference_errors
    from canhgac_collector.sitetree import resolve_tree

    try:
        path = find_config(explicit)
        cfg = load_config(path)
    except ConfigError as exc:
        err.print(f"[red]Lỗi cấu hình / config error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    # Site codes named under `alerting:` must exist (the same check the alert engine makes at start).
    problems = site_reference_errors(cfg.alerting, resolve_tree(cfg))
    for problem in problems:  # one line each: "[red]…" markup only on the prefix, "[0]" is literal
        err.print(f"[red]Lỗi cấu hình / config error:[/] {escape(f'{path}: {problem}')}", highlight=False)
    if problems:
        raise typer.Exit(EXIT_CONFIG)
    return cfg


def announce_database(cfg: ServerConfig) -> None:
    """One stderr line naming the database a command works on (password masked)."""
    err.print(f"cơ sở dữ liệu / database: {cfg.redacted_database_url()}", markup=False, highlight=False)


def fail_store(reason: Exception | str) -> typer.Exit:
    """Print why the store cannot be used; the exit to raise."""
    err.print(f"[red]Lỗi / error:[/] {escape(str(reason))}", highlight=False)
    return typer.Exit(EXIT_CONFIG)


def open_store(cfg: ServerConfig) -> sessionmaker[Session]:
    """Sessions on the config's existing, migrated store, with the config's sites synced (tokens and
    alerts name sites). Exit 2 with the reason when the database is missing or not migrated."""
    from canhgac_collector.sitetree import resolve_tree
    from canhgac_collector.store.db import StoreNotReadyError, open_existing_store, session_factory
    from canhgac_collector.store.sites import sync_sites

    try:
        engine = open_existing_store(cfg.database_url)
    except StoreNotReadyError as exc:
        raise fail_store(exc) from None
    announce_database(cfg)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(cfg))
    return sessions


def open_store_at(explicit: Path | None) -> sessionmaker[Session]:
    """`open_store` on the config found from `--config` (for commands defined in other modules)."""
    return open_store(load_server_config(explicit))
