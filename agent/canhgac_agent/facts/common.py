"""Pieces shared by the Linux and Windows fact providers: bounded commands, the process and listening
socket snapshots, and the sshd_config parser (OpenSSH reads the same syntax on both systems)."""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import psutil

COMMAND_TIMEOUT_S = 10.0
_SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clip(text: str, limit: int = 256) -> str:
    """`text` fit for the report: control characters other than tab and line breaks (which the server
    refuses) become spaces, and it is cut to `limit` characters."""
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


def process_names() -> set[str]:
    """Names of the running processes (lower-case); processes we may not inspect are skipped."""
    names: set[str] = set()
    for proc in psutil.process_iter(["name"]):
        name = proc.info.get("name")
        if name:
            names.add(str(name).lower())
    return names


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


# --- sshd_config ----------------------------------------------------------------------------------

# Keywords sshd accumulates over several lines instead of keeping the first value.
SSHD_MULTI_VALUE = frozenset(
    {
        "port", "listenaddress", "hostkey", "hostcertificate", "acceptenv", "setenv", "subsystem",
        "allowusers", "denyusers", "allowgroups", "denygroups", "authorizedkeysfile", "include",
        "channeltimeout", "permitlisten", "permitopen",
    }
)  # fmt: skip


def _sshd_tokens(line: str) -> tuple[str, str] | None:
    """(lower-case keyword, argument text) of one config line, or None for blanks and comments."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    # "Keyword value", "Keyword=value" and "Keyword = value" are all valid.
    head, sep, rest = line.partition("=")
    if sep and " " not in head.strip() and "\t" not in head.strip():
        keyword, value = head.strip(), rest.strip()
    else:
        parts = line.split(None, 1)
        keyword, value = parts[0], (parts[1].strip() if len(parts) > 1 else "")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return keyword.lower(), value


def default_include_reader(base_dir: str, root: str = "/") -> Callable[[str], list[str]]:
    """An Include resolver over the real filesystem: glob, sorted like sshd; relative patterns are
    relative to `base_dir`, absolute ones are taken under `root` (for reading a mounted image)."""

    def read(pattern: str) -> list[str]:
        if os.path.isabs(pattern):
            path = os.path.join(root, pattern.lstrip("/")) if root != "/" else pattern
        else:
            path = os.path.join(base_dir, pattern)
        texts = []
        for match in sorted(glob.glob(path)):
            text = read_text(match)
            if text is not None:
                texts.append(text)
        return texts

    return read


def parse_sshd_config(
    text: str, read_include: Callable[[str], list[str]] | None = None, *, _depth: int = 0
) -> dict[str, str]:
    """Global sshd settings from sshd_config text, keyed by lower-case keyword.

    Follows sshd's rules: the first value of a keyword wins (multi-value keywords accumulate,
    space-separated); lines inside a `Match` block are conditional and so not global; `Include` reads
    the files `read_include(pattern)` returns, in place, and a `Match` opened inside an included file
    ends with that file. Only explicit settings appear: an absent keyword means sshd's built-in default.
    Malformed lines are skipped, never raised on.
    """
    settings: dict[str, str] = {}
    _parse_sshd_into(text, read_include, settings, _depth)
    return settings


def _parse_sshd_into(
    text: str, read_include: Callable[[str], list[str]] | None, settings: dict[str, str], depth: int
) -> None:
    in_match = False
    for line in text.splitlines():
        tokens = _sshd_tokens(line)
        if tokens is None:
            continue
        keyword, value = tokens
        if keyword == "match":
            # "Match all" returns to unconditional settings (OpenSSH >= 6.5).
            in_match = value.strip().lower() != "all"
            continue
        if in_match:
            continue
        if keyword == "include":
            if read_include is not None and depth < 16:  # sshd's own include depth limit
                for pattern in value.split():
                    for included in read_include(pattern):
                        _parse_sshd_into(included, read_include, settings, depth + 1)
            continue
        if not keyword.isascii() or not keyword.isalnum() or len(settings) >= 256:
            continue
        if keyword in SSHD_MULTI_VALUE and keyword in settings:
            settings[keyword] = clip(f"{settings[keyword]} {value}", 2048)
        elif keyword not in settings:
            settings[keyword] = clip(value, 2048)


def ssh_running(process_names: Iterable[str], ports: list[dict[str, Any]], settings: dict[str, str]) -> bool:
    """sshd is running, or its port is held by a socket-activating init (systemd ssh.socket)."""
    if any(fnmatch.fnmatch(name, "sshd*") for name in process_names):
        return True
    ssh_ports = {to_int(p) for p in settings.get("port", "22").split()} or {22}
    return any(p["port"] in ssh_ports and p["process"] in ("systemd", "launchd") for p in ports)


# --- software inventory (HS-27), shared by both platforms ----------------------------------------

MAX_PACKAGES = 20000


def software_inventory(source: str, packages: list[dict[str, Any]]) -> dict[str, Any]:
    """`SoftwareInventory`: packages sorted by name, each (name, version) once, at most MAX_PACKAGES."""
    unique = {(p["name"], p["version"]): p for p in packages}
    ordered = [unique[k] for k in sorted(unique, key=lambda k: (k[0].lower(), k[1] or ""))]
    return {"source": source, "packages": ordered[:MAX_PACKAGES], "truncated": len(ordered) > MAX_PACKAGES}


# --- Wi-Fi (NW-28), shared by both platforms -----------------------------------------------------

_ENTERPRISE = re.compile(r"(?i)enterprise|802\.1x|\beap\b")
_INSECURE = re.compile(r"(?i)^(open|shared|wep|none|--)?$|\bwep\b")


def wifi_connection(ssid: str | None, authentication: str | None, interface: str | None) -> dict[str, Any]:
    """One `WifiConnection`, classified from the OS's authentication name."""
    auth = (authentication or "").strip()
    return {
        "ssid": clip(ssid) if ssid else None,
        "authentication": clip(auth) if auth else None,
        "enterprise": bool(_ENTERPRISE.search(auth)),
        "insecure": bool(_INSECURE.search(auth)) and not _ENTERPRISE.search(auth),
        "interface": clip(interface) if interface else None,
    }
