"""Clock synchronisation (`SecurityFacts.time_sync`).

Linux: the running time daemon (chrony, systemd-timesyncd, ntpd) and its own report (`chronyc -n
tracking`, `ntpq -pn`), else `timedatectl`. Windows: `w32tm /query /status /verbose`.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import any_running, clip, run_command, which
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def parse_key_values(text: str, sep: str = "=") -> dict[str, str]:
    """`KEY<sep>value` lines into a dict (first occurrence wins); other lines are ignored."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        key, found, value = raw.partition(sep)
        key = key.strip()
        if found and key and not key.startswith("#"):
            result.setdefault(key, value.strip())
    return result


def parse_chronyc_tracking(text: str) -> dict[str, Any]:
    """synchronized/source/offset_ms from `chronyc -n tracking`; missing values are None."""
    fields = parse_key_values(text, ":")
    result: dict[str, Any] = {"synchronized": None, "source": None, "offset_ms": None}
    ref = fields.get("Reference ID", "")
    leap = fields.get("Leap status", "").lower()
    if leap:
        result["synchronized"] = "not synchronised" not in leap and not ref.startswith("00000000")
    source = re.search(r"\(([^)]*)\)", ref)
    if source and source.group(1):
        result["source"] = clip(source.group(1))
    offset = re.match(
        r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s+seconds\s+(fast|slow)", fields.get("System time", "")
    )
    if offset:
        seconds = float(offset.group(1))
        result["offset_ms"] = round(seconds * 1000 * (-1 if offset.group(2) == "slow" else 1), 6)
    return result


def parse_ntpq_peers(text: str) -> dict[str, Any]:
    """The system peer (`*` tally) of `ntpq -pn`: synchronized, source and offset_ms."""
    for raw in text.splitlines():
        if raw.startswith("*"):
            cols = raw[1:].split()
            offset = None
            if len(cols) >= 9:
                try:
                    offset = float(cols[8])  # ntpq prints the offset in ms
                except ValueError:
                    offset = None
            return {"synchronized": True, "source": clip(cols[0]) if cols else None, "offset_ms": offset}
    return {"synchronized": False if text.strip() else None, "source": None, "offset_ms": None}


_TIME_DAEMONS = (("chronyd", "chrony"), ("systemd-timesyncd", "systemd-timesyncd"), ("ntpd", "ntpd"))


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`TimeSync` on Linux."""
    procs = host.process_names()
    service = next((label for proc, label in _TIME_DAEMONS if any_running(procs, (proc,))), None)
    result: dict[str, Any] = {"service": service, "synchronized": None, "source": None, "offset_ms": None}
    if service == "chrony":
        res = run_command(["chronyc", "-n", "tracking"])  # -n: no reverse DNS lookups
        if res is not None and res.returncode == 0:
            result.update(parse_chronyc_tracking(res.stdout))
    elif service == "ntpd":
        res = run_command(["ntpq", "-pn"])
        if res is not None and res.returncode == 0:
            result.update(parse_ntpq_peers(res.stdout))
    if result["synchronized"] is None and which("timedatectl"):
        res = run_command(["timedatectl", "show", "-p", "NTPSynchronized", "-p", "NTP"])
        if res is not None and res.returncode == 0:
            value = parse_key_values(res.stdout).get("NTPSynchronized")
            if value in ("yes", "no"):
                result["synchronized"] = value == "yes"
    if result["synchronized"] is None and service == "systemd-timesyncd":
        result["synchronized"] = os.path.exists(host.path("/run/systemd/timesync/synchronized"))
    return result


def parse_w32tm_status(text: str) -> dict[str, Any]:
    """`TimeSync` from `w32tm /query /status [/verbose]`.

    Not synchronised when the leap indicator is 3, or the source is the local CMOS / free-running
    clock; an error text (service stopped, 0x80070426) means not synchronised either.
    """
    result: dict[str, Any] = {"service": "w32time", "synchronized": None, "source": None, "offset_ms": None}
    if "0x80070426" in text or "service has not been started" in text.lower():
        result["synchronized"] = False
        return result
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    leap = re.match(r"(\d)", fields.get("leap indicator", ""))
    source = fields.get("source", "")
    if source:
        source = source.split(",")[0].strip()  # "time.windows.com,0x9": drop the mode flags
        result["source"] = clip(source)
    if leap:
        free_running = source.lower() in ("local cmos clock", "free-running system clock")
        result["synchronized"] = leap.group(1) != "3" and not free_running
    offset = re.match(r"([-+]?\d+(?:\.\d+)?)s", fields.get("phase offset", ""))
    if offset:
        result["offset_ms"] = round(float(offset.group(1)) * 1000, 6)
    return result


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`TimeSync` on Windows."""
    res = run_command(["w32tm", "/query", "/status", "/verbose"])
    if res is None:
        raise RuntimeError("w32tm not found")
    return parse_w32tm_status(res.stdout + res.stderr)


PLUGIN = FactFamily(name="time_sync", linux=read_linux, windows=read_windows)
