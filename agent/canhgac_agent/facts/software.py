"""Installed software (`SecurityFacts.software`).

Linux: dpkg's status file (streamed, cached while unchanged) or `rpm -qa`. Windows: the machine-wide
Uninstall registry keys (64- and 32-bit views).

Requirement HS-27 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import as_list, clip, run_command, which
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

MAX_PACKAGES = 20000


def software_inventory(source: str, packages: list[dict[str, Any]]) -> dict[str, Any]:
    """`SoftwareInventory`: packages sorted by name, each (name, version) once, at most MAX_PACKAGES."""
    unique = {(p["name"], p["version"]): p for p in packages}
    ordered = [unique[k] for k in sorted(unique, key=lambda k: (k[0].lower(), k[1] or ""))]
    return {"source": source, "packages": ordered[:MAX_PACKAGES], "truncated": len(ordered) > MAX_PACKAGES}


def parse_dpkg_status(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Installed packages of /var/lib/dpkg/status (its lines, streamed: the file is megabytes on a
    server): stanzas whose Status ends in "installed" (removed packages keep a stanza with
    "config-files" or "not-installed")."""
    packages: list[dict[str, Any]] = []
    fields: dict[str, str] = {}

    def flush() -> None:
        status = fields.get("Status", "").split()
        if fields.get("Package") and status and status[-1] == "installed":
            version = fields.get("Version")
            packages.append(
                {
                    "name": clip(fields["Package"]),
                    "version": clip(version) if version else None,
                    "publisher": None,
                }
            )
        fields.clear()

    for line in lines:
        if not line.strip():
            flush()
        elif line.startswith(("Package: ", "Version: ", "Status: ")):
            key, _, value = line.partition(": ")
            fields[key] = value.strip()
    flush()
    return packages


def parse_rpm_query(text: str) -> list[dict[str, Any]]:
    """`rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{VENDOR}\\n'` lines; "(none)" is no vendor."""
    packages: list[dict[str, Any]] = []
    for line in text.splitlines():
        cols = line.split("\t")
        if not cols[0].strip():
            continue
        version = cols[1].strip() if len(cols) > 1 and cols[1].strip() else None
        vendor = cols[2].strip() if len(cols) > 2 and cols[2].strip() not in ("", "(none)") else None
        packages.append(
            {
                "name": clip(cols[0].strip()),
                "version": clip(version) if version else None,
                "publisher": clip(vendor) if vendor else None,
            }
        )
    return packages


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`SoftwareInventory` on Linux; None without a package manager it knows."""
    status = host.path("/var/lib/dpkg/status")
    if os.path.exists(status):

        def parse() -> list[dict[str, Any]]:
            try:
                with open(status, encoding="utf-8", errors="replace") as lines:
                    return parse_dpkg_status(lines)
            except OSError as exc:
                raise RuntimeError(f"/var/lib/dpkg/status is not readable: {exc}") from None

        return software_inventory("dpkg", host.cached("dpkg", [status], parse))
    if which("rpm"):
        res = run_command(["rpm", "-qa", "--qf", r"%{NAME}\t%{VERSION}-%{RELEASE}\t%{VENDOR}\n"])
        if res is None or res.returncode != 0:
            raise RuntimeError("rpm -qa failed" + (f": {res.stderr.strip()[-300:]}" if res else ""))
        return software_inventory("rpm", parse_rpm_query(res.stdout))
    return None


def parse_uninstall(rows: Any) -> dict[str, Any]:
    """`SoftwareInventory` from the Uninstall keys' {DisplayName, DisplayVersion, Publisher} rows."""
    packages: list[dict[str, Any]] = []
    for row in as_list(rows):
        if not isinstance(row, dict) or not isinstance(row.get("DisplayName"), str):
            continue
        name = row["DisplayName"].strip()
        if not name:
            continue
        version, publisher = row.get("DisplayVersion"), row.get("Publisher")
        packages.append(
            {
                "name": clip(name),
                "version": clip(str(version).strip()) if version not in (None, "") else None,
                "publisher": clip(str(publisher).strip()) if publisher not in (None, "") else None,
            }
        )
    return software_inventory("windows-uninstall", packages)


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`SoftwareInventory` on Windows."""
    return parse_uninstall(host.powershell("software"))


PLUGIN = FactFamily(name="software", linux=read_linux, windows=read_windows)
