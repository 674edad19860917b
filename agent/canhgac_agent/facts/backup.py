"""Backup agents and their last successful job (`SecurityFacts.backup`, HS-32).

Linux: restic, BorgBackup/borgmatic, Bacula and Bareos file daemons, Veeam Agent for Linux, found by
binary, configuration, process, systemd timer or cron line. Their last success is readable without
credentials only where a systemd service runs the job: the unit's last exit (Result=success, exit
status 0) since boot. A repository (restic/borg) needs its password, the Bacula/Bareos job history is
the Director's, `veeamconfig session list` needs root: those tools are reported with their schedule and
the reason the last success is unknown. Windows: Windows Server Backup (`Get-WBSummary`, else the
newest "backup finished successfully" event), Veeam Agent for Windows (its event log, event 190),
Bacula/Bareos services.

`last_success` is the newest success over all tools; None when none could be read (never a guess).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from canhgac_agent.facts.common import (
    any_running,
    as_list,
    clip,
    parse_ps_date,
    read_text,
    run_command,
    which,
)
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

MAX_TOOLS = 32
MAX_SCHEDULES = 16


class Tool(NamedTuple):
    """A backup tool on Linux: how it shows (binaries, processes, config paths) and why its last success
    cannot be read when no systemd unit runs it."""

    name: str
    pattern: str  # matches its name in unit file names and cron lines
    binaries: tuple[str, ...]
    processes: tuple[str, ...]
    paths: tuple[str, ...]
    unknown: str


REPO_LOCKED = "kho sao lưu cần mật khẩu / the repository needs its password"
TOOLS: tuple[Tool, ...] = (
    Tool("restic", r"restic", ("restic",), (), ("/etc/restic",), REPO_LOCKED),
    Tool(
        "borg",
        r"borg",
        ("borg", "borgmatic"),
        (),
        ("/etc/borgmatic/config.yaml", "/etc/borgmatic.d"),
        REPO_LOCKED,
    ),
    Tool(
        "bacula",
        r"bacula",
        (),
        ("bacula-fd",),
        ("/etc/bacula/bacula-fd.conf",),
        "lịch sử job nằm ở Director / the job history is the Director's",
    ),
    Tool(
        "bareos",
        r"bareos",
        (),
        ("bareos-fd",),
        ("/etc/bareos/bareos-fd.conf", "/etc/bareos/bareos-fd.d"),
        "lịch sử job nằm ở Director / the job history is the Director's",
    ),
    Tool(
        "veeam",
        r"veeam",
        ("veeamconfig",),
        ("veeamservice",),
        ("/etc/veeam",),
        "veeamconfig session list cần quyền root / needs root",
    ),
)
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
CRON_FILES = ("/etc/crontab", "/etc/cron.d/*", "/var/spool/cron/crontabs/*", "/var/spool/cron/*")
CRON_SCRIPTS = ("/etc/cron.hourly/*", "/etc/cron.daily/*", "/etc/cron.weekly/*", "/etc/cron.monthly/*")


def cron_lines(text: str, pattern: str) -> list[str]:
    """Active crontab lines (not comments, not variables) that run something matching `pattern`."""
    found = []
    for raw in text.splitlines()[:2000]:
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Za-z_]+\s*=", line):
            continue
        if re.search(pattern, line, re.I):
            found.append(line)
    return found


def timer_unit(text: str, timer_name: str) -> str:
    """The service a timer starts: `Unit=` in its [Timer] section, else the timer's own name."""
    match = re.search(r"^\s*Unit\s*=\s*(\S+)", text, re.M)
    return match.group(1) if match else timer_name.removesuffix(".timer") + ".service"


def parse_systemctl_show(text: str, boot_time: float) -> tuple[str | None, bool | None]:
    """(last success ISO time, last run failed) from `systemctl show -p Result -p ExecMainStatus
    -p ExecMainExitTimestampMonotonic` output. The monotonic time (µs since boot) is locale- and
    version-proof; 0 means the unit has not exited since boot: nothing known."""
    props = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
    try:
        exited_us = int(props.get("ExecMainExitTimestampMonotonic", "0"))
    except ValueError:
        return None, None
    if exited_us <= 0:
        return None, None
    succeeded = props.get("Result") == "success" and props.get("ExecMainStatus", "0") == "0"
    if not succeeded:
        return None, True
    return datetime.fromtimestamp(boot_time + exited_us / 1e6, tz=UTC).isoformat(), False


def unit_result(service: str) -> tuple[str | None, bool | None]:
    """The live systemd's last exit of `service` (nothing without systemd as init, e.g. containers)."""
    if not os.path.isdir("/run/systemd/system"):
        return None, None
    res = run_command(
        [
            "systemctl",
            "show",
            service,
            "-p",
            "Result",
            "-p",
            "ExecMainStatus",
            "-p",
            "ExecMainExitTimestampMonotonic",
        ]
    )
    if res is None or res.returncode != 0:
        return None, None
    import psutil

    return parse_systemctl_show(res.stdout, psutil.boot_time())


def newest(times: list[str | None]) -> str | None:
    known = [t for t in times if t]
    return max(known, key=datetime.fromisoformat) if known else None


def shown(host: LinuxHost, path: str) -> str:
    """`path` (under the host's root) as the host sees it."""
    return "/" + os.path.relpath(path, host.root)


