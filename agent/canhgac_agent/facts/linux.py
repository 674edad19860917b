"""The Linux side of fact collection: `LinuxHost`, what every Linux reader reads through (files under
a root, one process and socket snapshot per collection, the cache of the package manager's answers).

Works unprivileged: what needs root (nft/iptables rules, /etc/shadow) is reported as unknown (None).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from canhgac_agent.facts.common import listening_ports, process_names, read_text

if TYPE_CHECKING:
    from canhgac_agent.config import EgressConfig

# `apt-get -s dist-upgrade` costs seconds of CPU (more where apt keeps no binary cache) and a child of
# ~80 MB; `dnf check-update` as much. Their answer changes only when the package database, the package
# lists or the package manager's configuration change, so it is kept, in memory and in
# `<state_dir>/facts-cache.json` (a restart does not redo it), keyed on those files' inode, size and
# mtime. A cached answer older than CACHE_MAX_AGE_S is recomputed anyway, in case a change escaped the
# key (a file rewritten in place within the same mtime tick).
FACTS_CACHE_FILE = "facts-cache.json"
CACHE_MAX_AGE_S = 86400.0
_CACHE_FORMAT = 1  # bump when a cached value's meaning changes
_memory_cache: dict[str, dict[str, Any]] = {}


def stat_key(paths: Iterable[str]) -> list[list[Any]]:
    """[path, inode, size, mtime_ns] per path ([path, None] when missing): a cache key that changes
    when any of the files is replaced, grows, shrinks or is touched."""
    out: list[list[Any]] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append([path, None])
            continue
        out.append([path, st.st_ino, st.st_size, st.st_mtime_ns])
    return out


def _fresh(entry: Any, key: list[Any], now: float) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("key") == key
        and isinstance(entry.get("at"), int | float)
        and 0 <= now - entry["at"] < CACHE_MAX_AGE_S
        and "value" in entry
    )


class LinuxHost:
    """What the Linux fact readers read, shared by all of them during one collection: the process list
    and listening sockets are read once, the package manager's answers are cached (`cached`).

    `root` re-roots the *file* reads (tests, an image mounted elsewhere); commands, processes and
    sockets are always the live system's.
    """

    platform: Literal["linux"] = "linux"
    egress: EgressConfig | None = None

    def __init__(
        self,
        root: str = "/",
        cache_dir: str | os.PathLike[str] | None = None,
        egress: EgressConfig | None = None,
    ) -> None:
        self.root = root
        self.egress = egress  # the agent config's outbound test settings (None: no test)
        self._cache_path = os.path.join(cache_dir, FACTS_CACHE_FILE) if cache_dir is not None else None
        self._procs: set[str] | None = None
        self._ports: list[dict[str, Any]] | None = None

    def path(self, path: str) -> str:
        """`path` under `root`."""
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path: str) -> str | None:
        """The text of `path` under `root`, None when missing or unreadable."""
        return read_text(self.path(path))

    def glob(self, pattern: str) -> list[str]:
        """The paths matching `pattern` under `root`, sorted, at most 256."""
        return sorted(glob.glob(self.path(pattern)))[:256]

    def process_names(self) -> set[str]:
        """Names of the running processes, read once per collection."""
        if self._procs is None:
            self._procs = process_names()
        return self._procs

    def listening_ports(self) -> list[dict[str, Any]]:
        """The listening sockets, read once per collection."""
        if self._ports is None:
            self._ports = listening_ports()
        return self._ports

    def cached(self, name: str, inputs: list[str], compute: Callable[[], Any]) -> Any:
        """`compute()`, or its last result while the files `inputs` are unchanged (see stat_key)."""
        key: list[Any] = [_CACHE_FORMAT, stat_key(inputs)]
        now = time.time()
        entry: Any = _memory_cache.get(name)
        if not _fresh(entry, key, now):
            entry = self._read_cache().get(name)
            if not _fresh(entry, key, now):
                entry = {"key": key, "at": now, "value": compute()}
                self._write_cache(name, entry)
            _memory_cache[name] = entry
        return entry["value"]

    def _read_cache(self) -> dict[str, Any]:
        if self._cache_path is None:
            return {}
        try:
            with open(self._cache_path, "rb") as f:
                data = json.loads(f.read(1 << 20))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_cache(self, name: str, entry: dict[str, Any]) -> None:
        """Best effort: a cache that cannot be written only means recomputing after a restart."""
        if self._cache_path is None:
            return
        data = self._read_cache()
        data[name] = entry
        tmp = f"{self._cache_path}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(data, separators=(",", ":")))
            os.replace(tmp, self._cache_path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
