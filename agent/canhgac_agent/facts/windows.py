"""Windows security facts provider (designed and parser-tested; it only runs on Windows).

Commands, each with a pure parser over its text output:

- firewall: `netsh advfirewall show allprofiles` → `parse_netsh_allprofiles`
- time_sync: `w32tm /query /status /verbose` → `parse_w32tm_status`
- password_policy: `net accounts` → `parse_net_accounts`
- accounts: `net localgroup Administrators` → `parse_net_localgroup`, with PowerShell `Get-LocalUser`
  → `parse_local_users`
- anti_malware: PowerShell `Get-MpComputerStatus` → `parse_defender_status`, SecurityCenter2
  `AntiVirusProduct` (third-party antivirus on client Windows) → `parse_av_products`
- updates: PowerShell `Microsoft.Update.AutoUpdate` results → `parse_update_results`
- listening_ports: psutil, shared with Linux; ssh_server: `%ProgramData%\\ssh\\sshd_config` (Windows
  OpenSSH) → `parse_sshd_config`

PowerShell starts slowly on old PCs (seconds of CPU), so everything that needs it runs in **one**
invocation (`POWERSHELL_SCRIPT`) that prints one JSON object, each part in its own try/catch; each
fact takes its part, so a failing part fails only its fact. The cmdlet outputs are converted to JSON
in PowerShell, which keeps them independent of the display language.

`netsh`, `w32tm` and `net` print localised text on non-English Windows. Their parsers therefore key
on layout (section order, line position, numeric values) where they can, and treat non-numeric
values by position (e.g. "Never"/"Không bao giờ" as no limit); English wording is not required.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from canhgac_agent.facts.common import (
    clip,
    default_include_reader,
    listening_ports,
    parse_sshd_config,
    process_names,
    read_text,
    run_command,
    ssh_running,
    to_int,
)

# --- firewall -------------------------------------------------------------------------------------


def parse_netsh_allprofiles(text: str) -> list[dict[str, Any]]:
    """Profiles from `netsh advfirewall show allprofiles`: [{"profile", "on", "inbound"}].

    Each section is a header line ending in ':', a dashed rule, then `Name  Value` lines; the first is
    the state (ON/OFF), the second the policy (`BlockInbound,AllowOutbound`). `on` is None when the
    state value is not ON/OFF (localised output); `inbound` is "block"/"allow" or None.
    """
    lines = text.splitlines()
    profiles: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line.strip().startswith("-----") or i == 0:
            continue
        header = lines[i - 1].strip().rstrip(":").strip()
        body = [ln.split() for ln in lines[i + 1 : i + 3] if ln.strip()]
        if len(body) < 1:
            continue
        state = body[0][-1].upper() if body[0] else ""
        policy = body[1][-1] if len(body) > 1 and body[1] else ""
        inbound = None
        match = re.search(r"(Block|Allow)Inbound", policy, re.IGNORECASE)
        if match:
            inbound = match.group(1).lower()
        profiles.append(
            {
                "profile": clip(header.replace(" Profile Settings", "").replace(" Settings", "")),
                "on": True if state == "ON" else False if state == "OFF" else None,
                "inbound": inbound,
            }
        )
    return profiles


def firewall_from_profiles(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """`FirewallState`: enabled only when every profile is on; the most permissive inbound policy."""
    if not profiles:
        return {"backend": "windows", "enabled": None, "detail": "netsh output not understood"}
    states = [p["on"] for p in profiles]
    enabled = None if None in states else all(states)
    inbound = {p["inbound"] for p in profiles}
    policy = "allow" if "allow" in inbound else "block" if inbound == {"block"} else None
    detail = ", ".join(
        f"{p['profile']}={'ON' if p['on'] else 'OFF' if p['on'] is False else '?'}({p['inbound'] or '?'})"
        for p in profiles
    )
    return {
        "backend": "windows",
        "enabled": enabled,
        "default_input_policy": policy,
        "detail": clip(detail, 2048),
    }


# --- time -----------------------------------------------------------------------------------------


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


# --- password policy ------------------------------------------------------------------------------

# `net accounts` prints its values in this fixed order in every language.
_NET_ACCOUNTS_ORDER = (
    "force_logoff",
    "min_days",
    "max_days",
    "min_length",
    "remember",
    "lockout_attempts",
    "lockout_minutes",
    "lockout_window",
)


def parse_net_accounts(text: str) -> dict[str, Any]:
    """`PasswordPolicy` from `net accounts`, by line position (labels are localised).

    Non-numeric values mean "no limit": max age → -1 (never expires, as in shadow(5)), history → 0,
    lockout threshold → 0 (no lockout). Garbage yields None fields.
    """
    values: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and value.strip():
            values.append(value.strip())
    fields = dict(zip(_NET_ACCOUNTS_ORDER, values, strict=False))
    policy: dict[str, Any] = {
        "max_days": None,
        "min_days": None,
        "warn_days": None,
        "min_length": None,
        "min_classes": None,
        "remember": None,
        "lockout_attempts": None,
        "lockout_seconds": None,
        "source": "net accounts",
    }
    if len(values) < len(_NET_ACCOUNTS_ORDER):
        policy["source"] = None
        return policy
    policy["min_days"] = to_int(fields["min_days"], minimum=0)
    policy["max_days"] = to_int(fields["max_days"], minimum=0)
    if policy["max_days"] is None:
        policy["max_days"] = -1
    policy["min_length"] = to_int(fields["min_length"], minimum=0)
    policy["remember"] = to_int(fields["remember"], minimum=0) or 0
    policy["lockout_attempts"] = to_int(fields["lockout_attempts"], minimum=0) or 0
    minutes = to_int(fields["lockout_minutes"], minimum=0)
    policy["lockout_seconds"] = None if minutes is None else minutes * 60
    return policy


# --- accounts -------------------------------------------------------------------------------------


def parse_net_localgroup(text: str) -> list[str]:
    """Members listed by `net localgroup <group>`: the lines between the dashed rule and the closing
    "command completed successfully." sentence (localised, so recognised by its final period)."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip().startswith("-----")), None)
    if start is None:
        return []
    members = [ln.strip() for ln in lines[start + 1 :] if ln.strip()]
    if members and members[-1].endswith(".") and " " in members[-1]:
        members.pop()
    return [clip(m) for m in members]


