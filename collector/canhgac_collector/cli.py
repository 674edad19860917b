"""`canhgac`: the server-side command line (serve, reload, demo, poll, db, token, topology, config)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from canhgac_collector.cli_support import (
    ConfigOpt,
    WideOpt,
    announce_database,
    fail_store,
    find_config,
    load_server_config,
    open_store,
    open_store_at,
)
from canhgac_collector.config import ServerConfig
from canhgac_collector.logs import setup_logging
from canhgac_rules.terminal import print_table

app = typer.Typer(no_args_is_help=True, help="Canh Gác — giám sát mạng tỉnh / provincial network watch.")
db_app = typer.Typer(
    no_args_is_help=True,
    help="Cơ sở dữ liệu / state store: tạo, nâng cấp, sao lưu, khôi phục / create, migrate, backup, restore.",
)
token_app = typer.Typer(
    no_args_is_help=True, help="Mã truy cập API / API tokens: tạo, liệt kê, thu hồi / create, list, revoke."
)
config_app = typer.Typer(no_args_is_help=True, help="Cấu hình máy chủ / server configuration.")
topology_app = typer.Typer(
    no_args_is_help=True,
    help="Sơ đồ mạng / network diagram: phê duyệt liên kết LLDP/CDP hiện tại / approve the current links.",
)
app.add_typer(db_app, name="db")
app.add_typer(topology_app, name="topology")
app.add_typer(token_app, name="token")
app.add_typer(config_app, name="config")

console = Console()
err = Console(stderr=True, soft_wrap=True)  # one error, one line: greppable in logs

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_NOT_FOUND = 4


def _version(show: bool) -> None:
    if show:
        from canhgac_agent import __version__

        print(f"canhgac {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="in phiên bản / print the version and exit"
        ),
    ] = False,
) -> None:
    """Canh Gác — giám sát mạng tỉnh / provincial network watch."""


PidFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--pid-file", help="the server's pid file (default: beside a SQLite database, else the state dir)"
    ),
]


@app.command()
def serve(
    config: ConfigOpt = None,
    migrate: Annotated[
        bool,
        typer.Option(
            help="nâng cấp lược đồ trước / apply pending migrations first (cơ sở dữ liệu phải có sẵn / the "
            "database must exist: `canhgac db upgrade` creates it)"
        ),
    ] = True,
    pid_file: PidFileOpt = None,
) -> None:
    """Chạy API và các bộ thu thập / run the API and the collectors (SNMP poller, host states). SIGHUP (or
    `canhgac reload`) re-reads sites, contacts, devices, alerting and agent defaults from the config file."""
    from canhgac_collector.server import serve as serve_all
    from canhgac_collector.store.db import StoreNotReadyError

    cfg = load_server_config(config)
    setup_logging(cfg.log_level)
    announce_database(cfg)
    try:
        serve_all(cfg, migrate=migrate, config_path=find_config(config), pid_path=pid_file)
    except StoreNotReadyError as exc:
        raise fail_store(exc) from None


@app.command()
def reload(config: ConfigOpt = None, pid_file: PidFileOpt = None) -> None:
    """Tải lại cấu hình / make the running server re-read its config (SIGHUP): sites, contacts,
    devices, alerting, agent defaults. The file is checked here first; an invalid one is not sent."""
    from canhgac_collector.reload import ReloadSignalError, default_pid_path, signal_server

    cfg = load_server_config(config)
    path = pid_file or default_pid_path(cfg)
    try:
        pid = signal_server(path)
    except ReloadSignalError as exc:
        err.print(f"Không tải lại được / reload failed: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(
        f"đã gửi SIGHUP tới máy chủ / sent SIGHUP to the server (pid {pid}); its log and "
        "canhgac_config_reloads_total tell the outcome",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def demo(
    agents: Annotated[int, typer.Option(min=1, max=50, help="simulated agent processes")] = 6,
    port: Annotated[int, typer.Option(help="API port on 127.0.0.1")] = 8080,
    duration: Annotated[float, typer.Option(help="stop after this many seconds (0: until Ctrl-C)")] = 0,
    data_dir: Annotated[
        Path, typer.Option(help="where the demo keeps its database and agents' state")
    ] = Path("demo-data"),
    interval: Annotated[float, typer.Option(min=1, help="agent report interval, seconds")] = 5,
    outage_every: Annotated[
        float, typer.Option(help="cut the simulated Thạch Hà link every N seconds")
    ] = 120,
    outage_for: Annotated[float, typer.Option(help="…for this many seconds (0: never)")] = 40,
    switches: Annotated[
        int, typer.Option(min=0, max=200, help="simulated switches served by snmpsim (0: none)")
    ] = 8,
) -> None:
    """Run the server and a simulated province on loopback (SQLite, real agent processes, SNMP switches)."""
    from canhgac_collector.lab.demo import run_demo

    raise typer.Exit(
        run_demo(
            agents=agents,
            port=port,
            duration=duration,
            data_dir=data_dir,
            interval=interval,
            console=console,
            outage_every=outage_every,
            outage_for=outage_for,
            switches=switches,
        )
    )


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Tạo hoặc nâng cấp cơ sở dữ liệu / create or migrate the state store to the current schema.

    The only command that creates a database."""
    from sqlalchemy.exc import OperationalError

    from canhgac_collector.store.db import current_revision, make_engine, upgrade

    cfg = load_server_config(config)
    engine = make_engine(cfg.database_url)
    try:
        before = current_revision(engine)
        upgrade(engine)
    except OperationalError as exc:
        shown = cfg.redacted_database_url()
        raise fail_store(
            f"không mở được cơ sở dữ liệu / cannot open the database {shown}: {exc.orig}"
        ) from None
    after = current_revision(engine)
    console.print(
        f"cơ sở dữ liệu / database {cfg.redacted_database_url()}: {before or 'trống / empty'} → {after}",
        highlight=False,
        soft_wrap=True,
    )


