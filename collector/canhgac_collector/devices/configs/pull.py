"""Pull one device's running config over SSH with netmiko, exactly as the device prints it.

netmiko does what differs per vendor: the login handlers, the prompt, `enable` with its secret, and the
command that turns paging off (`terminal length 0`, `screen-length 0 temporary`, `screen-length
disable`, `set cli screen-length 0`, RouterOS's `+ct…` login options). The show command's output is read
here rather than by `send_command`, so that a pull ends as soon as the device closes the connection or
stops at a pager, and never holds more than `MAX_CONFIG_CHARS`.

"Exactly" means: every character the device printed after the echoed command line and before the line
with its next prompt, line ends as "\n", with terminal control sequences removed (netmiko's ANSI
stripping on Huawei and RouterOS). Header lines the device prints as part of the output (Cisco/Ruijie
"Building configuration...", "Current configuration : N bytes", RouterOS's "# <date> by RouterOS")
are kept on every platform alike: they are what the device said, and config history normalises them.

Show commands: `show running-config` (Cisco IOS/IOS-XE, Ruijie RGOS, TP-Link JetStream),
`display current-configuration` (Huawei VRP, HPE/H3C Comware), `/export` (MikroTik RouterOS) and, on
Junos, `show configuration | display set`: one self-contained statement per line, so a diff between
two versions names each changed statement with its full path (the auditor reads both Junos forms, and
`load set` restores it).

Host keys: the key the device presents is checked by a paramiko host-key policy during the SSH
handshake, before any credential is sent; a key that differs from `pinned_host_key` is refused.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import io
import re
import socket
import time
from typing import Any

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

from canhgac_collector.devices.configs.target import PLATFORMS, PullError, PullResult, SshTarget

SHOW_COMMAND = {
    "cisco_ios": "show running-config",
    "cisco_xe": "show running-config",
    "ruijie_os": "show running-config",
    "tplink_jetstream": "show running-config",
    "huawei": "display current-configuration",
    "hp_comware": "display current-configuration",
    "juniper_junos": "show configuration | display set",
    "mikrotik_routeros": "/export",
}
# Platforms whose running config needs privileged mode (`enable`); Comware's "enable" is system-view,
# which reading the config does not need.
NEEDS_ENABLE = frozenset({"cisco_ios", "cisco_xe", "ruijie_os", "tplink_jetstream"})
MAX_CONFIG_CHARS = 16 * 1024 * 1024  # far above any switch's config; a device streaming more is cut off

# What vendors' pagers print while waiting for a key, at the end of the output so far.
PAGER = re.compile(
    r"(?:--\s?More\s?--|-{4} More -{4}|---\(more(?: \d+%)?\)---|Press any key to continue"
    r"(?: \(Q to quit\))?|-- \[Q quit\|D dump\|down\])\s*$",
    re.IGNORECASE,
)
PAGER_WINDOW = 80  # characters at the end of the output that can hold a pager line
_PROMPT_END = re.compile(r"[>#\]$%]\s*$")
_PAGER_GRACE_S = 0.3  # a pager line with nothing after it for this long is the device waiting for a key
_CHANNEL_ENCODING = "latin-1"  # bytes → chars 1:1; the config is decoded as UTF-8 once it is whole


def key_line(key: Any) -> str:
    """A paramiko key as "type base64"."""
    return f"{key.get_name()} {key.get_base64()}"


def fingerprint(key_text: str) -> str:
    """OpenSSH's SHA256 fingerprint of a "type base64 [comment]" key; "?" when it is not one."""
    parts = key_text.split()
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (IndexError, ValueError):
        return "?"
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _same_key(a: str, b: str) -> bool:
    return a.split()[:2] == b.split()[:2]


class _HostKeyCheck:
    """paramiko's host-key policy (called after key exchange, before authentication): remembers the
    presented key and refuses one that differs from the pinned key."""

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.presented: str | None = None

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        self.presented = key_line(key)
        pinned = self.target.pinned_host_key
        if pinned is not None and not _same_key(pinned, self.presented):
            raise PullError(
                "host_key_changed",
                f"{_where(self.target)}: khóa máy chủ SSH đã đổi, từ chối trước khi gửi mật khẩu / SSH "
                f"host key changed, refused before sending credentials: pinned {fingerprint(pinned)}, "
                f"presented {fingerprint(self.presented)}",
                presented_host_key=self.presented,
            )


