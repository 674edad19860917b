"""`canhgac backup list|history|show|diff|approve|accept-host-key`: the config history from the server's
shell. Runs with the server config's database access, i.e. as an administrator; texts are still masked
unless `--raw` is asked for, so a screen share or a pasted diff does not leak a secret by default."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.cli_support import ConfigOpt, WideOpt
from canhgac_collector.devices import queries as device_queries
from canhgac_collector.devices.configs import queries
from canhgac_collector.devices.configs.history import (
    ApprovalError,
    accept_host_key,
    approve_version,
    display_text,
    request_pull,
    unified_diff,
)
from canhgac_collector.store.models import Device, DeviceConfigVersion
from canhgac_rules.terminal import print_table

console = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 4
SessionOpener = Callable[[Path | None], sessionmaker[Session]]

DeviceArg = Annotated[str, typer.Argument(help="tên thiết bị / device name")]
JsonOpt = Annotated[bool, typer.Option("--json", help="in JSON / print JSON")]
RawOpt = Annotated[
    bool, typer.Option("--raw", help="nguyên văn, kể cả bí mật / as pulled, secrets included (restore)")
]


def _fail(code: int, text: str) -> typer.Exit:
    err.print(text, markup=False, highlight=False)
    return typer.Exit(code)


def _device(session: Session, name: str) -> Device:
    row = device_queries.find_device(session, None, name)
    if row is None:
        raise _fail(EXIT_NOT_FOUND, f"không có thiết bị / no device {name!r}")
    return row[0]


def _version(session: Session, device: Device, version: int | None) -> DeviceConfigVersion:
    row = queries.get_version(session, device.id, version)
    if row is None:
        which = f"bản / version {version}" if version is not None else "bản nào / any version"
        raise _fail(EXIT_NOT_FOUND, f"thiết bị / device {device.name}: không có / has no {which}")
    return row


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _version_doc(row: DeviceConfigVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "platform": row.platform,
        "pulled_at": _iso(row.pulled_at),
        "seen_at": _iso(row.seen_at),
        "content_sha256": row.content_sha256,
        "lines_added": row.lines_added,
        "lines_removed": row.lines_removed,
        "sections": list(row.sections),
        "approved_by": row.approved_by,
        "approved_at": _iso(row.approved_at),
        "approval_comment": row.approval_comment,
    }


def add_history_commands(app: typer.Typer, open_sessions: SessionOpener) -> None:
    """Add the history commands to `app` (the `backup` group); `open_sessions(config)` opens the store."""

    @app.command("list")
    def list_backups(as_json: JsonOpt = False, wide: WideOpt = False, config: ConfigOpt = None) -> None:
        """Danh sách sao lưu / devices with SSH: platform, last pull (why it failed), versions, approved."""
        with open_sessions(config)() as session:
            items = [
                {
                    "device": r.device.name,
                    "site": r.site,
                    "platform": r.platform,
                    "status": r.device.config_status,
                    "last_pull_at": _iso(r.device.config_pull_at),
                    "error_kind": r.device.config_error_kind,
                    "error": r.device.config_error,
                    "pending_host_key": r.device.ssh_pending_host_key is not None,
                    "versions": r.versions,
                    "latest_version": r.latest_version,
                    "approved_version": r.approved_version,
                }
                for r in queries.backup_rows(session, None)
            ]
        if as_json:
            print(json.dumps(items, ensure_ascii=False))
            return
        table = Table("device", "site", "platform", "status", "last pull", "versions", "latest", "approved")
        for i in items:
            status = i["status"] or "chưa lấy / never"
            if i["error_kind"]:
                status = f"{status}: {i['error_kind']}"
            table.add_row(
                str(i["device"]),
                str(i["site"]),
                str(i["platform"] or "chưa rõ / unknown"),
                str(status),
                str(i["last_pull_at"] or "-")[:16],
                str(i["versions"]),
                str(i["latest_version"] or "-"),
                str(i["approved_version"] or "-"),
            )
        print_table(console, table, wide=wide)

    @app.command("history")
    def history(
        device: DeviceArg, as_json: JsonOpt = False, wide: WideOpt = False, config: ConfigOpt = None
    ) -> None:
        """Lịch sử phiên bản / a device's versions, newest first: what each changed, its approval."""
        with open_sessions(config)() as session:
            found = _device(session, device)
            items = [_version_doc(r) for r in queries.list_versions(session, found.id)]
        if as_json:
            print(json.dumps(items, ensure_ascii=False))
            return
        table = Table("version", "pulled", "change", "sections", "approved")
        for i in items:
            approved = f"{i['approved_by']} {str(i['approved_at'])[:16]}" if i["approved_at"] else "-"
            table.add_row(
                str(i["version"]),
                str(i["pulled_at"])[:16],
                f"+{i['lines_added']}/-{i['lines_removed']}",
                ", ".join(i["sections"]),
                approved,
            )
        print_table(console, table, wide=wide)

    @app.command("show")
    def show(
        device: DeviceArg,
        version: Annotated[
            int | None, typer.Option("--version", min=1, help="mặc định / default: newest")
        ] = None,
        raw: RawOpt = False,
        as_json: JsonOpt = False,
        config: ConfigOpt = None,
    ) -> None:
        """Xem một phiên bản / one version's text, masked unless --raw."""
        with open_sessions(config)() as session:
            row = _version(session, _device(session, device), version)
            text = display_text(row, raw=raw)
            doc = {**_version_doc(row), "device": device, "masked": not raw, "text": text}
        if as_json:
            print(json.dumps(doc, ensure_ascii=False))
            return
        typer.echo(text, nl=not text.endswith("\n"))

    @app.command("diff")
    def diff(
        device: DeviceArg,
        from_version: Annotated[
            int | None, typer.Option("--from", min=1, help="mặc định / default: the one before --to")
        ] = None,
        to_version: Annotated[
            int | None, typer.Option("--to", min=1, help="mặc định / default: newest")
        ] = None,
        raw: RawOpt = False,
        as_json: JsonOpt = False,
        config: ConfigOpt = None,
    ) -> None:
        """So sánh hai phiên bản / unified diff between two versions, masked unless --raw."""
        with open_sessions(config)() as session:
            found = _device(session, device)
            new = _version(session, found, to_version)
            if from_version is None:
                old = queries.version_before(session, found.id, new.version)
            else:
                old = _version(session, found, from_version)
            text = unified_diff(old, new, raw=raw)
            doc = {
                "device": device,
                "from_version": old.version if old is not None else None,
                "to_version": new.version,
                "masked": not raw,
                "diff": text,
            }
        if as_json:
            print(json.dumps(doc, ensure_ascii=False))
            return
        typer.echo(text or "(không khác / no difference)", nl=not text.endswith("\n"))

    @app.command("approve")
    def approve(
        device: DeviceArg,
        version: Annotated[int, typer.Option("--version", min=1, help="bản được duyệt / version to approve")],
        comment: Annotated[str, typer.Option("--comment", help="lý do / why (required)")],
        as_json: JsonOpt = False,
        config: ConfigOpt = None,
    ) -> None:
        """Phê duyệt một phiên bản / mark a version approved, with who (this shell's user) and why."""
        with open_sessions(config).begin() as session:
            found = _device(session, device)
            try:
                row = approve_version(
                    session, found, version, approved_by=f"cli:{getpass.getuser()}", comment=comment
                )
            except ApprovalError as exc:
                raise _fail(EXIT_BAD_INPUT, f"--comment: {exc}") from None
            if row is None:
                raise _fail(
                    EXIT_NOT_FOUND, f"thiết bị / device {device}: không có bản / has no version {version}"
                )
            doc = _version_doc(row)
        if as_json:
            print(json.dumps(doc, ensure_ascii=False))
            return
        console.print(
            f"đã duyệt / approved {device} version {version} by {doc['approved_by']}",
            markup=False,
            highlight=False,
        )

    @app.command("pull-now")
    def pull_now(device: DeviceArg, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
        """Yêu cầu lấy cấu hình ngay / ask the running server to pull this device now."""
        with open_sessions(config).begin() as session:
            found = _device(session, device)
            if found.ssh_username is None:
                raise _fail(
                    EXIT_BAD_INPUT, f"thiết bị / device {device}: chưa cấu hình SSH / has no ssh: settings"
                )
            requested = request_pull(session, found, f"cli:{getpass.getuser()}")
        if as_json:
            print(json.dumps({"device": device, "pull_requested_at": _iso(requested)}, ensure_ascii=False))
            return
        console.print(
            f"đã yêu cầu / pull requested for {device} at {_iso(requested)}", markup=False, highlight=False
        )

    @app.command("accept-host-key")
    def accept(device: DeviceArg, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
        """Chấp nhận khoá SSH mới / pin the host key the device presented after a change; pull again."""
        with open_sessions(config).begin() as session:
            found = _device(session, device)
            if not accept_host_key(session, found.id, f"cli:{getpass.getuser()}"):
                raise _fail(
                    EXIT_NOT_FOUND,
                    f"thiết bị / device {device}: không có khoá mới chờ duyệt / no pending host key",
                )
            key = found.ssh_host_key
        if as_json:
            print(json.dumps({"device": device, "host_key": key}, ensure_ascii=False))
            return
        console.print(
            f"đã chấp nhận khoá / host key accepted for {device}: {key}", markup=False, highlight=False
        )


def make_backup_app(open_sessions: SessionOpener) -> typer.Typer:
    """The `backup` commands: `pull` (one device, from `cli.py`) and the history commands here;
    `open_sessions(config)` is how the server's CLI opens its store."""
    from canhgac_collector.devices.configs.cli import backup_app

    backup_app.info.help = (
        "Sao lưu cấu hình thiết bị qua SSH / device config backups over SSH: "
        "pull, list, history, show, diff, approve, accept-host-key."
    )
    add_history_commands(backup_app, open_sessions)
    return backup_app
