"""A live net-snmp `snmpd` on 127.0.0.1:<port>, for tests and benches that need a real, fast agent.

    user = SnmpdUser("u1", "SHA", "authpass1", "AES", "privpass1")
    with Snmpd(tmp_path, communities=("public",), users=(user,)) as agent:
        host, port = agent.endpoint

Runs in the foreground with its own configuration and persistent directory in `work_dir` (so it never
reads /etc/snmp nor /var/lib/snmp), v2c communities limited to loopback, v3 users via `createUser`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

INSTALL_HINT = "run scripts/install-system-deps (Debian package `snmpd`)"


class SnmpdError(RuntimeError):
    """snmpd is missing or did not start; the message names the log file."""


@dataclass(frozen=True)
class SnmpdUser:
    """A USM user: net-snmp protocol names (auth MD5/SHA/SHA-224/SHA-256/SHA-384/SHA-512, priv DES/AES)."""

    name: str
    auth_proto: str | None = None
    auth_pass: str | None = None
    priv_proto: str | None = None
    priv_pass: str | None = None

    def create_line(self) -> str:
        parts = ["createUser", self.name]
        if self.auth_proto and self.auth_pass:
            parts += [self.auth_proto, f'"{self.auth_pass}"']
            if self.priv_proto and self.priv_pass:
                parts += [self.priv_proto, f'"{self.priv_pass}"']
        return " ".join(parts)

    @property
    def level(self) -> str:
        if not self.auth_proto:
            return "noauth"
        return "priv" if self.priv_proto else "auth"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def snmpd_executable() -> str:
    for candidate in (shutil.which("snmpd"), "/usr/sbin/snmpd"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SnmpdError(f"net-snmp snmpd not found: {INSTALL_HINT}")


class Snmpd:
    """A context manager running snmpd until exit; `endpoint` is (host, port)."""

    def __init__(
        self,
        work_dir: Path,
        *,
        communities: Sequence[str] = ("public",),
        users: Sequence[SnmpdUser] = (),
        port: int | None = None,
        extra_config: Sequence[str] = (),
        startup_timeout_s: float = 15.0,
        ipv6: bool = False,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.communities = tuple(communities)
        self.users = tuple(users)
        self.port = port or _free_udp_port()
        self.extra_config = tuple(extra_config)
        self.startup_timeout_s = startup_timeout_s
        self.ipv6 = ipv6  # also listen on [::1]:port (`endpoint6`)
        self.log_file = self.work_dir / "snmpd.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def endpoint6(self) -> tuple[str, int]:
        if not self.ipv6:
            raise SnmpdError("this snmpd was started without ipv6=True")
        return ("::1", self.port)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise SnmpdError("snmpd is not running")
        return self.process.pid

    def _write_config(self) -> Path:
        persistent = self.work_dir / "persist"
        persistent.mkdir(parents=True, exist_ok=True)
        conf = self.work_dir / "snmpd.conf"
        lines = [
            f"agentAddress udp:127.0.0.1:{self.port}" + (f",udp6:[::1]:{self.port}" if self.ipv6 else ""),
            "dontLogTCPWrappersConnects yes",
            "sysLocation Canh Gac lab",
            "sysContact lab@example.invalid",
            *(f"rocommunity {c} 127.0.0.1" for c in self.communities),
            *(f"rocommunity6 {c} ::1" for c in self.communities if self.ipv6),
            *(u.create_line() for u in self.users),
            *(f"rouser {u.name} {u.level}" for u in self.users),
            *self.extra_config,
        ]
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return conf

    def start(self) -> Snmpd:
        exe = snmpd_executable()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        conf = self._write_config()
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.work_dir / "persist"), "MIBS": ""}
        cmd = [
            exe,
            "-f",
            "-C",
            "-c",
            str(conf),
            "-Lf",
            str(self.log_file),
            "-p",
            str(self.work_dir / "snmpd.pid"),
        ]
        cmd += ["-M", str(self.work_dir)]  # no MIB files: numeric OIDs only, a quicker start
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env
        )
        self._wait_ready()
        log.info("snmpd started", extra={"port": self.port, "pid": self.process.pid})
        return self

    def _wait_ready(self) -> None:
        community = self.communities[0].encode() if self.communities else b""
        deadline = time.monotonic() + self.startup_timeout_s
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise SnmpdError(f"snmpd exited at start-up; see {self.log_file}:\n{self._tail()}")
                if not community:  # v3 only: wait for the port to be bound
                    if self._bound():
                        return
                    time.sleep(0.1)
                    continue
                s.sendto(_v2c_get_sysdescr(community), self.endpoint)
                with contextlib.suppress(TimeoutError, ConnectionRefusedError):
                    s.recvfrom(65535)
                    return
        self.stop()
        raise SnmpdError(f"snmpd did not answer within {self.startup_timeout_s} s; see {self.log_file}")

    def _bound(self) -> bool:
        hex_port = f":{self.port:04X}"
        with contextlib.suppress(OSError), open("/proc/net/udp", encoding="ascii") as f:
            return any(hex_port in line.split()[1] for line in f.readlines()[1:])
        return False

    def _tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> Snmpd:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _v2c_get_sysdescr(community: bytes) -> bytes:
    """A v2c GET sysDescr.0 (request-id 1), hand-encoded so this module needs no SNMP library."""
    varbinds = bytes.fromhex("300e300c06082b060102010101000500")
    pdu_body = bytes.fromhex("020101020100020100") + varbinds
    pdu = bytes((0xA0, len(pdu_body))) + pdu_body
    body = bytes.fromhex("020101") + bytes((0x04, len(community))) + community + pdu
    return bytes((0x30, len(body))) + body