def _where(target: SshTarget) -> str:
    return f"{target.name} ({target.host}:{target.port})"


def _fail(kind: str, target: SshTarget, vi: str, en: str) -> PullError:
    return PullError(kind, f"{_where(target)}: {vi} / {en}")


def _check_target(target: SshTarget) -> None:
    if target.platform not in PLATFORMS:
        raise _fail(
            "usage",
            target,
            "nền tảng không hỗ trợ",
            f"unsupported platform {target.platform!r}: one of {', '.join(PLATFORMS)}",
        )
    if not 0 < target.port < 65536:
        raise _fail("usage", target, "cổng sai", f"port {target.port} out of range 1-65535")
    if not target.username:
        raise _fail("usage", target, "thiếu tên đăng nhập", "no username")
    if not (0 < target.timeout_s <= 3600):
        raise _fail("usage", target, "thời gian chờ sai", f"timeout {target.timeout_s} s not in (0, 3600]")


def _private_key(target: SshTarget) -> Any:
    """The paramiko key from `key_text` or `key_file`, or None; unreadable keys are usage errors."""
    try:
        if target.key_text is not None:
            for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
                with contextlib.suppress(paramiko.SSHException):
                    return kind.from_private_key(io.StringIO(target.key_text))
            raise paramiko.SSHException("not an Ed25519, ECDSA or RSA private key")
        if target.key_file is not None:
            return paramiko.PKey.from_path(target.key_file)
    except (OSError, paramiko.SSHException, ValueError) as exc:
        source = target.key_file or "stored key"
        raise _fail(
            "usage",
            target,
            "không đọc được khóa riêng",
            f"cannot read the private key {source}: {type(exc).__name__}",
        ) from None
    return None


def _open_socket(target: SshTarget) -> socket.socket:
    try:
        return socket.create_connection((target.host, target.port), timeout=target.timeout_s)
    except TimeoutError:
        raise _fail(
            "timeout",
            target,
            f"không kết nối được trong {target.timeout_s:g} s",
            f"no TCP connection within {target.timeout_s:g} s",
        ) from None
    except socket.gaierror:
        raise _fail("unreachable", target, "không phân giải được tên", "host name not resolved") from None
    except ConnectionRefusedError:
        raise _fail("unreachable", target, "bị từ chối kết nối", "connection refused") from None
    except OSError as exc:
        reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        raise _fail("unreachable", target, "không tới được thiết bị", f"unreachable ({reason})") from None


def pull_running_config(target: SshTarget) -> PullResult:
    """Log in, read the running config, log out; PullError (one line, no secret) when that fails."""
    _check_target(target)
    started = time.monotonic()
    pkey = _private_key(target)
    sock = _open_socket(target)
    check = _HostKeyCheck(target)
    conn: Any = None
    stage = "setup"
    try:
        conn = ConnectHandler(
            device_type=target.platform,
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password or "",
            secret=_channel_text(target.enable_secret or ""),
            pkey=pkey,
            use_keys=False,  # the key, if any, is `pkey`: never keys found in ~/.ssh
            allow_agent=False,
            sock=sock,
            conn_timeout=target.timeout_s,
            auth_timeout=target.timeout_s,
            banner_timeout=target.timeout_s,
            blocking_timeout=target.timeout_s,
            read_timeout_override=target.timeout_s,
            encoding=_CHANNEL_ENCODING,
            auto_connect=False,
        )
        conn.key_policy = check
        stage = "login"
        conn._open()  # netmiko's own connect path (login options, login handlers, paging off), our policy
        if target.platform in NEEDS_ENABLE and not conn.check_enable_mode():
            stage = "enable"
            conn.enable()
        stage = "read"
        text = _read_output(conn, target, SHOW_COMMAND[target.platform], started)
    except PullError:
        raise
    except Exception as exc:
        raise _classify(exc, target, stage) from None
    finally:
        _close(conn, sock)
    if check.presented is None:  # paramiko always asks the policy: no host-key store is loaded
        raise _fail("device_error", target, "không nhận được khóa máy chủ", "no host key presented")
    return PullResult(config=text, host_key=check.presented, duration_s=time.monotonic() - started)


def _channel_text(text: str) -> str:
    """`text` as the latin-1 channel sends it: its UTF-8 bytes, one char each."""
    return text.encode().decode(_CHANNEL_ENCODING)