@db_app.command("backup")
def db_backup(
    dest: Annotated[Path, typer.Argument(help="a new directory, or a file ending in .tar.gz")],
    config: ConfigOpt = None,
) -> None:
    """Sao lưu cơ sở dữ liệu và các tệp khóa / Back up the database and the key files (safe while
    `canhgac serve` runs)."""
    from canhgac_collector.store.backup import BackupError, create_backup

    cfg = load_server_config(config)
    try:
        outcome = create_backup(cfg, dest)
    except BackupError as exc:
        err.print(f"Lỗi sao lưu / backup failed: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    for step in outcome.steps:
        console.print(step, highlight=False, markup=False, soft_wrap=True)


@db_app.command("restore")
def db_restore(
    src: Annotated[Path, typer.Argument(help="a backup directory or .tar.gz made by `db backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace a non-empty database and other key files")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Khôi phục từ bản sao lưu / Restore a backup (stop `canhgac serve` first): every hash and the
    schema revision are checked before anything is written."""
    from canhgac_collector.store.backup import BackupError, restore_backup

    cfg = load_server_config(config)
    try:
        outcome = restore_backup(cfg, src, force=force)
    except BackupError as exc:
        err.print(f"Từ chối khôi phục / restore refused: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    for step in outcome.steps:
        console.print(step, highlight=False, markup=False, soft_wrap=True)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="vai trò / role: admin | operator | officer | auditor")],
    name: Annotated[
        str, typer.Option(help="người giữ / who or what holds it, e.g. 'Nguyễn Văn A, xã X'")
    ] = "",
    site: Annotated[
        str | None, typer.Option(help="mã địa điểm / site code: limit the token to this subtree")
    ] = None,
    expires_days: Annotated[
        float | None, typer.Option(help="hết hạn sau số ngày / expire after this many days")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="in JSON / print JSON")] = False,
    config: ConfigOpt = None,
) -> None:
    """Tạo mã truy cập / create an API token: printed once, only its hash is stored."""
    from canhgac_collector.store.tokens import TokenError, create_token

    sessions = open_store(load_server_config(config))
    try:
        with sessions.begin() as session:
            new = create_token(
                session,
                role=role,
                name=name or f"{role} token",
                site_code=site,
                expires_in=dt.timedelta(days=expires_days) if expires_days else None,
            )
    except TokenError as exc:
        err.print(f"không tạo được mã / cannot create token: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        print(json.dumps({"id": new.id, "token": new.token, "role": role, "site": site}))
    else:
        console.print(
            f"mã / token {new.id} ({role}{', site ' + site if site else ''}) — lưu ngay, sẽ không hiện "
            "lại / store it now, it is not shown again:",
            highlight=False,
        )
        print(new.token)


@topology_app.command("approve")
def topology_approve(
    site: Annotated[str, typer.Option(help="site code: approve the links of its whole subtree")],
    by: Annotated[str, typer.Option(help="who approves, e.g. 'Nguyễn Văn A, Sở TTTT'")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    config: ConfigOpt = None,
) -> None:
    """Store the site's current LLDP/CDP link set as its approved network diagram (NW-30)."""
    from canhgac_collector.devices.topology import TopologyError, approve_topology

    sessions = open_store(load_server_config(config))
    try:
        with sessions.begin() as session:
            snapshot = approve_topology(session, site, by)
            stamp, links = snapshot.approved_at.isoformat(), len(snapshot.links)
            out = {"site": site, "approved_at": stamp, "links": links}
    except TopologyError as exc:
        err.print(f"cannot approve the topology: {exc}", highlight=False)
        raise typer.Exit(EXIT_NOT_FOUND if "unknown site" in str(exc) else EXIT_CONFIG) from None
    if as_json:
        print(json.dumps(out))
    else:
        console.print(
            f"sơ đồ mạng {site} đã phê duyệt / topology of {site} approved: {out['links']} links, "
            f"{out['approved_at']}",
            highlight=False,
        )


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="in JSON / print JSON")] = False,
    wide: WideOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Liệt kê mã của người dùng / list people's tokens (never their secrets; agents' are per host)."""
    from canhgac_collector.store.models import Site, Token

    sessions = open_store(load_server_config(config))
    with sessions() as session:
        rows = session.execute(
            select(Token, Site.code)
            .outerjoin(Site, Token.site_id == Site.id)
            .where(Token.role != "agent")
            .order_by(Token.created_at)
        ).all()
    items: list[dict[str, Any]] = [
        {
            "id": tok.id,
            "role": tok.role,
            "site": code,
            "name": tok.name,
            "created_at": tok.created_at.isoformat(),
            "expires_at": tok.expires_at.isoformat() if tok.expires_at else None,
            "revoked_at": tok.revoked_at.isoformat() if tok.revoked_at else None,
        }
        for tok, code in rows
    ]
    if as_json:
        print(json.dumps(items, ensure_ascii=False))
        return
    table = Table("id", "role", "site", "name", "created", "expires", "revoked")
    for item in items:
        table.add_row(
            item["id"],
            item["role"],
            item["site"] or "*",
            item["name"],
            item["created_at"][:16],
            (item["expires_at"] or "-")[:10],
            (item["revoked_at"] or "-")[:16],
        )
    print_table(console, table, wide=wide)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="mã số / token id, as `token list` prints it")],
    config: ConfigOpt = None,
) -> None:
    """Thu hồi mã / revoke a token by id (effective within 30 s on a running server)."""
    from canhgac_collector.store.tokens import revoke_token

    sessions = open_store(load_server_config(config))
    with sessions.begin() as session:
        ok = revoke_token(session, token_id)
    if not ok:
        err.print(f"không có mã đang hiệu lực / no active token {token_id!r}", highlight=False, markup=False)
        raise typer.Exit(EXIT_NOT_FOUND)
    console.print(f"đã thu hồi / revoked: token {token_id}", highlight=False)


@config_app.command("check")
def config_check(
    config: Annotated[
        Path | None,
        typer.Argument(
            help="server.yaml cần kiểm tra / to validate; mặc định / default: $CANHGAC_CONFIG, rồi / then "
            "/etc/canhgac/server.yaml"
        ),
    ] = None,
) -> None:
    """Kiểm tra tệp cấu hình / validate a server config file and summarise its site tree."""
    from canhgac_collector.sitetree import resolve_tree

    cfg = load_server_config(config)
    nodes = resolve_tree(cfg)
    console.print(
        f"{find_config(config)}: OK — {len(nodes)} sites, database {cfg.redacted_database_url()}",
        highlight=False,
        soft_wrap=True,  # one line whatever the path's length: scripts grep it
    )
    print_advice(cfg)
    for node in nodes.values():
        depth = node.path.count("/") - 2
        keys = len(node.config.enrollment_keys)
        console.print(
            f"{'  ' * depth}{node.config.code}  {node.config.name}  level={node.level or '-'}  "
            f"keys={keys}  targets={len(node.probe_targets)}",
            highlight=False,
            soft_wrap=True,
        )


def print_advice(cfg: ServerConfig) -> None:
    """How the API is served, and the config's warnings (`config_advice`), one line each."""
    from rich.markup import escape

    from canhgac_collector.config_advice import config_warnings, tls_summary

    console.print(f"API: {tls_summary(cfg)}", highlight=False, soft_wrap=True)
    for warning in config_warnings(cfg):
        console.print(f"[yellow]Cảnh báo / warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)


@app.command()
def poll(
    address: Annotated[
        str,
        typer.Argument(metavar="HOST[:PORT]", help="địa chỉ thiết bị / device address, e.g. 10.0.0.1:161"),
    ],
    community: Annotated[
        str | None,
        typer.Option(
            envvar="CANHGAC_SNMP_COMMUNITY",
            help="community v1/v2c (biến môi trường giữ nó khỏi `ps` / env keeps it out of `ps`)",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="1 | 2c | 3 (mặc định / default: 3 with --v3-user, else 2c)"),
    ] = None,
    v3_user: Annotated[str | None, typer.Option(help="người dùng / SNMPv3 user")] = None,
    auth_protocol: Annotated[
        str | None,
        typer.Option(help="none | md5 | sha | sha224 | sha256 | sha384 | sha512 (mặc định / default sha)"),
    ] = None,
    auth_key: Annotated[
        str | None,
        typer.Option(envvar="CANHGAC_SNMP_AUTH_KEY", help="mật khẩu xác thực / v3 auth password"),
    ] = None,
    priv_protocol: Annotated[
        str | None,
        typer.Option(help="none | des | aes128 | aes192 | aes256 (mặc định / default aes128)"),
    ] = None,
    priv_key: Annotated[
        str | None,
        typer.Option(envvar="CANHGAC_SNMP_PRIV_KEY", help="mật khẩu mã hóa / v3 privacy password"),
    ] = None,
    context: Annotated[str, typer.Option(help="ngữ cảnh / v3 context name")] = "",
    timeout: Annotated[
        float, typer.Option(min=0.05, max=60, help="giây mỗi lần thử / seconds per try")
    ] = 2.0,
    retries: Annotated[int, typer.Option(min=0, max=10, help="số lần thử lại / tries after the first")] = 1,
    max_repetitions: Annotated[int, typer.Option(min=1, max=200, help="GETBULK max-repetitions")] = 25,
    as_json: Annotated[bool, typer.Option("--json", help="in JSON / print JSON")] = False,
) -> None:
    """Hỏi một thiết bị qua SNMP một lần / poll one device once: system, interfaces, neighbours, FDB,
    ARP, resources.

    Mã thoát / exit codes: 0 ok, 2 usage, 3 unreachable/timeout, 4 authentication failure, 5 other
    SNMP error.
    """
    from canhgac_agent.snmp.types import Credentials, DeviceTarget, Target
    from canhgac_collector.devices.snmp import oneshot

    def usage(message: str) -> typer.Exit:
        err.print(f"sai cách dùng / usage error: {message}", highlight=False, markup=False)
        return typer.Exit(oneshot.EXIT_USAGE)

    try:
        host, port = oneshot.parse_host_port(address)
    except ValueError as exc:
        raise usage(f"địa chỉ sai / {exc}") from None
    chosen = version or ("3" if v3_user else "2c")
    if chosen not in ("1", "2c", "3"):
        raise usage(f"--version {chosen!r}: dùng / use 1, 2c or 3")
    if chosen == "3":
        if not v3_user:
            raise usage("SNMPv3 cần / needs --v3-user")
        auth = auth_protocol or ("sha" if auth_key else "none")
        priv = priv_protocol or ("aes128" if priv_key else "none")
        if auth not in ("none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"):
            raise usage(
                f"--auth-protocol {auth!r}: chọn / choose none, md5, sha, sha224, sha256, sha384, sha512"
            )
        if priv not in ("none", "des", "aes128", "aes192", "aes256"):
            raise usage(f"--priv-protocol {priv!r}: chọn / choose none, des, aes128, aes192, aes256")
        if auth != "none" and len(auth_key or "") < 8:
            raise usage(
                "cần --auth-key (hoặc CANHGAC_SNMP_AUTH_KEY) ≥ 8 ký tự / --auth-key (or "
                "CANHGAC_SNMP_AUTH_KEY) of at least 8 characters is needed"
            )
        if priv != "none" and (auth == "none" or len(priv_key or "") < 8):
            raise usage(
                "mã hóa cần xác thực và --priv-key ≥ 8 ký tự / privacy needs authentication and a "
                "--priv-key (or CANHGAC_SNMP_PRIV_KEY) of ≥ 8 chars"
            )
        creds = Credentials(
            version="3",
            user=v3_user.encode(),
            auth_protocol=auth,  # type: ignore[arg-type]  # checked above
            auth_key=(auth_key or "").encode(),
            priv_protocol=priv,  # type: ignore[arg-type]
            priv_key=(priv_key or "").encode(),
            context_name=context.encode(),
        )
    else:
        if not community:
            raise usage(f"SNMP v{chosen} cần / needs --community (or CANHGAC_SNMP_COMMUNITY)")
        creds = Credentials(version=chosen, community=community.encode())  # type: ignore[arg-type]
    device = DeviceTarget(
        name=host, site="-", target=Target(host, port, timeout_s=timeout, retries=retries), credentials=creds
    )
    result = oneshot.run_poll(device, max_repetitions=max_repetitions)
    code = oneshot.exit_code(result)
    if as_json:
        print(json.dumps(oneshot.poll_json(result), ensure_ascii=False))
    elif code == oneshot.EXIT_OK:
        oneshot.render(result, console)
    if code != oneshot.EXIT_OK:
        state = "không phản hồi / unreachable" if code == oneshot.EXIT_UNREACHABLE else "lỗi / error"
        err.print(f"{host}: {state} ({result.reason}): {result.detail}", highlight=False, markup=False)
    raise typer.Exit(code)


# Compliance: `canhgac rules check|list|schema` and `canhgac audit` (heavy imports inside the commands).
# The rules library's `audit` command runs `--site CODE` through the server's handler (store, stored scan).
from canhgac_collector.compliance.cli import audit_online  # noqa: E402
from canhgac_rules.cli import audit_command, rules_app  # noqa: E402

app.add_typer(rules_app, name="rules")
app.command("audit")(audit_command(online=audit_online))


# Alerts: `canhgac alerts list|ack|silence …` (collector/canhgac_collector/alerting/cli.py), opening the
# store the way every command here does.
from canhgac_collector.alerting.cli import make_alerts_app  # noqa: E402

app.add_typer(make_alerts_app(open_store_at), name="alerts")

# Vulnerability feeds: `canhgac vulns import|list` (collector/canhgac_collector/vulns/cli.py).
from canhgac_collector.vulns.cli import make_vulns_app  # noqa: E402

app.add_typer(make_vulns_app(open_store_at), name="vulns")

# Device config backup: `canhgac backup pull|list|history|show|diff|approve|accept-host-key`
# (collector/canhgac_collector/devices/configs/cli.py and cli_history.py).
from canhgac_collector.devices.configs.cli_history import make_backup_app  # noqa: E402

app.add_typer(make_backup_app(open_store_at), name="backup")

# `canhgac inventory --ansible` (collector/canhgac_collector/inventory.py).
from canhgac_collector.inventory import make_inventory_command  # noqa: E402

app.command("inventory")(make_inventory_command(load_server_config, open_store_at))


# Device profiles: `canhgac profiles check [PATH…]` (collector/canhgac_collector/devices/profiles/cli.py).
from canhgac_collector.devices.profiles.cli import profiles_app  # noqa: E402

app.add_typer(profiles_app, name="profiles")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
