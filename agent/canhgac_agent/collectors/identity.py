"""Host identity: machine id, hostname, OS and hardware (Report.host).

Everything but the hostname and boot time is read once per process and cached: it cannot change
without a reboot (or a reinstall, which restarts the agent anyway).
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import sys
from datetime import UTC, datetime
from typing import Any

import psutil

MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
DMI_DIR = "/sys/class/dmi/id"

# Placeholders firmware vendors leave in DMI fields; reporting them as facts would be misleading.
_DMI_JUNK = frozenset(
    {
        "", "none", "n/a", "na", "not specified", "not applicable", "not available", "default string",
        "to be filled by o.e.m.", "to be filled by oem", "system product name", "system manufacturer",
        "system serial number", "0123456789", "o.e.m.", "oem", "unknown", "123456789", "invalid",
    }
)  # fmt: skip


def _clip(text: str | None, limit: int = 256) -> str | None:
    return None if text is None else text[:limit]


def _read_text(path: str) -> str | None:
    """File content stripped, or None when missing, unreadable (e.g. root-only) or not text."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(65536).strip()
    except OSError:  # includes PermissionError: product_serial is root-only
        return None


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5) `KEY=value` lines (shell-style quoting) into a dict; bad lines are ignored."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if key.strip().isidentifier():
            result[key.strip()] = value
    return result


def parse_cpuinfo_model(text: str) -> str | None:
    """CPU model from /proc/cpuinfo: `model name` (x86), else `Hardware`/`Model`/`Processor` (ARM)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            fields.setdefault(key.strip().lower(), " ".join(value.split()))
    for key in ("model name", "hardware", "model", "processor", "cpu model", "cpu"):
        found = fields.get(key)
        if found and not found.isdigit():  # x86 "processor : 0" is an index, not a name
            return found
    return None


def _dmi(name: str) -> str | None:
    value = _read_text(os.path.join(DMI_DIR, name))
    if value is None or value.lower() in _DMI_JUNK:
        return None
    return _clip(" ".join(value.split()))


def _windows_machine_guid() -> str | None:
    """HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid, set at Windows install."""
    if sys.platform == "win32":
        import winreg

        try:
            access = winreg.KEY_READ | winreg.KEY_WOW64_64KEY
            with winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography", 0, access
            ) as key:
                value, _ = winreg.QueryValueEx(key, "MachineGuid")
        except OSError:
            return None
        return str(value).strip() or None
    return None


def _windows_hardware() -> dict[str, str | None]:
    """Vendor, model, BIOS version and CPU name from the registry the firmware tables populate."""
    if sys.platform == "win32":
        import winreg

        def read(path: str, name: str) -> str | None:
            try:
                with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:
                    value, _ = winreg.QueryValueEx(key, name)
            except OSError:
                return None
            text = " ".join(str(value).split())
            return None if text.lower() in _DMI_JUNK else _clip(text)

        bios = r"HARDWARE\DESCRIPTION\System\BIOS"
        return {
            "vendor": read(bios, "SystemManufacturer"),
            "model": read(bios, "SystemProductName"),
            "bios_version": read(bios, "BIOSVersion"),
            "cpu_model": read(r"HARDWARE\DESCRIPTION\System\CentralProcessor\0", "ProcessorNameString"),
        }
    return {}


def sha256_hex(data: bytes) -> str:
    """SHA-256 without loading OpenSSL: `hashlib` maps libcrypto (~4 MB RSS) into the agent."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # CPython 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]  # CPython 3.12+
        except ImportError:
            from hashlib import sha256
    return str(sha256(data).hexdigest())


@functools.cache
def machine_id() -> str:
    """The OS's stable machine id; as a last resort a hash of the hostname and MAC addresses.

    The fallback is stable across restarts but changes if the NICs change; set `machine_id` in the
    agent config on machines that have no OS machine id.
    """
    for path in MACHINE_ID_FILES:
        value = _read_text(path)
        if value:
            return value[:128]
    guid = _windows_machine_guid()
    if guid:
        return guid[:128]
    macs = sorted(
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == psutil.AF_LINK and a.address and a.address.strip("0:-")
    )
    digest = sha256_hex("|".join([socket.gethostname(), *macs]).encode())
    return f"derived-{digest[:32]}"


@functools.cache
def os_info() -> dict[str, Any]:
    """A dict matching `OsInfo`."""
    info: dict[str, Any] = {
        "system": _clip(platform.system() or sys.platform),
        "release": _clip(platform.release()),
        "version": _clip(platform.version(), 2048),
        "arch": _clip(platform.machine()),
        "distro_id": None,
        "distro_version": None,
        "pretty_name": None,
    }
    if sys.platform == "win32":
        edition = platform.win32_edition() if hasattr(platform, "win32_edition") else None
        info["distro_id"] = "windows"
        info["distro_version"] = _clip(platform.version())
        info["pretty_name"] = _clip(f"Windows {platform.release()} {edition or ''}".strip())
        return info
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = _read_text(path)
        if text is not None:
            rel = parse_os_release(text)
            info["distro_id"] = _clip(rel.get("ID"))
            info["distro_version"] = _clip(rel.get("VERSION_ID"))
            info["pretty_name"] = _clip(rel.get("PRETTY_NAME"))
            break
    return info


@functools.cache
def hardware_info() -> dict[str, Any]:
    """A dict matching `HardwareInfo`; fields the OS does not expose (or only to root) are None."""
    hw: dict[str, Any]
    if sys.platform == "win32":
        hw = {"serial": None, **_windows_hardware()}
    else:
        cpuinfo = _read_text("/proc/cpuinfo")
        hw = {
            "vendor": _dmi("sys_vendor"),
            "model": _dmi("product_name"),
            "serial": _dmi("product_serial"),  # root-only on most distros: None otherwise
            "bios_version": _dmi("bios_version"),
            "cpu_model": _clip(parse_cpuinfo_model(cpuinfo)) if cpuinfo else None,
        }
    if not hw.get("cpu_model"):
        hw["cpu_model"] = _clip(platform.processor()) or None
    hw["cpu_cores_logical"] = psutil.cpu_count(logical=True)
    hw["cpu_cores_physical"] = psutil.cpu_count(logical=False)
    hw["memory_total_bytes"] = psutil.virtual_memory().total
    return hw


def collect(machine_id_override: str | None = None, hostname_override: str | None = None) -> dict[str, Any]:
    """Return a dict matching `HostIdentity`. Overrides come from the agent config."""
    hostname = hostname_override or socket.gethostname() or "unknown"
    return {
        "machine_id": (machine_id_override or machine_id())[:128],
        "hostname": hostname[:255],
        "os": dict(os_info()),
        "hardware": dict(hardware_info()),
        "boot_time": datetime.fromtimestamp(psutil.boot_time(), tz=UTC).isoformat(),
    }
