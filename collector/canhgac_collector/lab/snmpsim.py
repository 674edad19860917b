"""A fleet of `snmpsim-command-responder` processes serving chosen recordings on loopback.

snmpsim serves ~1 device walk per second per process and indexes every file under its data directory at
start-up (slowly here: no gdbm), so the fleet gives each process its own small data directory holding only
the recordings asked for (snmpsim serves every file under its data directory). The SNMP community of a
recording is its path under the data directory without extension, e.g. ``network/switch/cisco-c3560``.

    with SnmpsimFleet(snmpsim_data_recordings(), tmp_path) as fleet:
        host, port = fleet.endpoint("network/switch/cisco-c3560")
"""

from __future__ import annotations

import atexit
import bz2
import contextlib
import importlib.util
import logging
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'canhgac[lab]'  (or scripts/demo, which installs the server and lab extras)"

# Extensions snmpsim's command responder reads (snmpsim.variation.RECORD_TYPES); .snmprec.bz2 is served
# decompressed, because snmpsim seeks inside a recording on every request and bz2 seeks are slow.
_PLAIN_EXTENSIONS = ("snmprec", "snmpwalk", "sapwalk", "dump", "MVC")
_COMMUNITY_RE = re.compile(r"^[A-Za-z0-9_.@+-]+(/[A-Za-z0-9_.@+-]+)*$")
_SYS_UPTIME_0 = bytes.fromhex("06082b06010201010300")  # OID 1.3.6.1.2.1.1.3.0, BER-encoded
# Variation modules the lab's recordings may use. snmpsim otherwise loads every module it ships, and the
# redis/sql ones fail noisily without a server behind them.
VARIATION_MODULES = ("numeric", "delay", "error", "writecache", "multiplex")


class SnmpsimError(RuntimeError):
    """snmpsim is missing, or a process did not start or answer; the message names the log file."""


@dataclass(frozen=True)
class SnmpsimV3User:
    """An SNMPv3 USM user every fleet process accepts; the v3 context name is the recording's community.

    Protocol names are snmpsim's: auth MD5/SHA/SHA224/SHA256/SHA384/SHA512/NONE, priv
    DES/3DES/AES/AES128/AES192/AES256/NONE. Keys must be at least 8 characters.
    """

    user: str
    auth_key: str | None = None
    auth_proto: str = "NONE"
    priv_key: str | None = None
    priv_proto: str = "NONE"

    def args(self) -> list[str]:
        out = [f"--v3-user={self.user}"]
        if self.auth_key is not None:
            out += [f"--v3-auth-key={self.auth_key}", f"--v3-auth-proto={self.auth_proto}"]
        if self.priv_key is not None:
            out += [f"--v3-priv-key={self.priv_key}", f"--v3-priv-proto={self.priv_proto}"]
        return out


def snmpsim_data_dir() -> Path:
    """The installed `snmpsim-data` package's ``data/`` directory (real device recordings)."""
    spec = importlib.util.find_spec("snmpsim_data")
    if spec is None or spec.origin is None:
        raise SnmpsimError(f"snmpsim-data is not installed: {INSTALL_HINT}")
    return Path(spec.origin).resolve().parent / "data"


def snmpsim_data_recordings(
    kinds: Iterable[str] = ("switch", "router"), *, max_bytes: int | None = None
) -> dict[str, Path]:
    """Recordings under ``network/<kind>/`` of snmpsim-data, keyed by community (sorted).

    ``{"network/switch/cisco-c3560": Path(".../network/switch/cisco-c3560.snmprec.bz2"), ...}``.
    `max_bytes` skips files larger than that on disk (compressed): a few router dumps (huawei-acu2,
    huawei-unknown-00x: 4-8 MB compressed, 80-240 MB of text) take snmpsim many minutes to index.
    """
    root = snmpsim_data_dir()
    found: dict[str, Path] = {}
    for kind in kinds:
        folder = root / "network" / kind
        if not folder.is_dir():
            raise SnmpsimError(f"snmpsim-data has no network/{kind} recordings in {root}")
        for path in folder.iterdir():
            stem = _recording_stem(path.name)
            if stem is not None and path.is_file():
                if max_bytes is not None and path.stat().st_size > max_bytes:
                    continue
                found[f"network/{kind}/{stem}"] = path
    return dict(sorted(found.items()))


