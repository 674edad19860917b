"""Pending package updates (`SecurityFacts.updates`).

Linux: apt's simulated `dist-upgrade` (security updates told apart by their origin) or dnf's
`check-update`, cache only, never the network. Both cost seconds of CPU, so their answer is kept
(`LinuxHost.cached`) while the package database, lists and configuration are unchanged.
Windows: when Windows Update last searched successfully (counting needs a search of minutes).
"""

from __future__ import annotations

import glob
import os
import re
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import iso_mtime, parse_ps_date, run_command, which
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

_APT_INST = re.compile(r"^Inst\s+(\S+)(?:\s+\[[^\]]*\])?\s+\((.*)\)")


def parse_apt_simulate(text: str) -> tuple[int, int]:
    """(total, security) upgrades from `apt-get -s dist-upgrade` output.

    An `Inst` line names the candidate's origins, e.g.
    `Inst libc6 [2.36-9] (2.36-9+deb12u4 Debian:12.5/stable, Debian-Security:12/stable-security [amd64])`;
    it is a security update when any origin's suite ends in `-security` (Debian, Ubuntu) or its label
    says Security.
    """
    total = security = 0
    for raw in text.splitlines():
        match = _APT_INST.match(raw.strip())
        if not match:
            continue
        total += 1
        inner = re.sub(r"\s*\[[^\]]*\]\s*$", "", match.group(2))  # drop the trailing [arch]
        _, _, origins = inner.partition(" ")
        for origin in origins.split(","):
            label, _, suite = origin.strip().partition("/")
            if suite.strip().endswith("-security") or "security" in label.lower():
                security += 1
                break
    return total, security


def parse_dnf_check_update(text: str) -> int:
    """Packages listed by `dnf -q check-update` (name.arch, version, repo lines)."""
    count = 0
    for raw in text.splitlines():
        cols = raw.split()
        if len(cols) == 3 and "." in cols[0] and not raw.startswith((" ", "\t")) and cols[0] != "Obsoleting":
            count += 1
    return count


_APT_INPUTS = (
    "/var/lib/dpkg/status",  # what is installed
    "/var/lib/apt/extended_states",
    "/var/lib/apt/lists",  # `apt update` renames new lists into place: the directory's mtime moves
    "/etc/apt/sources.list",
    "/etc/apt/sources.list.d",
    "/etc/apt/preferences",
    "/etc/apt/preferences.d",
    "/etc/apt/apt.conf.d",
)

_DNF_INPUTS = ("/var/lib/rpm", "/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages", "/var/cache/dnf",
               "/etc/yum.repos.d", "/etc/dnf/dnf.conf")  # fmt: skip


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`PendingUpdates` on Linux; None without a package manager it knows."""
    if which("apt-get"):
        return _apt_updates(host)
    if which("dnf"):
        return _dnf_updates(host)
    return None


def _apt_updates(host: LinuxHost) -> dict[str, Any]:
    lists = host.path("/var/lib/apt/lists")
    last_refresh = iso_mtime(
        [lists, os.path.join(lists, "partial"), host.path("/var/lib/apt/periodic/update-success-stamp")]
    )

    def simulate() -> list[int]:
        # dist-upgrade, not upgrade: kernel security fixes arrive as new packages that `upgrade`
        # holds back.
        res = run_command(["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"])
        if res is None:
            raise RuntimeError("apt-get could not be run")
        if res.returncode != 0:
            raise RuntimeError(f"apt-get -s exit {res.returncode}: {res.stderr.strip()[-300:]}")
        return list(parse_apt_simulate(res.stdout))

    # The simulation is the one expensive fact; redo it only when packages, lists or apt changed.
    inputs = [host.path(p) for p in _APT_INPUTS] + [which("apt-get") or "apt-get"]
    total, security = host.cached("apt", inputs, simulate)
    return {"manager": "apt", "total": total, "security": security, "last_refresh": last_refresh}


def _dnf_updates(host: LinuxHost) -> dict[str, Any]:
    def check() -> list[int | None]:
        counts: list[int | None] = []
        for argv in (
            ["dnf", "-q", "-C", "check-update"],
            ["dnf", "-q", "-C", "--security", "check-update"],
        ):
            res = run_command(argv)  # -C: cache only, never the network
            if res is None or res.returncode not in (0, 100):
                counts.append(None)
            else:
                counts.append(parse_dnf_check_update(res.stdout) if res.returncode == 100 else 0)
        return counts

    solv = sorted(glob.glob(host.path("/var/cache/dnf/*.solv")))
    inputs = [host.path(p) for p in _DNF_INPUTS] + solv + [which("dnf") or "dnf"]
    counts = host.cached("dnf", inputs, check)
    last_refresh = iso_mtime(solv or [host.path("/var/cache/dnf")])
    return {"manager": "dnf", "total": counts[0], "security": counts[1], "last_refresh": last_refresh}


def parse_update_results(results: Any) -> dict[str, Any]:
    """`PendingUpdates` from `Microsoft.Update.AutoUpdate` Results JSON: when Windows Update last
    searched successfully. Counting pending updates needs a search that takes minutes, so totals are
    None."""
    last = parse_ps_date(results.get("LastSearchSuccessDate")) if isinstance(results, dict) else None
    return {"manager": "windows-update", "total": None, "security": None, "last_refresh": last}


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`PendingUpdates` on Windows."""
    return parse_update_results(host.powershell("wu"))


PLUGIN = FactFamily(name="updates", linux=read_linux, windows=read_windows)