def linux_tool(host: LinuxHost, tool: Tool) -> dict[str, Any] | None:
    """The tool's entry, or None when the host shows no sign of it."""
    procs = host.process_names()
    running = any_running(procs, tool.processes) if tool.processes else None
    schedules: list[str] = []
    services: list[str] = []
    for directory in UNIT_DIRS:
        for timer in host.glob(f"{directory}/*.timer"):
            name = os.path.basename(timer)
            if re.search(tool.pattern, name, re.I) and not any(name in s for s in schedules):
                enabled = os.path.exists(host.path(f"/etc/systemd/system/timers.target.wants/{name}"))
                schedules.append(f"systemd {name}" + ("" if enabled else " (disabled)"))
                if enabled:
                    services.append(timer_unit(read_text(timer) or "", name))
    for pattern in CRON_FILES:
        for path in host.glob(pattern):
            for line in cron_lines(read_text(path) or "", tool.pattern):
                schedules.append(clip(f"cron {shown(host, path)}: {line}"))
    for pattern in CRON_SCRIPTS:
        for path in host.glob(pattern):
            if re.search(tool.pattern, read_text(path) or "", re.I):
                schedules.append(clip(f"cron {shown(host, path)}"))
    installed = (
        any(which(b) for b in tool.binaries)
        or any(os.path.exists(host.path(p)) for p in tool.paths)
        or bool(running)
        or bool(schedules)
    )
    if not installed:
        return None
    results = [unit_result(service) for service in services]
    last_success = newest([r[0] for r in results])
    failed = [r[1] for r in results if r[1] is not None]
    entry: dict[str, Any] = {
        "tool": tool.name,
        "running": running,
        "schedules": schedules[:MAX_SCHEDULES],
        "last_success": last_success,
        "last_run_failed": any(failed) if failed else None,
    }
    if last_success is None:
        why = "không có unit systemd đã chạy từ lúc khởi động / no systemd unit has run it since boot"
        entry["detail"] = f"{tool.unknown}; {why}" if services else tool.unknown
    return entry


def section(tools: list[dict[str, Any]], detail: str | None = None) -> dict[str, Any]:
    tools = tools[:MAX_TOOLS]
    return {"tools": tools, "last_success": newest([t.get("last_success") for t in tools]), "detail": detail}


def read_linux(host: LinuxHost) -> dict[str, Any]:
    """`Backup` on Linux."""
    return section([entry for tool in TOOLS if (entry := linux_tool(host, tool)) is not None])


VEEAM_RESULT = re.compile(r"finished with (Success|Warning|Failed)", re.I)


def veeam_entry(events: Any, service_status: str | None) -> dict[str, Any] | None:
    """Veeam Agent for Windows from its event-190 list (newest first): the newest Success or Warning is
    the last success; the newest event being Failed marks the last run failed."""
    if service_status is None and not events:
        return None
    last_success = None
    last_failed = None
    for event in as_list(events)[:50]:
        if not isinstance(event, dict) or not isinstance(event.get("Message"), str):
            continue
        match = VEEAM_RESULT.search(event["Message"])
        when = parse_ps_date(event.get("TimeCreated"))
        if match is None or when is None:
            continue
        if last_failed is None:
            last_failed = match.group(1).lower() == "failed"
        if match.group(1).lower() != "failed":
            last_success = newest([last_success, when])
    entry: dict[str, Any] = {
        "tool": "veeam",
        "running": service_status.lower() == "running" if service_status is not None else None,
        "schedules": [],
        "last_success": last_success,
        "last_run_failed": last_failed,
    }
    if last_success is None:
        entry["detail"] = "không có sự kiện 190 thành công / no successful event 190 in the Veeam Agent log"
    return entry


def windows_backup_entry(summary: Any, event: Any) -> dict[str, Any] | None:
    """Windows Server Backup from `Get-WBSummary` (None when the feature is absent), with the newest
    success event (Microsoft-Windows-Backup 4) when the summary has no time."""
    if not isinstance(summary, dict) and not event:
        return None
    summary = summary if isinstance(summary, dict) else {}
    last_success = parse_ps_date(summary.get("LastSuccessfulBackupTime"))
    if last_success is None:
        last_success = newest(
            [parse_ps_date(e.get("TimeCreated")) for e in as_list(event) if isinstance(e, dict)]
        )
    result = summary.get("LastBackupResultHR")
    next_time = parse_ps_date(summary.get("NextBackupTime"))
    entry: dict[str, Any] = {
        "tool": "windows-server-backup",
        "running": None,
        "schedules": [f"next {next_time}"] if next_time else [],
        "last_success": last_success,
        "last_run_failed": result != 0 if isinstance(result, int) and not isinstance(result, bool) else None,
    }
    if last_success is None:
        entry["detail"] = "chưa có lần sao lưu thành công / no successful backup recorded"
    return entry


def optional_part(host: WindowsHost, part: str) -> Any:
    """A bundle part whose failure means "not there" (cmdlet or event log absent)."""
    try:
        return host.powershell(part)
    except RuntimeError:
        return None


def read_windows(host: WindowsHost) -> dict[str, Any]:
    """`Backup` on Windows."""
    services = host.services()
    found = []
    wsb = windows_backup_entry(optional_part(host, "wbsummary"), optional_part(host, "wbevent"))
    if wsb is not None:
        found.append(wsb)
    veeam = veeam_entry(optional_part(host, "veeam"), services.get("veeamendpointbackupsvc"))
    if veeam is not None:
        found.append(veeam)
    for name in ("bacula-fd", "bareos-fd"):
        if name in services:
            found.append(
                {
                    "tool": name.removesuffix("-fd"),
                    "running": services[name].lower() == "running",
                    "schedules": [],
                    "last_success": None,
                    "last_run_failed": None,
                    "detail": "lịch sử job nằm ở Director / the job history is the Director's",
                }
            )
    return section(found)


PLUGIN = FactFamily(name="backup", linux=read_linux, windows=read_windows)
