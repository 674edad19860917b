"""`<state_dir>/state.json`: enrollment (agent_id, token, server_url, site), the server's last settings
and the seq high-water mark. Written 0600, atomically (tmp + fsync + rename), under a lock, because the
running agent and `enroll` may both write it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from canhgac_agent.config import fields

STATE_FILE = "state.json"

_log = logging.getLogger("canhgac_agent.spool")  # the name log lines have always carried


def utc_stamp(t: float | None = None) -> str:
    """Compact UTC time for file names: 20261115T101502Z."""
    return datetime.fromtimestamp(time.time() if t is None else t, UTC).strftime("%Y%m%dT%H%M%SZ")


# --- state.json ------------------------------------------------------------------------------------


class StateFile:
    """`<state_dir>/state.json`: enrollment, settings and the seq high-water mark.

    Several processes touch it (`run`, and `enroll` while `run` is up), so `update()` locks, re-reads,
    merges and rewrites atomically; `refresh()` lets a long-running process notice another's write.
    The token lives here and nowhere else: `repr()` never shows it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] = {}
        self._stamp: tuple[int, int, int] | None = None
        self.reload()

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r})"

    @property
    def data(self) -> Mapping[str, Any]:
        return self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    @property
    def seq_high_water(self) -> int:
        value = self._data.get("seq_high_water", 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def reload(self) -> None:
        """Read the file (missing: empty). An unreadable file is moved aside, never silently reused."""
        stamp = self._file_stamp()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self._data, self._stamp = {}, None
            return
        except OSError as exc:
            _log.warning("cannot read state file", extra=fields(path=str(self.path), error=str(exc)))
            return
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            dest = self.path.with_name(f"{self.path.name}.corrupt-{utc_stamp()}")
            with contextlib.suppress(OSError):
                os.replace(self.path, dest)
            _log.error(
                "state file is not valid JSON; moved it aside (the agent must be re-enrolled)",
                extra=fields(path=str(self.path), moved_to=str(dest), error=str(exc)),
            )
            data, stamp = {}, None
        self._data, self._stamp = data, stamp

    def refresh(self) -> bool:
        """Reload if another process rewrote the file; True if it did."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self.reload()
        return True

    def update(self, **changes: Any) -> None:
        """Merge `changes` (None deletes a key) and write atomically. `seq_high_water` only ever grows.

        Raises OSError (e.g. disk full); the file on disk is then unchanged.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked():
            self.refresh()
            data = dict(self._data)
            for key, given in changes.items():
                value = max(int(given), self.seq_high_water) if key == "seq_high_water" else given
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
            if data == self._data and self._stamp is not None:
                return
            self._write(data)
            self._data = data
            self._stamp = self._file_stamp()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write(self, data: Mapping[str, Any]) -> None:
        # Compact: without indent, json uses its C encoder.
        payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                if hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), 0o600)  # whatever the umask or a previous tmp said
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if os.name == "posix":  # make the rename itself durable
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