def _as_list(value: Any) -> list[Any]:
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
            return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).isoformat()
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.year < 1980:  # 1601/1899 "never" sentinels
        return None
    return (parsed if parsed.tzinfo else parsed.astimezone()).isoformat()


def parse_local_users(users_json: Any, admins: list[str]) -> list[dict[str, Any]]:
    """`LocalAccount` dicts from `Get-LocalUser` JSON (Name, Enabled, PasswordRequired,
    PasswordLastSet, SID) plus the Administrators members that are not local users (domain groups).
    uid is the account's RID (500 = built-in Administrator)."""
    admin_names = {a.lower().rsplit("\\", 1)[-1] for a in admins}
    accounts: list[dict[str, Any]] = []
    local_names = set()
    for user in _as_list(users_json):
        if not isinstance(user, dict) or not isinstance(user.get("Name"), str):
            continue
        name = user["Name"]
        local_names.add(name.lower())
        sid = user.get("SID")
        rid = to_int(sid.rsplit("-", 1)[-1]) if isinstance(sid, str) and "-" in sid else None
        enabled = user.get("Enabled")
        is_admin = name.lower() in admin_names
        last_set = user.get("PasswordLastSet")
        accounts.append(
            {
                "name": clip(name),
                "uid": rid,
                "groups": ["Administrators"] if is_admin else [],
                "is_admin": is_admin,
                "has_password": None if "PasswordLastSet" not in user else last_set is not None,
                "locked": (not enabled) if isinstance(enabled, bool) else None,
                "shell": None,
            }
        )
    for admin in admins:
        if "\\" in admin and admin.rsplit("\\", 1)[-1].lower() not in local_names:
            accounts.append(
                {"name": clip(admin), "uid": None, "groups": ["Administrators"], "is_admin": True}
            )
    return accounts[:4096]


# --- anti-malware and updates ---------------------------------------------------------------------


def parse_defender_status(status: Any) -> dict[str, Any] | None:
    """`AntiMalware` for Microsoft Defender from `Get-MpComputerStatus` JSON, or None if absent.
    Defender in passive mode (another antivirus is primary) is installed but not running."""
    if not isinstance(status, dict):
        return None
    service = status.get("AMServiceEnabled")
    antivirus = status.get("AntivirusEnabled")
    running = None
    if isinstance(service, bool) and isinstance(antivirus, bool):
        running = service and antivirus
    version = status.get("AMProductVersion")
    return {
        "name": "Microsoft Defender Antivirus",
        "installed": True,
        "running": running,
        "version": clip(version) if isinstance(version, str) else None,
        "signatures_updated": parse_ps_date(status.get("AntivirusSignatureLastUpdated")),
    }


def parse_av_products(products: Any) -> list[dict[str, Any]]:
    """`AntiMalware` entries from SecurityCenter2 `AntiVirusProduct` JSON (client Windows only).

    productState is a bit field: bits 12-15 == 1 mean real-time protection on.
    """
    result = []
    for product in _as_list(products):
        if not isinstance(product, dict) or not isinstance(product.get("displayName"), str):
            continue
        state = product.get("productState")
        running = bool((state >> 12) & 0xF == 1) if isinstance(state, int) else None
        result.append({"name": clip(product["displayName"]), "installed": True, "running": running})
    return result


def parse_update_results(results: Any) -> dict[str, Any]:
    """`PendingUpdates` from `Microsoft.Update.AutoUpdate` Results JSON: when Windows Update last
    searched successfully. Counting pending updates needs a search that takes minutes, so totals are
    None."""
    last = parse_ps_date(results.get("LastSearchSuccessDate")) if isinstance(results, dict) else None
    return {"manager": "windows-update", "total": None, "security": None, "last_refresh": last}


