"""SSH server (`SecurityFacts.ssh_server`): installed, running, and its global settings.

OpenSSH reads the same sshd_config syntax on both systems: /etc/ssh/sshd_config on Linux,
`%ProgramData%\\ssh\\sshd_config` on Windows (Windows OpenSSH), with their Include files.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import clip, process_names, read_text, to_int, which
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

# Keywords sshd accumulates over several lines instead of keeping the first value.
SSHD_MULTI_VALUE = frozenset(
    {
        "port", "listenaddress", "hostkey", "hostcertificate", "acceptenv", "setenv", "subsystem",
        "allowusers", "denyusers", "allowgroups", "denygroups", "authorizedkeysfile", "include",
        "channeltimeout", "permitlisten", "permitopen",
    }
)  # fmt: skip

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


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


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`SshServer` on Linux."""
    config_path = host.path("/etc/ssh/sshd_config")
    text = read_text(config_path)
    installed = text is not None or os.path.exists(config_path) or which("sshd") is not None
    settings = (
        parse_sshd_config(text, default_include_reader(os.path.dirname(config_path), host.root))
        if text is not None
        else {}
    )
    running = ssh_running(host.process_names(), host.listening_ports(), settings)
    return {"installed": installed or running, "running": running, "settings": settings}


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`SshServer` on Windows."""
    program_data = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
    config_path = os.path.join(program_data, "ssh", "sshd_config")
    text = read_text(config_path)
    system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
    binary = os.path.join(system_root, "System32", "OpenSSH", "sshd.exe")
    settings = parse_sshd_config(text, default_include_reader(os.path.dirname(config_path))) if text else {}
    running = ssh_running(process_names(), host.listening_ports(), settings)
    installed = text is not None or os.path.exists(binary) or running
    return {"installed": installed, "running": running, "settings": settings}


PLUGIN = FactFamily(name="ssh_server", linux=read_linux, windows=read_windows)
