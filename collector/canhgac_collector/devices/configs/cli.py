"""`canhgac backup …`: device config backups over SSH (`pull` takes one device, inventory or not)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

backup_app = typer.Typer(
    no_args_is_help=True,
    help="Sao lưu cấu hình thiết bị qua SSH / device config backups over SSH.",
)

err = Console(stderr=True, soft_wrap=True)  # one error, one line: greppable in logs

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3  # unreachable or timeout
EXIT_AUTH = 4
EXIT_DEVICE = 5  # host key changed, unknown prompt, paging, other device errors
PULL_EXIT = {
    "usage": EXIT_USAGE,
    "unreachable": EXIT_UNREACHABLE,
    "timeout": EXIT_UNREACHABLE,
    "auth": EXIT_AUTH,
}


def _say(line: str) -> None:
    err.print(line, highlight=False, markup=False)


def _usage(message: str) -> typer.Exit:
    _say(f"sai cách dùng / usage error: {message}")
    return typer.Exit(EXIT_USAGE)


def _secret_from_env(option: str, var: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise _usage(
            f"{option} {var}: biến môi trường trống hoặc chưa đặt / environment variable empty or unset"
        )
    return value


@backup_app.command("pull")
def pull(
    address: Annotated[
        str, typer.Argument(metavar="HOST[:PORT]", help="địa chỉ thiết bị / device address, e.g. 10.0.0.1:22")
    ],
    platform: Annotated[
        str,
        typer.Option(
            help="netmiko device_type: cisco_ios, cisco_xe, huawei, hp_comware, juniper_junos, "
            "tplink_jetstream, mikrotik_routeros, ruijie_os"
        ),
    ],
    username: Annotated[str, typer.Option(help="tên đăng nhập SSH / SSH user name")],
    out: Annotated[Path, typer.Option(help="tệp ghi cấu hình / file to write the running config to")],
    password_env: Annotated[
        str | None,
        typer.Option(help="biến môi trường chứa mật khẩu (khỏi lộ qua `ps`) / env var holding the password"),
    ] = None,
    key: Annotated[Path | None, typer.Option(help="tệp khóa riêng SSH / SSH private key file")] = None,
    enable_env: Annotated[
        str | None,
        typer.Option(help="biến môi trường chứa mật khẩu enable / env var holding the enable secret"),
    ] = None,
    host_key: Annotated[
        str | None,
        typer.Option(
            help="khóa máy chủ đã ghim 'type base64'; khác thì từ chối / pinned host key 'type base64': "
            "refuse another"
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.5, max=3600, help="giây chờ mỗi bước / seconds to wait at each step")
    ] = 30.0,
) -> None:
    """Lấy cấu hình đang chạy của một thiết bị / pull one device's running config over SSH into FILE.

    Ghi đúng cấu hình, không dấu nhắc, không phân trang / writes exactly the running config (no prompt,
    no paging artefacts, no echoed command), then prints the host key it presented on stderr.

    Mã thoát / exit codes: 0 ok, 2 usage, 3 unreachable/timeout, 4 authentication, 5 other device error
    (host key changed, unknown prompt, paging left on).
    """
    from canhgac_collector.devices.configs.pull import fingerprint, pull_running_config
    from canhgac_collector.devices.configs.target import PLATFORMS, PullError, SshTarget
    from canhgac_collector.devices.snmp.oneshot import parse_host_port

    try:
        host, port = parse_host_port(address, default_port=22)
    except ValueError as exc:
        raise _usage(f"địa chỉ sai / {exc}") from None
    if platform not in PLATFORMS:
        raise _usage(f"--platform {platform!r}: chọn / choose one of {', '.join(PLATFORMS)}")
    if (password_env is None) == (key is None):
        raise _usage("cần đúng một trong / give exactly one of --password-env VAR, --key FILE")
    if host_key is not None and len(host_key.split()) < 2:
        raise _usage("--host-key: dạng / form 'ssh-ed25519 AAAA…'")
    password = _secret_from_env("--password-env", password_env) if password_env else None
    secret = _secret_from_env("--enable-env", enable_env) if enable_env else None
    target = SshTarget(
        name=host,
        host=host,
        platform=platform,
        username=username,
        port=port,
        password=password,
        key_file=str(key) if key is not None else None,
        enable_secret=secret,
        pinned_host_key=host_key,
        timeout_s=timeout,
    )
    try:
        result = pull_running_config(target)
    except PullError as exc:
        _say(f"lỗi / error [{exc.kind}]: {exc}")
        raise typer.Exit(PULL_EXIT.get(exc.kind, EXIT_DEVICE)) from None
    try:
        out.write_bytes(result.config.encode())
    except OSError as exc:
        raise _usage(f"không ghi được / cannot write {out}: {exc.strerror or exc}") from None
    _say(
        f"{host}:{port}: {len(result.config.splitlines())} dòng / lines → {out} ({result.duration_s:.1f} s); "
        f"khóa máy chủ / host key {fingerprint(result.host_key)}: {result.host_key}"
    )
