"""Configuration reload of a running `canhgac serve`: SIGHUP re-reads the config file and applies its
sites, contacts, devices, alerting and agent defaults (`Server.reload`) without dropping agent
connections or restarting the ingest worker. A file that does not validate changes nothing: the
server goes on with the configuration it has, logs why, and counts it in
`canhgac_config_reloads_total{outcome="invalid"}`.

`canhgac reload` finds the server through its pid file, written once SIGHUP is handled and removed at
exit: `--pid-file`, else beside a SQLite database as `<database file>.pid` (like the key files), else
`$STATE_DIRECTORY/canhgac.pid` or `~/.local/state/canhgac/canhgac.pid`. Under systemd
`ExecReload=/bin/kill -HUP $MAINPID` does the same without a pid file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from canhgac_collector.alerting.settings import site_reference_errors
from canhgac_collector.config import ConfigError, ServerConfig, load_config
from canhgac_collector.sitetree import resolve_tree

if TYPE_CHECKING:
    from canhgac_collector.server import Server

log = logging.getLogger("canhgac.reload")

OUTCOMES = ("applied", "invalid", "failed")


class ReloadError(ValueError):
    """A new configuration that cannot be applied; the running one stays in force."""


class ReloadSignalError(Exception):
    """`canhgac reload` could not reach a running server; the message says why."""


def default_pid_path(config: ServerConfig) -> Path:
    """Where `canhgac serve` writes its pid for this configuration (see the module docstring)."""
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".pid")
    state_dir = os.environ.get("STATE_DIRECTORY")
    if state_dir:
        return Path(state_dir.split(":")[0]) / "canhgac.pid"
    return Path.home() / ".local" / "state" / "canhgac" / "canhgac.pid"


def read_config(path: Path | None) -> ServerConfig:
    """The configuration at `path`, with the checks `canhgac serve` makes before it starts (the site
    codes named under `alerting:` must exist); ConfigError naming the file otherwise."""
    config = load_config(path)
    problems = site_reference_errors(config.alerting, resolve_tree(config))
    if problems:
        raise ConfigError(f"{path or 'environment'}: " + "; ".join(problems))
    return config


@contextlib.contextmanager
def pid_file(path: Path) -> Iterator[None]:
    """This process's pid in `path` while the block runs (written atomically, removed if still ours)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text().strip()) == os.getpid():
                path.unlink()


def signal_server(path: Path) -> int:
    """Send SIGHUP to the `canhgac serve` whose pid is in `path`; returns the pid."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ReloadSignalError(
            f"no pid file {path}: is `canhgac serve` running with this configuration? "
            "(give --pid-file, or under systemd: systemctl reload canhgac)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReloadSignalError(f"cannot read the pid file {path}: {exc}") from exc
    if not text.isdigit() or not 1 < int(text) < 2**22:
        raise ReloadSignalError(f"the pid file {path} does not hold a process id: {text[:40]!r}")
    pid = int(text)
    try:  # never signal a process that merely reused the pid of a server gone without cleaning up
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        raise ReloadSignalError(f"process {pid} from {path} is not running (stale pid file)") from None
    except OSError:
        cmdline = []  # no /proc here: trust the file
    if cmdline and not (any(b"canhgac" in part for part in cmdline) and b"serve" in cmdline):
        raise ReloadSignalError(f"process {pid} from {path} is not `canhgac serve` (stale pid file)")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ReloadSignalError(f"process {pid} from {path} is not running (stale pid file)") from None
    except PermissionError:
        raise ReloadSignalError(f"not allowed to signal process {pid}: run as the server's user") from None
    return pid


class ConfigReloader:
    """SIGHUP → re-read the config with `read` → `Server.reload`; one reload at a time, never two
    overlapping (a second SIGHUP during a reload runs after it)."""

    def __init__(self, read: Callable[[], ServerConfig], pid_path: Path | None) -> None:
        self.read = read
        self.pid_path = pid_path
        self.outcomes: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
        self._server: Server | None = None
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[str]] = set()
        self._pid: contextlib.ExitStack | None = None

    def attach(self, server: Server) -> None:
        """Handle SIGHUP on the running loop for `server`, then write the pid file."""
        self._server = server
        server.telemetry.registry.dynamic(
            "canhgac_config_reloads_total",
            "counter",
            "Configuration reloads (SIGHUP) by outcome: applied, invalid (the file did not validate; the "
            "previous configuration stays), failed (could not be applied; the previous one stays).",
            ("outcome",),
            lambda: (((outcome,), float(n)) for outcome, n in sorted(self.outcomes.items())),
        )
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
        if self.pid_path is not None:
            self._pid = contextlib.ExitStack()
            self._pid.enter_context(pid_file(self.pid_path))

    def detach(self) -> None:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._pid is not None:
            self._pid.close()

    def _on_sighup(self) -> None:
        log.info("SIGHUP: đọc lại cấu hình / re-reading the configuration")
        task = asyncio.get_running_loop().create_task(self.reload(), name="config-reload")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def reload(self) -> str:
        """Re-read and apply the configuration; returns the outcome (one of `OUTCOMES`)."""
        assert self._server is not None, "attach() first"
        async with self._lock:
            try:
                config = await asyncio.to_thread(self.read)
            except ConfigError as exc:
                return self._count(
                    "invalid",
                    f"cấu hình mới không hợp lệ, vẫn chạy cấu hình cũ / new configuration invalid, "
                    f"still running on the previous one: {exc}",
                )
            try:
                done = await self._server.reload(config)
            except ReloadError as exc:
                return self._count(
                    "failed",
                    f"không áp dụng được cấu hình mới, vẫn chạy cấu hình cũ / new configuration not "
                    f"applied, still running on the previous one: {exc}",
                )
            except Exception:
                log.exception("config reload failed; still running on the previous configuration")
                self.outcomes["failed"] += 1
                return "failed"
        log.info(
            "đã áp dụng cấu hình mới / configuration reloaded sites_added=%s sites_retired=%s devices=%s",
            ",".join(done.sites_added) or "-",
            ",".join(done.sites_retired) or "-",
            done.devices,
        )
        if done.restart_needed:
            log.warning(
                "cần khởi động lại để áp dụng / restart needed to apply changed sections: %s",
                ", ".join(done.restart_needed),
            )
        self.outcomes["applied"] += 1
        return "applied"

    def _count(self, outcome: str, message: str) -> str:
        log.error("%s", message)
        self.outcomes[outcome] += 1
        return outcome