def responder_executable() -> Path:
    """`snmpsim-command-responder` next to this Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "snmpsim-command-responder"
    if beside.exists():
        return beside
    found = shutil.which("snmpsim-command-responder")
    if found is None:
        raise SnmpsimError(f"snmpsim-command-responder not found: {INSTALL_HINT}")
    return Path(found)


def _recording_stem(name: str) -> str | None:
    if name.endswith(".snmprec.bz2"):
        return name[: -len(".snmprec.bz2")]
    for ext in _PLAIN_EXTENSIONS:
        if name.endswith("." + ext):
            return name[: -len(ext) - 1]
    return None


def _served_name(source: Path) -> str:
    """The extension a recording is served with (bz2 is decompressed)."""
    name = source.name
    if name.endswith(".snmprec.bz2"):
        return "snmprec"
    for ext in _PLAIN_EXTENSIONS:
        if name.endswith("." + ext):
            return ext
    raise SnmpsimError(
        f"{source}: not a recording snmpsim serves (.snmprec, .snmprec.bz2, {', '.join(_PLAIN_EXTENSIONS)})"
    )


def _place(source: Path, dest: Path) -> None:
    """Put `source` at `dest` (link, copy or decompress), keeping its mtime so snmpsim's index is reused."""
    st = source.stat()
    if dest.exists():
        dst = dest.stat()
        if dst.st_mtime_ns == st.st_mtime_ns and (source.suffix == ".bz2" or dst.st_size == st.st_size):
            return
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".bz2":
        tmp = dest.with_name(dest.name + ".part")
        with bz2.open(source, "rb") as src, tmp.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        tmp.replace(dest)
        return
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _ber(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def _ber_int(value: int) -> bytes:
    return _ber(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def v2c_get_sysuptime(community: str, request_id: int) -> bytes:
    """A minimal SNMPv2c GET of sysUpTime.0: enough to learn whether an agent answers a community."""
    varbinds = _ber(0x30, _ber(0x30, _SYS_UPTIME_0 + b"\x05\x00"))
    pdu = _ber(0xA0, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + varbinds)
    return _ber(0x30, _ber_int(1) + _ber(0x04, community.encode()) + pdu)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@dataclass
class _Process:
    index: int
    communities: list[str]
    data_dir: Path
    cache_dir: Path
    log_path: Path
    port: int = 0
    popen: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = field(default=None, repr=False)


class SnmpsimFleet:
    """snmpsim processes on `host`, each serving up to `per_process` of `recordings` (community → file).

    A context manager: entering starts every process and waits until each answers a v2c GET; leaving
    terminates them (killed after `grace_s`). `work_dir` holds per-process data/cache directories and
    ``snmpsim-<n>.log``; reusing the same `work_dir` reuses snmpsim's indexes (fast restart).
    Recordings are spread over ceil(n / per_process) processes, balanced by size. The processes are
    also SIGTERMed by the kernel when the thread that started them ends (setpriv --pdeathsig), so
    start a fleet from a thread that outlives it (normally the main thread).
    """

    def __init__(
        self,
        recordings: Mapping[str, Path],
        work_dir: Path,
        per_process: int = 40,
        host: str = "127.0.0.1",
        *,
        v3_users: Sequence[SnmpsimV3User] = (),
        startup_timeout_s: float = 180.0,
        grace_s: float = 5.0,
    ) -> None:
        if not recordings:
            raise ValueError("SnmpsimFleet needs at least one recording")
        if per_process < 1:
            raise ValueError("per_process must be >= 1")
        if not host.startswith("127.") and host != "localhost":
            # The lab only ever serves on loopback: simulated devices must never appear on a real network.
            raise ValueError(f"SnmpsimFleet serves on loopback only, not {host!r}")
        for community in recordings:
            if not _COMMUNITY_RE.match(community) or ".." in community.split("/"):
                raise ValueError(f"bad community {community!r}: use a relative path like 'network/switch/x'")
        self._recordings = {c: Path(p) for c, p in recordings.items()}
        self.work_dir = Path(work_dir)
        self.per_process = per_process
        self.host = host
        self.v3_users = tuple(v3_users)
        self.startup_timeout_s = startup_timeout_s
        self.grace_s = grace_s
        self.communities: list[str] = list(self._recordings)
        self._processes: list[_Process] = []
        self._by_community: dict[str, _Process] = {}
        self._started = False

    # -- public -------------------------------------------------------------------------------------

    @property
    def ports(self) -> list[int]:
        """One UDP port per snmpsim process, in process order."""
        return [p.port for p in self._processes]

    @property
    def pids(self) -> list[int]:
        return [p.popen.pid for p in self._processes if p.popen is not None]

    @property
    def log_files(self) -> list[Path]:
        return [p.log_path for p in self._processes]

    @property
    def endpoints(self) -> dict[str, tuple[str, int]]:
        """community → (host, port) for every recording served."""
        return {c: (self.host, p.port) for c, p in self._by_community.items()}

    def endpoint(self, community: str) -> tuple[str, int]:
        """(host, port) of the process serving `community`."""
        try:
            proc = self._by_community[community]
        except KeyError:
            raise KeyError(f"{community!r} is not served by this fleet") from None
        if not self._started:
            raise SnmpsimError("the fleet is not running")
        return self.host, proc.port

    def start(self) -> SnmpsimFleet:
        """Prepare data directories, start every process, and wait until each answers."""
        if self._started:
            return self
        exe = responder_executable()
        began = time.monotonic()
        self._prepare()
        try:
            for proc in self._processes:
                self._launch(exe, proc)
            self._wait_ready(exe, began + self.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        self._started = True
        atexit.register(self.stop)
        log.info(
            "snmpsim fleet ready",
            extra={
                "processes": len(self._processes),
                "recordings": len(self.communities),
                "ports": self.ports,
                "seconds": round(time.monotonic() - began, 2),
            },
        )
        return self

    def stop(self) -> None:
        """Terminate every process (SIGTERM, then SIGKILL after the grace period). Idempotent."""
        live = [p for p in self._processes if p.popen is not None and p.popen.poll() is None]
        for proc in live:
            assert proc.popen is not None
            with contextlib.suppress(ProcessLookupError):
                proc.popen.terminate()
        deadline = time.monotonic() + self.grace_s
        for proc in live:
            assert proc.popen is not None
            try:
                proc.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("snmpsim did not stop in time; killing", extra={"pid": proc.popen.pid})
                proc.popen.kill()
                proc.popen.wait(5)
        for proc in self._processes:
            if proc.log_file is not None:
                proc.log_file.close()
                proc.log_file = None
        if self._started:
            atexit.unregister(self.stop)
        self._started = False

    def __enter__(self) -> SnmpsimFleet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self.stop()
        return False

    # -- internals ----------------------------------------------------------------------------------

    def _groups(self) -> list[list[str]]:
        """Split recordings over ceil(n / per_process) processes, balancing bytes (largest first).

        snmpsim indexes a process's recordings one after another at start-up, so spreading the few huge
        recordings over different processes lets them index in parallel.
        """
        count = -(-len(self.communities) // self.per_process)
        groups: list[list[str]] = [[] for _ in range(count)]
        sizes = [0] * count
        by_size = sorted(self.communities, key=lambda c: -self._recordings[c].stat().st_size)
        for community in by_size:
            slot = min((i for i in range(count) if len(groups[i]) < self.per_process), key=lambda i: sizes[i])
            groups[slot].append(community)
            sizes[slot] += self._recordings[community].stat().st_size
        order = {c: i for i, c in enumerate(self.communities)}
        return [sorted(g, key=order.__getitem__) for g in groups]

    def _prepare(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._processes = []
        self._by_community = {}
        for index, group in enumerate(self._groups()):
            base = self.work_dir / f"snmpsim-{index}"
            proc = _Process(
                index, group, base / "data", base / "cache", self.work_dir / f"snmpsim-{index}.log"
            )
            expected: set[Path] = set()
            for community in group:
                source = self._recordings[community]
                if not source.is_file():
                    raise SnmpsimError(f"recording for {community!r} not found: {source}")
                dest = proc.data_dir / f"{community}.{_served_name(source)}"
                _place(source, dest)
                expected.add(dest)
                self._by_community[community] = proc
            # Files left from an earlier run with other recordings would be indexed and served too.
            for stale in proc.data_dir.rglob("*"):
                if stale.is_file() and stale not in expected:
                    stale.unlink()
            proc.cache_dir.mkdir(parents=True, exist_ok=True)
            self._processes.append(proc)
        self._prepare_variation_dir()

    def _prepare_variation_dir(self) -> None:
        spec = importlib.util.find_spec("snmpsim")
        if spec is None or spec.origin is None:
            raise SnmpsimError(f"snmpsim is not installed: {INSTALL_HINT}")
        shipped = Path(spec.origin).parent / "variation"
        target = self.work_dir / "variation"
        target.mkdir(exist_ok=True)
        for name in VARIATION_MODULES:
            source = shipped / f"{name}.py"
            dest = target / source.name
            if source.is_file() and not dest.exists():
                shutil.copyfile(source, dest)

    def _launch(self, exe: Path, proc: _Process) -> None:
        proc.port = _free_udp_port(self.host)
        # setpriv (util-linux) makes the kernel SIGTERM snmpsim if this process dies without stop().
        setpriv = shutil.which("setpriv")
        argv = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
        argv += [
            str(exe),
            f"--data-dir={proc.data_dir}",
            f"--cache-dir={proc.cache_dir}",
            f"--agent-udpv4-endpoint={self.host}:{proc.port}",
            f"--variation-modules-dir={self.work_dir / 'variation'}",
            "--logging-method=stderr",
            "--log-level=error",  # "info" logs a line per request
        ]
        for user in self.v3_users:
            argv += user.args()
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        if proc.log_file is not None:
            proc.log_file.close()
        proc.log_file = proc.log_path.open("ab")
        proc.log_file.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        proc.log_file.flush()
        proc.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=proc.log_file, stderr=subprocess.STDOUT, env=env
        )
        log.debug(
            "snmpsim started", extra={"pid": proc.popen.pid, "port": proc.port, "log": str(proc.log_path)}
        )

    def _failure(self, proc: _Process, what: str) -> SnmpsimError:
        return SnmpsimError(
            f"snmpsim process {proc.index} (port {proc.port}) {what}; log {proc.log_path}:\n"
            f"{_tail(proc.log_path)}"
        )

    def _wait_ready(self, exe: Path, deadline: float) -> None:
        pending = {proc.index: proc for proc in self._processes}
        relaunches = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.host, 0))
            sock.setblocking(False)
            request_id = 1
            while pending:
                now = time.monotonic()
                if now > deadline:
                    proc = next(iter(pending.values()))
                    raise self._failure(proc, f"did not answer within {self.startup_timeout_s:.0f} s")
                for proc in list(pending.values()):
                    assert proc.popen is not None
                    if proc.popen.poll() is not None:
                        # A port taken between our probe bind and snmpsim's: try another one, a few times.
                        if "Address already in use" in _tail(proc.log_path, 40) and relaunches < 5:
                            relaunches += 1
                            self._launch(exe, proc)
                            continue
                        raise self._failure(proc, f"exited with code {proc.popen.returncode}")
                    request_id += 1
                    with contextlib.suppress(OSError):
                        sock.sendto(
                            v2c_get_sysuptime(proc.communities[0], request_id), (self.host, proc.port)
                        )
                wait_until = min(deadline, time.monotonic() + 0.5)
                while pending and (remaining := wait_until - time.monotonic()) > 0:
                    readable, _, _ = select.select([sock], [], [], remaining)
                    if not readable:
                        break
                    try:
                        _, (_, port) = sock.recvfrom(65535)
                    except OSError:  # ICMP port unreachable while a process is still binding
                        continue
                    for index, proc in list(pending.items()):
                        if proc.port == port:
                            del pending[index]
