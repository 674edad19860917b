"""What the fact readers of both systems share: bounded commands, file reads, the process and listening
socket snapshots, formats several facts read (INI files, /etc/login.defs) and PowerShell's JSON.

Every command is a fixed argv run by `run_command` (C locale on Linux, ≤ 10 s, a missing binary is
"not present", not a crash). Every file format is read by a pure `parse_*` function over text, so the
parsing is tested on sample text; a parser given garbage returns empty/None values, never raises.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import psutil

COMMAND_TIMEOUT_S = 10.0
_SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clip(text: str, limit: int = 256) -> str:
    """`text` fit for the report: control characters other than tab and line breaks (which the server
    refuses) become spaces, and it is cut to `limit` characters, an ellipsis marking the cut."""
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_int(text: str | None, *, minimum: int | None = None) -> int | None:
    """`int(text)` or None for anything unparsable or below `minimum`."""
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return None if minimum is not None and value < minimum else value


class CommandTimeout(Exception):
    """A fact command ran past its timeout; the fact reports it as an error."""


class CommandResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run_command(argv: list[str], *, timeout_s: float = COMMAND_TIMEOUT_S) -> CommandResult | None:
    """Run a fixed argv with a timeout, C locale and no shell; None when the binary is missing or not
    executable. Raises CommandTimeout past the timeout (the child is killed)."""
    import subprocess

    env = {"LC_ALL": "C", "LANG": "C", "PATH": _SAFE_PATH}
    creationflags = 0
    if sys.platform == "win32":
        env = dict(os.environ)  # Windows commands need SystemRoot & co.; there is no C locale to set
        creationflags = subprocess.CREATE_NO_WINDOW
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            env=env,
            check=False,
            creationflags=creationflags,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        return None
    except subprocess.TimeoutExpired as exc:
        raise CommandTimeout(f"{argv[0]} timed out after {timeout_s:g}s") from exc
    return CommandResult(
        proc.returncode,
        proc.stdout.decode("utf-8", errors="replace"),
        proc.stderr.decode("utf-8", errors="replace"),
    )


def read_text(path: str, limit: int = 1 << 20) -> str | None:
    """A text file's content, or None when missing or unreadable (PermissionError included)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return None


def which(name: str) -> str | None:
    """The executable `name` on the fixed search path `run_command` uses, or None."""
    # Not shutil.which: shutil imports bz2 and lzma, ~1 MB of RSS the agent never uses.
    for directory in _SAFE_PATH.split(":"):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def iso_mtime(paths: Iterable[str]) -> str | None:
    """The newest mtime among `paths` that exist, as an ISO 8601 UTC timestamp."""
    newest: float | None = None
    for path in paths:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        newest = mtime if newest is None else max(newest, mtime)
    return None if newest is None else datetime.fromtimestamp(newest, tz=UTC).isoformat()


def process_names() -> set[str]:
    """Names of the running processes (lower-case); processes we may not inspect are skipped."""
    names: set[str] = set()
    for proc in psutil.process_iter(["name"]):
        name = proc.info.get("name")
        if name:
            names.add(str(name).lower())
    return names


def any_running(names: set[str], wanted: Iterable[str]) -> bool:
    """One of the `wanted` processes is among `names` (from `process_names`).

    Linux truncates comm to 15 characters; psutil restores longer names only when it can.
    """
    return any(w in names or w[:15] in names for w in wanted)


def listening_ports() -> list[dict[str, Any]]:
    """TCP sockets in LISTEN and unconnected UDP sockets, with the owning process where visible.

    Without root, other users' sockets are listed with pid/process None rather than omitted.
    """
    import socket

    names: dict[int, str | None] = {}

    def process_name(pid: int | None) -> str | None:
        if pid is None:
            return None
        if pid not in names:
            try:
                names[pid] = clip(psutil.Process(pid).name())
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                names[pid] = None
        return names[pid]

    seen: set[tuple[str, str, int, int | None]] = set()
    result: list[dict[str, Any]] = []
    for conn in psutil.net_connections(kind="inet"):
        tcp = conn.type == socket.SOCK_STREAM
        if tcp and conn.status != psutil.CONN_LISTEN:
            continue
        if not tcp and conn.raddr:  # connected UDP sockets are clients, not services
            continue
        if not conn.laddr:
            continue
        proto = ("tcp" if tcp else "udp") + ("6" if conn.family == socket.AF_INET6 else "")
        key = (proto, conn.laddr.ip, conn.laddr.port, conn.pid)
        if key in seen:
            continue
        seen.add(key)
        result.append(
            {
                "proto": proto,
                "address": clip(conn.laddr.ip),
                "port": conn.laddr.port,
                "pid": conn.pid,
                "process": process_name(conn.pid),
            }
        )
    result.sort(key=lambda p: (p["proto"], p["port"], p["address"]))
    return result[:4096]


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """INI-style text into {section (lower-case): {key: value}}; keys before any section go under "".
    Later values override earlier ones (as systemd, GDM, LightDM and SDDM read them)."""
    sections: dict[str, dict[str, str]] = {"": {}}
    current = sections[""]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip():
            current[key.strip()] = value.strip().strip("\"'")
    return sections


def parse_login_defs(text: str) -> dict[str, str]:
    """`KEY value` lines of /etc/login.defs (first occurrence wins)."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        parts = raw.split()
        if len(parts) >= 2 and not parts[0].startswith("#"):
            result.setdefault(parts[0], parts[1])
    return result


def as_list(value: Any) -> list[Any]:
    """ConvertTo-Json prints one object bare and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_ps_date(value: Any) -> str | None:
    """A PowerShell JSON date (`/Date(ms)/` from 5.1, ISO from 7) as ISO 8601 with a timezone."""
    if not isinstance(value, str) or not value:
        return None
    match = re.fullmatch(r"\\?/Date\((-?\d+)(?:[+-]\d{4})?\)\\?/", value)
    try:
        if match:
            parsed = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
        else:
            parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.year < 1980:  # 0001/1601/1899 "never" sentinels, in either form
        return None
    return (parsed if parsed.tzinfo else parsed.astimezone()).isoformat()


def parse_powershell_bundle(text: str) -> dict[str, Any]:
    """The JSON object `POWERSHELL_SCRIPT` prints; raises ValueError when it is not one."""
    start = text.find("{")
    data = json.loads(text[start:]) if start >= 0 else None
    if not isinstance(data, dict):
        raise ValueError("PowerShell output is not a JSON object")
    return data
