"""Simulated switches and routers over real SSH (asyncssh) on loopback, for config pulls.

One `SshDeviceLab` runs its own asyncio loop in a thread (so sync tests, the bench and the demo can use
it) and serves many devices, one listening port each on 127.0.0.1 with its own host key. Each device
speaks its platform's CLI the way netmiko expects it: the prompts (`sw1>`/`sw1#`, `<sw1>`,
`admin@sw1>`, `[admin@sw1] >`), enable mode with a secret, the terminal-length command that stops
paging, the show command that prints the running config, command echo, and the vendor's pager
(`--More--`, `---- More ----`, `---(more)---`, `Press any key to continue (Q to quit)`, RouterOS's
`-- [Q quit|D dump|down]`) until paging is turned off. Faults are per-device fields: wrong passwords are
refused, output can be slow and chunked (also inside a multi-byte character), the connection can drop
mid-output, the host key can change (`rotate_host_key`), the prompt can be one netmiko does not know,
and paging can stay on whatever the client sends.

    with SshDeviceLab() as lab:
        port = lab.add(SimDevice("sw1", "cisco_ios", sample_config("cisco_ios", "sw1")))
        lab.set_config("sw1", new_text)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import asyncssh

T = TypeVar("T")

_CALL_TIMEOUT_S = 30.0
_MAX_LINE = 4096  # a longer typed line is cut: the simulator's input is bounded like a device's


@dataclass(frozen=True)
class SimDevice:
    """One simulated device; the fault fields are off by default."""

    name: str  # hostname in the prompt
    platform: str  # a netmiko device_type (devices/configs/target.py PLATFORMS)
    config: str  # what its show command prints, exactly
    username: str = "netadmin"
    password: str = "lab-pass"  # noqa: S105 - a lab device's login
    enable_secret: str | None = None  # Cisco/Ruijie/JetStream: `enable` asks for it when set
    authorized_key: str | None = None  # "ssh-ed25519 AAAA…": public-key login accepted too
    page_lines: int = 24  # lines per page while paging is on
    chunk_bytes: int = 0  # >0: output written in pieces of this many bytes…
    chunk_delay_s: float = 0.0  # …with this pause between pieces
    drop_after_lines: int | None = None  # abort the connection after this many config lines
    paging_stuck: bool = False  # the terminal-length command is accepted but paging stays on
    odd_prompt: str | None = None  # a prompt netmiko does not know, e.g. "sw1:"


@dataclass(frozen=True)
class _Cli:
    """What differs between vendors' CLIs, in the simulator's terms."""

    show: tuple[str, ...]  # commands printing the running config
    paging_off: dict[str, str]  # command → reply; turns paging off for the session
    replies: dict[str, str]  # other accepted commands → reply
    more: str  # the pager line
    more_erase: str  # what the pager prints after a key, erasing itself
    unknown: str  # reply to an unknown command
    has_enable: bool = False
    login_banner: str = ""


_BS9 = "\b" * 9
_CISCO_MORE = (" --More-- ", _BS9 + " " * 9 + _BS9)
_CISCO_ERR = "                  ^\r\n% Invalid input detected at '^' marker.\r\n"
_HUAWEI_ERASE = "\x1b[42D" + " " * 42 + "\x1b[42D"
_COMWARE_ERASE = "\x1b[16D" + " " * 16 + "\x1b[16D"

CLIS: dict[str, _Cli] = {
    "cisco_ios": _Cli(
        show=("show running-config", "show run"),
        paging_off={"terminal length 0": ""},
        replies={"terminal width 511": "", "show version": "Cisco IOS Software, C2960X Software\r\n"},
        more=_CISCO_MORE[0],
        more_erase=_CISCO_MORE[1],
        unknown=_CISCO_ERR,
        has_enable=True,
    ),
    "ruijie_os": _Cli(
        show=("show running-config",),
        paging_off={"terminal length 0": ""},
        replies={"terminal width 256": ""},
        more=_CISCO_MORE[0],
        more_erase=_CISCO_MORE[1],
        unknown="% Unknown command.\r\n",
        has_enable=True,
    ),
    "tplink_jetstream": _Cli(
        show=("show running-config",),
        paging_off={"terminal length 0": ""},
        replies={"enable-admin": ""},
        more="Press any key to continue (Q to quit)",
        more_erase="\r" + " " * 37 + "\r",
        unknown="Error: Bad command\r\n",
        has_enable=True,
    ),
    "huawei": _Cli(
        show=("display current-configuration",),
        paging_off={
            "screen-length 0 temporary": "Info: The configuration takes effect on the current user terminal "
            "interface only.\r\n"
        },
        replies={},
        more="  ---- More ----",
        more_erase=_HUAWEI_ERASE,
        unknown="Error: Unrecognized command found at '^' position.\r\n",
        login_banner="Info: The max number of VTY users is 5, and the number\r\n"
        "      of current VTY users on line is 1.\r\n",
    ),
    "hp_comware": _Cli(
        show=("display current-configuration",),
        paging_off={"screen-length disable": ""},
        replies={},
        more="---- More ----",
        more_erase=_COMWARE_ERASE,
        unknown="% Unrecognized command found at '^' position.\r\n",
        login_banner="*" * 60
        + "\r\n* Copyright (c) 2004-2026 New H3C Technologies Co., Ltd.  *\r\n"
        + "*" * 60
        + "\r\n\r\n",
    ),
    "juniper_junos": _Cli(
        show=("show configuration | display set",),
        paging_off={"set cli screen-length 0": "Screen length set to 0\r\n"},
        replies={
            "set cli screen-width 511": "Screen width set to 511\r\n",
            "set cli complete-on-space off": "Disabling complete-on-space\r\n",
        },
        more="---(more)---",
        more_erase="\r" + " " * 12 + "\r",
        unknown="                ^\r\nunknown command.\r\n",
        login_banner="--- JUNOS 21.4R3-S4.9 Kernel 64-bit  JNPR-12.1-20230321\r\n",
    ),
    "mikrotik_routeros": _Cli(
        show=("/export",),
        paging_off={},
        replies={},
        more="-- [Q quit|D dump|down]",
        more_erase="\r" + " " * 23 + "\r",
        unknown="bad command name\r\n",
    ),
}
CLIS["cisco_xe"] = CLIS["cisco_ios"]


def public_key_line(key: asyncssh.SSHKey) -> str:
    """The key as "type base64" (an OpenSSH public key line without its comment)."""
    kind, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"{kind} {blob}"


class _Listener:
    def __init__(self, device: SimDevice, port: int = 0) -> None:
        self.device = device
        self.port = port
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.server: asyncssh.SSHAcceptor | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.auth_attempts = 0  # passwords and keys offered: a refused host key must leave it at 0


class _Auth(asyncssh.SSHServer):
    """Logins for one device: its password or its authorized key; MikroTik login options stripped."""

    def __init__(self, listener: _Listener) -> None:
        self._listener = listener
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._listener.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._listener.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def _user_ok(self, username: str) -> bool:
        device = self._listener.device
        if device.platform == "mikrotik_routeros":
            username = username.split("+", 1)[0]
        return username == device.username

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self._listener.auth_attempts += 1
        return self._user_ok(username) and password == self._listener.device.password

    def public_key_auth_supported(self) -> bool:
        return self._listener.device.authorized_key is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        self._listener.auth_attempts += 1
        wanted = self._listener.device.authorized_key
        return self._user_ok(username) and wanted is not None and public_key_line(key) == wanted.strip()


class _Session:
    """One interactive CLI session on a device (bytes in, bytes out, echo done here)."""

    def __init__(self, listener: _Listener, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.listener = listener
        self.process = process
        self.pending = bytearray()
        self.enabled = False
        login = str(process.get_extra_info("username") or "")
        self.user, _, self.options = login.partition("+")
        self.paging = not (self.device.platform == "mikrotik_routeros" and "t" in self.options)
        self.cli = CLIS[self.device.platform]
        self.skip_lf = False

    @property
    def device(self) -> SimDevice:  # read each time: set_config and faults apply to open sessions too
        return self.listener.device

    def prompt(self) -> str:
        d = self.device
        if d.odd_prompt is not None:
            return d.odd_prompt
        if d.platform in ("huawei", "hp_comware"):
            return f"<{d.name}>"
        if d.platform == "juniper_junos":
            return f"{self.user}@{d.name}> "
        if d.platform == "mikrotik_routeros":
            return f"[{self.user}@{d.name}] > "
        return f"{d.name}{'#' if self.enabled else '>'}"

    def write(self, text: str) -> None:
        self.process.stdout.write(text.encode())

    async def read_byte(self) -> int | None:
        while not self.pending:
            data = await self.process.stdin.read(4096)
            if not data:
                return None
            self.pending += data
        return self.pending.pop(0)

    async def read_line(self, *, echo: bool = True) -> str | None:
        """A typed line (CR, LF or CRLF ends it), echoed as a terminal does unless `echo` is off."""
        line = bytearray()
        while True:
            byte = await self.read_byte()
            if byte is None:
                return None
            if byte == 0x0A and self.skip_lf:
                self.skip_lf = False
                continue
            self.skip_lf = byte == 0x0D
            if byte in (0x0D, 0x0A):
                self.write("\r\n")
                return line.decode(errors="replace")
            if len(line) < _MAX_LINE:
                line.append(byte)
                if echo:
                    self.process.stdout.write(bytes((byte,)))

    async def run(self) -> None:
        self.write("\r\n" + self.cli.login_banner + self.prompt())
        while True:
            line = await self.read_line()
            if line is None:
                return
            command = " ".join(line.split())
            if command in ("exit", "quit", "logout"):
                return
            if command and not await self.execute(command):
                return
            self.write(self.prompt())

    async def execute(self, command: str) -> bool:
        """Run one command; False when the session ends (connection dropped)."""
        cli, device = self.cli, self.device
        if command in ("enable", "enable-admin") and cli.has_enable:
            if command == "enable-admin" or self.enabled:
                return True
            if device.enable_secret is not None:
                self.write("Password: ")
                secret = await self.read_line(echo=False)
                if secret != device.enable_secret:
                    self.write("% Access denied\r\n")
                    return secret is not None
            self.enabled = True
            return True
        if command in cli.paging_off:
            self.paging = self.paging and device.paging_stuck
            self.write(cli.paging_off[command])
            return True
        if command in cli.replies:
            self.write(cli.replies[command])
            return True
        if command in cli.show and (self.enabled or not cli.has_enable):
            return await self.print_config(device.config)
        self.write(cli.unknown)
        return True

    async def print_config(self, text: str) -> bool:
        device = self.device
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        paged = self.paging or device.paging_stuck
        shown = 0
        for number, line in enumerate(lines, 1):
            if device.drop_after_lines is not None and number > device.drop_after_lines:
                await self.process.stdout.drain()
                self.process.get_extra_info("connection").abort()
                return False
            await self.send(line.replace("\n", "\r\n").encode())
            shown += 1
            if paged and shown >= device.page_lines and number < len(lines):
                key = await self.wait_key()
                if key is None:
                    return False
                if key in (ord("q"), ord("Q")):
                    return True
                shown = device.page_lines - 1 if key in (0x0D, 0x0A) else 0
        await self.process.stdout.drain()
        return True

    async def wait_key(self) -> int | None:
        self.write(self.cli.more)
        key = await self.read_byte()
        self.write(self.cli.more_erase)
        return key

    async def send(self, data: bytes) -> None:
        size, delay = self.device.chunk_bytes, self.device.chunk_delay_s
        if size <= 0:
            self.process.stdout.write(data)
            return
        for start in range(0, len(data), size):
            self.process.stdout.write(data[start : start + size])
            await self.process.stdout.drain()
            if delay:
                await asyncio.sleep(delay)


class SshDeviceLab:
    """Many simulated SSH devices on loopback, driven from sync code (start/stop or a `with` block)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._listeners: dict[str, _Listener] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SshDeviceLab:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> SshDeviceLab:
        if self._loop is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="ssh-device-lab", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every listener and session, then the loop and its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._close_all())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("SshDeviceLab is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT_S)

    # --- devices -------------------------------------------------------------------------------------

    def add(self, device: SimDevice) -> int:
        """Serve `device` on a new port (returned); its name must be new."""
        if device.platform not in CLIS:
            raise ValueError(f"unknown platform {device.platform!r}: one of {sorted(CLIS)}")
        if device.name in self._listeners:
            raise ValueError(f"device {device.name!r} already served")
        listener = _Listener(device)
        self._listeners[device.name] = listener
        self._call(self._listen(listener))
        return listener.port

    def endpoint(self, name: str) -> tuple[str, int]:
        return self.host, self._listeners[name].port

    def host_key(self, name: str) -> str:
        """The device's current host key, "type base64"."""
        return public_key_line(self._listeners[name].key)

    def auth_attempts(self, name: str) -> int:
        """How many passwords and public keys clients offered the device so far."""
        return self._listeners[name].auth_attempts

    def device(self, name: str) -> SimDevice:
        return self._listeners[name].device

    def set_config(self, name: str, text: str) -> None:
        """Change what the device's show command prints (sessions already open see it too)."""
        self.update(name, config=text)

    def update(self, name: str, **changes: Any) -> SimDevice:
        """Change any SimDevice field but the name and platform (faults, login, paging)."""
        if {"name", "platform"} & changes.keys():
            raise ValueError("a device's name and platform stay; add another device instead")
        listener = self._listeners[name]
        listener.device = dataclasses.replace(listener.device, **changes)
        return listener.device

    def rotate_host_key(self, name: str) -> str:
        """Restart the device with a new host key on the same port (as after a re-install); the new key."""
        listener = self._listeners[name]
        self._call(self._close(listener))
        listener.key = asyncssh.generate_private_key("ssh-ed25519")
        self._call(self._listen(listener))
        return self.host_key(name)

    def power_off(self, name: str) -> None:
        """Stop listening (connections are refused) until `power_on`."""
        self._call(self._close(self._listeners[name]))

    def power_on(self, name: str) -> None:
        self._call(self._listen(self._listeners[name]))

    # --- the loop's side -----------------------------------------------------------------------------

    async def _listen(self, listener: _Listener) -> None:
        async def session(process: asyncssh.SSHServerProcess[bytes]) -> None:
            try:
                await _Session(listener, process).run()
            except (asyncssh.Error, ConnectionError, BrokenPipeError):
                return
            finally:
                with contextlib.suppress(Exception):
                    process.exit(0)

        listener.server = await asyncssh.create_server(
            lambda: _Auth(listener),
            self.host,
            listener.port,
            server_host_keys=[listener.key],
            process_factory=session,
            encoding=None,
            line_editor=False,
            reuse_address=True,
        )
        if listener.port == 0:
            listener.port = listener.server.sockets[0].getsockname()[1]

    async def _close(self, listener: _Listener) -> None:
        if listener.server is not None:
            listener.server.close()
            await listener.server.wait_closed()
            listener.server = None
        for conn in list(listener.connections):
            conn.abort()
        listener.connections.clear()

    async def _close_all(self) -> None:
        for listener in self._listeners.values():
            await self._close(listener)
