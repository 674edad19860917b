"""Where packages come from (`SecurityFacts.package_sources`).

Linux: the URIs of apt's sources (one-line and deb822 files) or of the enabled yum/dnf repositories.
Windows: the WSUS server when the policy enables it, else Microsoft's public Windows Update.

Requirement HS-25 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import clip, parse_ini, read_text
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def _uri_host(uri: str) -> str | None:
    match = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(\[[^\]]+\]|[^/:?#]+)", uri.strip(), re.I)
    return match.group(1).strip("[]").lower() if match else None


def apt_list_uris(text: str) -> list[str]:
    """URIs of the `deb`/`deb-src` lines of a one-line-style sources.list."""
    uris: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", raw.split("#", 1)[0]).split()
        if len(line) >= 2 and line[0] in ("deb", "deb-src"):
            uris.append(line[1])
    return uris


def apt_deb822_uris(text: str) -> list[str]:
    """URIs of the enabled stanzas of a deb822 `.sources` file (`URIs:` fields; `Enabled: no` skipped)."""
    uris: list[str] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1] in (" ", "\t") and key:
                fields[key] += " " + raw.strip()
                continue
            name, sep, value = raw.partition(":")
            if sep:
                key = name.strip().lower()
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() != "no":
            uris.extend(fields.get("uris", "").split())
    return uris


def yum_repo_uris(text: str) -> list[str]:
    """baseurl/mirrorlist/metalink of the enabled sections of a .repo file."""
    uris: list[str] = []
    for name, section in parse_ini(text).items():
        if not name or section.get("enabled", "1").strip() in ("0", "false", "no"):
            continue
        for key in ("baseurl", "mirrorlist", "metalink"):
            uris.extend(section.get(key, "").split())
    return uris


def package_source_entries(found: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """`PackageSource` dicts from (file, uri) pairs, duplicates dropped."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for file, uri in found:
        entries.setdefault(
            (file, uri), {"host": _uri_host(uri), "uri": clip(uri, 2048), "file": clip(file, 2048)}
        )
    return list(entries.values())[:512]


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`PackageSources` on Linux; None without a package manager it knows."""
    found: list[tuple[str, str]] = []
    if os.path.isdir(host.path("/etc/apt")):
        for path in [host.path("/etc/apt/sources.list"), *host.glob("/etc/apt/sources.list.d/*.list")]:
            found.extend((path, uri) for uri in apt_list_uris(read_text(path) or ""))
        for path in host.glob("/etc/apt/sources.list.d/*.sources"):
            found.extend((path, uri) for uri in apt_deb822_uris(read_text(path) or ""))
        return {"manager": "apt", "sources": package_source_entries(found)}
    if os.path.isdir(host.path("/etc/yum.repos.d")):
        for path in host.glob("/etc/yum.repos.d/*.repo"):
            found.extend((path, uri) for uri in yum_repo_uris(read_text(path) or ""))
        return {"manager": "dnf", "sources": package_source_entries(found)}
    return None


WINDOWS_UPDATE_PUBLIC = "https://windowsupdate.microsoft.com"


def parse_wsus(wsus: Any) -> dict[str, Any]:
    """`PackageSources`: the WSUS server when the policy enables it (UseWUServer = 1), else Microsoft's
    public Windows Update service."""
    server = wsus.get("WUServer") if isinstance(wsus, dict) else None
    if isinstance(wsus, dict) and wsus.get("UseWUServer") == 1 and isinstance(server, str) and server:
        uri, file = server, "policy WUServer"
    else:
        uri, file = WINDOWS_UPDATE_PUBLIC, "default (no WSUS policy)"
    match = re.match(r"^[a-z]+://([^/:]+)", uri.strip(), re.IGNORECASE)
    host = match.group(1).lower() if match else None
    return {"manager": "windows-update", "sources": [{"host": host, "uri": clip(uri, 2048), "file": file}]}


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`PackageSources` on Windows."""
    return parse_wsus(host.powershell("wsus"))


PLUGIN = FactFamily(name="package_sources", linux=read_linux, windows=read_windows)