POWERSHELL_SCRIPT = r"""
$ErrorActionPreference = 'Stop'
$out = @{}
$err = @{}
try { $out.defender = Get-MpComputerStatus | Select-Object AMServiceEnabled,AntivirusEnabled,
  RealTimeProtectionEnabled,AMProductVersion,AntivirusSignatureLastUpdated } catch { $err.defender = "$_" }
try { $out.av = @(Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct |
  Select-Object displayName,productState) } catch { $err.av = "$_" }
try { $out.users = @(Get-LocalUser | Select-Object Name,Enabled,PasswordRequired,PasswordLastSet,
  @{n='SID';e={$_.SID.Value}}) } catch { $err.users = "$_" }
try { $out.wu = (New-Object -ComObject Microsoft.Update.AutoUpdate).Results |
  Select-Object LastSearchSuccessDate,LastInstallationSuccessDate } catch { $err.wu = "$_" }
$out.errors = $err
$out | ConvertTo-Json -Depth 4 -Compress
"""


def parse_powershell_bundle(text: str) -> dict[str, Any]:
    """The JSON object `POWERSHELL_SCRIPT` prints; raises ValueError when it is not one."""
    start = text.find("{")
    data = json.loads(text[start:]) if start >= 0 else None
    if not isinstance(data, dict):
        raise ValueError("PowerShell output is not a JSON object")
    return data


# --- the provider ---------------------------------------------------------------------------------


class WindowsProvider:
    """Gathers each `SecurityFacts` field on Windows (see `FactsProvider`)."""

    platform: Literal["windows"] = "windows"
    _bundle: dict[str, Any] | None = None
    _ports: list[dict[str, Any]] | None = None

    def __init__(self) -> None:
        if sys.platform != "win32":
            raise RuntimeError("WindowsProvider runs only on Windows")

    def _ps(self, part: str) -> Any:
        """One part of the PowerShell bundle (run once per collection); raises with its error."""
        if self._bundle is None:
            argv = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass"]
            res = run_command([*argv, "-Command", POWERSHELL_SCRIPT])
            if res is None:
                raise RuntimeError("powershell.exe not found")
            self._bundle = parse_powershell_bundle(res.stdout)
        error = (self._bundle.get("errors") or {}).get(part)
        if error:
            raise RuntimeError(clip(str(error), 1000))
        return self._bundle.get(part)

    def _command(self, argv: list[str]) -> str:
        res = run_command(argv)
        if res is None:
            raise RuntimeError(f"{argv[0]} not found")
        return res.stdout

    def listening_ports(self) -> list[dict[str, Any]]:
        if self._ports is None:
            self._ports = listening_ports()
        return self._ports

    def firewall(self) -> dict[str, Any] | None:
        return firewall_from_profiles(
            parse_netsh_allprofiles(self._command(["netsh", "advfirewall", "show", "allprofiles"]))
        )

    def time_sync(self) -> dict[str, Any] | None:
        res = run_command(["w32tm", "/query", "/status", "/verbose"])
        if res is None:
            raise RuntimeError("w32tm not found")
        return parse_w32tm_status(res.stdout + res.stderr)

    def ssh_server(self) -> dict[str, Any] | None:
        program_data = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        config_path = os.path.join(program_data, "ssh", "sshd_config")
        text = read_text(config_path)
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        binary = os.path.join(system_root, "System32", "OpenSSH", "sshd.exe")
        settings = (
            parse_sshd_config(text, default_include_reader(os.path.dirname(config_path))) if text else {}
        )
        running = ssh_running(process_names(), self.listening_ports(), settings)
        installed = text is not None or os.path.exists(binary) or running
        return {"installed": installed, "running": running, "settings": settings}

    def updates(self) -> dict[str, Any] | None:
        return parse_update_results(self._ps("wu"))

    def password_policy(self) -> dict[str, Any] | None:
        return parse_net_accounts(self._command(["net", "accounts"]))

    def accounts(self) -> list[dict[str, Any]]:
        admins = parse_net_localgroup(self._command(["net", "localgroup", "Administrators"]))
        return parse_local_users(self._ps("users"), admins)

    def anti_malware(self) -> list[dict[str, Any]]:
        # Get-MpComputerStatus fails when Defender is removed or replaced, and SecurityCenter2 does not
        # exist on Windows Server: either failing alone is a normal answer ("not there").
        found: list[dict[str, Any]] = []
        failures: list[str] = []
        defender = None
        try:
            defender = parse_defender_status(self._ps("defender"))
        except RuntimeError as exc:
            failures.append(f"Get-MpComputerStatus: {exc}")
        if defender is not None:
            found.append(defender)
        try:
            products = parse_av_products(self._ps("av"))
        except RuntimeError as exc:
            failures.append(f"SecurityCenter2: {exc}")
            products = []
        for product in products:
            if defender is None or "defender" not in product["name"].lower():
                found.append(product)
        if len(failures) == 2:
            raise RuntimeError("; ".join(failures))
        return found[:64]