def _read_output(conn: Any, target: SshTarget, command: str, started: float) -> str:
    """Send `command` and read until the prompt comes back; the output between echo and prompt."""
    deadline = time.monotonic() + target.timeout_s
    base = conn.base_prompt
    conn.clear_buffer()
    conn.write_channel(conn.normalize_cmd(command))
    parts: list[str] = []
    size = 0
    tail = ""
    quiet_since: float | None = None
    delay = 0.01
    while True:
        try:
            data = conn.read_channel()
        except (ReadException, OSError, EOFError, paramiko.SSHException):
            raise _dropped(target, size) from None
        now = time.monotonic()
        if data:
            parts.append(data)
            size += len(data)
            if size > MAX_CONFIG_CHARS:
                raise _fail(
                    "device_error", target, "cấu hình quá lớn", f"output over {MAX_CONFIG_CHARS} characters"
                )
            tail = (tail + data)[-4096:]
            last = tail.rsplit("\n", 1)[-1]
            if len(parts) > 0 and "\n" in tail and base in last and _PROMPT_END.search(last):
                break
            quiet_since, delay = None, 0.01
            continue
        if PAGER.search(tail[-PAGER_WINDOW:]):  # the pager ends the output: search only its end
            quiet_since = quiet_since or now
            if now - quiet_since >= _PAGER_GRACE_S:
                raise _fail(
                    "paging",
                    target,
                    "thiết bị vẫn phân trang (--More--), cấu hình không đầy đủ",
                    f"output still paged after the terminal-length command: {tail.rsplit(chr(10), 1)[-1]!r}",
                )
        channel = conn.remote_conn
        if channel is None or channel.closed or channel.eof_received:
            raise _dropped(target, size)
        if now > deadline:
            raise _fail(
                "timeout",
                target,
                f"không nhận xong cấu hình trong {target.timeout_s:g} s",
                f"config not complete within {target.timeout_s:g} s ({size} characters read)",
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    output = "".join(parts)
    first_nl = output.find("\n")
    if first_nl >= 0 and command in output[:first_nl]:
        output = output[first_nl + 1 :]
    body = output[: output.rfind("\n") + 1]
    return body.encode(_CHANNEL_ENCODING).decode("utf-8", errors="replace")


def _dropped(target: SshTarget, size: int) -> PullError:
    return _fail(
        "device_error",
        target,
        "thiết bị ngắt kết nối giữa chừng",
        f"connection closed by the device mid-output ({size} characters read)",
    )


def _classify(exc: Exception, target: SshTarget, stage: str) -> PullError:
    """One PullError for what netmiko or paramiko raised at `stage` (login, enable, read)."""
    text = str(exc)
    if isinstance(exc, NetmikoAuthenticationException):
        return _fail("auth", target, "sai tên đăng nhập, mật khẩu hoặc khóa", "authentication failed")
    if isinstance(exc, NetmikoTimeoutException):
        if "banner" in text or "timed out" in text.lower() or "No existing session" in text:
            return _fail(
                "timeout",
                target,
                "thiết bị không trả lời SSH kịp",
                f"no SSH handshake within {target.timeout_s:g} s",
            )
        first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
        return _fail("device_error", target, "lỗi thương lượng SSH", f"SSH negotiation failed: {first}")
    if stage == "enable" or (isinstance(exc, ValueError) and "enable mode" in text):
        return _fail(
            "auth",
            target,
            "không vào được chế độ enable (mật khẩu enable sai hoặc thiếu)",
            "enable mode refused (wrong or missing enable secret)",
        )
    if isinstance(exc, ReadTimeout) or (isinstance(exc, ValueError) and stage == "login"):
        return _fail(
            "unknown_prompt",
            target,
            f"không nhận ra dấu nhắc của {target.platform}",
            f"no {target.platform} prompt recognised after login (wrong platform?)",
        )
    if isinstance(exc, (ReadException, OSError, EOFError, paramiko.SSHException)):
        return _dropped(target, 0)
    return _fail("device_error", target, "lỗi thiết bị", f"{type(exc).__name__} at {stage}")


def _close(conn: Any, sock: socket.socket) -> None:
    """Log out and close with netmiko's own `disconnect` (it sends each platform's exit command).

    An earlier polite logout of our own (exit, wait for the channel to close, then tear down paramiko
    before `disconnect`) cost 40% more CPU per pull in bench/config_pull.py, in paramiko's transport
    threads."""
    try:
        if conn is not None:
            conn.disconnect()
    finally:
        sock.close()
