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
- disk_encryption: `Win32_EncryptableVolume` → `parse_bitlocker`; audit_logging: `auditpol` by subcategory
  GUID, the ProcessCreationIncludeCmdLine_Enabled policy, EventLog/Sysmon services → `parse_audit_bundle`;
  log_forwarding: Windows Event Forwarding SubscriptionManager policy → `parse_wef` (+ shipper
  processes); autologin: Winlogon `AutoAdminLogon` → `parse_winlogon`; domain: `Win32_ComputerSystem`
  → `parse_computer_system`; package_sources: `WUServer`/`UseWUServer` policy → `parse_wsus`;
  dns_resolvers: `Get-DnsClientServerAddress` → `parse_dns_client`; exploit_protection:
  `Get-ProcessMitigation -System` → `parse_mitigation`; software: the machine-wide Uninstall registry
  keys (64- and 32-bit views) → `parse_uninstall`; removable_media and screen_lock: the Explorer,
  System and screen-saver machine policies → `parse_session_policy` (all in the PowerShell bundle)
- wireless: `netsh wlan show interfaces` → `parse_netsh_wlan`
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

import ipaddress
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
    software_inventory,
    ssh_running,
    to_int,
    wifi_connection,
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
        entry: dict[str, Any] = {
            "name": clip(name),
            "uid": rid,
            "groups": ["Administrators"] if is_admin else [],
            "is_admin": is_admin,
            "has_password": None if "PasswordLastSet" not in user else last_set is not None,
            "locked": (not enabled) if isinstance(enabled, bool) else None,
            "shell": None,
        }
        if "LastLogon" in user:  # absent from older agents' script: unknown, not "never"
            entry["last_login"] = parse_ps_date(user["LastLogon"])
            entry["never_logged_in"] = entry["last_login"] is None
        accounts.append(entry)
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
  LastLogon,@{n='SID';e={$_.SID.Value}}) } catch { $err.users = "$_" }
try { $out.wu = (New-Object -ComObject Microsoft.Update.AutoUpdate).Results |
  Select-Object LastSearchSuccessDate,LastInstallationSuccessDate } catch { $err.wu = "$_" }
$pol = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows'
function Reg($path) { Get-ItemProperty -Path $path -ErrorAction SilentlyContinue }
try { $out.bitlocker = @(Get-CimInstance -Namespace root/cimv2/Security/MicrosoftVolumeEncryption `
  -ClassName Win32_EncryptableVolume | Select-Object DriveLetter,ProtectionStatus,VolumeType)
  $out.systemdrive = $env:SystemDrive } catch { $err.bitlocker = "$_" }
try { $out.audit = @{
  process = @(auditpol /get /subcategory:'{0CCE922B-69AE-11D9-BED3-505054503030}' /r | ConvertFrom-Csv)
  logon = @(auditpol /get /subcategory:'{0CCE9215-69AE-11D9-BED3-505054503030}' /r | ConvertFrom-Csv)
  cmdline = (Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\Audit').
    ProcessCreationIncludeCmdLine_Enabled
  eventlog = (Get-Service EventLog).Status.ToString()
  sysmon = @(Get-Service -Name 'Sysmon*' -ErrorAction SilentlyContinue |
    ForEach-Object { $_.Status.ToString() })
  security_log_bytes = (Get-WinEvent -ListLog Security).MaximumSizeInBytes } } catch { $err.audit = "$_" }
try { $out.wef = @((Reg "$pol\EventLog\EventForwarding\SubscriptionManager").PSObject.Properties |
  Where-Object { $_.Name -notlike 'PS*' } | ForEach-Object { "$($_.Value)" }) } catch { $err.wef = "$_" }
try { $wl = Reg 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon'
  $out.winlogon = @{ AutoAdminLogon = "$($wl.AutoAdminLogon)"; DefaultUserName = "$($wl.DefaultUserName)" }
} catch { $err.winlogon = "$_" }
try { $out.computer = Get-CimInstance Win32_ComputerSystem | Select-Object PartOfDomain,Domain
} catch { $err.computer = "$_" }
try { $out.wsus = @{ WUServer = (Reg "$pol\WindowsUpdate").WUServer
  UseWUServer = (Reg "$pol\WindowsUpdate\AU").UseWUServer } } catch { $err.wsus = "$_" }
try { $out.dns = @(Get-DnsClientServerAddress | Where-Object { $_.ServerAddresses } |
  Select-Object InterfaceAlias,@{n='Servers';e={@($_.ServerAddresses)}}) } catch { $err.dns = "$_" }
try { $m = Get-ProcessMitigation -System
  $out.mitigation = @{ DEP = "$($m.DEP.Enable)"; BottomUp = "$($m.ASLR.BottomUp)"
    ForceRelocateImages = "$($m.ASLR.ForceRelocateImages)"; CFG = "$($m.CFG.Enable)" }
} catch { $err.mitigation = "$_" }
try { $keys = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
    'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
  $out.software = @(Get-ItemProperty $keys -ErrorAction SilentlyContinue |
    Where-Object { $_.DisplayName -and -not $_.SystemComponent } |
    Select-Object DisplayName,DisplayVersion,Publisher) } catch { $err.software = "$_" }
try { $sys = Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
  $exp = Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
  $ss = Reg "$pol\Control Panel\Desktop"
  $out.session = @{ InactivityTimeoutSecs = $sys.InactivityTimeoutSecs
    NoDriveTypeAutoRun = $exp.NoDriveTypeAutoRun; NoAutorun = $exp.NoAutorun
    ScreenSaveActive = $ss.ScreenSaveActive; ScreenSaverIsSecure = $ss.ScreenSaverIsSecure
    ScreenSaveTimeOut = $ss.ScreenSaveTimeOut } } catch { $err.session = "$_" }
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


# --- disk encryption, audit, log forwarding, autologin, domain, update source ----------------------

# All from registry values, CIM properties and service states in the PowerShell bundle: numbers and
# GUID-addressed settings, not display text, so they do not depend on the display language.


def parse_bitlocker(volumes: Any, system_drive: Any) -> dict[str, Any]:
    """`DiskEncryption` from Win32_EncryptableVolume (DriveLetter, ProtectionStatus 0 off / 1 on /
    2 unknown (locked), VolumeType 0 = OS volume). Needs administrator rights (the agent's service)."""
    filesystems: list[dict[str, Any]] = []
    root: bool | None = None
    for volume in _as_list(volumes):
        if not isinstance(volume, dict):
            continue
        letter = volume.get("DriveLetter") if isinstance(volume.get("DriveLetter"), str) else None
        status = volume.get("ProtectionStatus")
        encrypted = status == 1 if status in (0, 1) else None
        filesystems.append(
            {"mountpoint": clip(letter or "?"), "device": clip(letter or "?"), "fstype": "ntfs",
             "encrypted": encrypted}
        )  # fmt: skip
        is_system = volume.get("VolumeType") == 0 or (
            isinstance(system_drive, str) and letter is not None and letter.upper() == system_drive.upper()
        )
        if is_system:
            root = encrypted
    detail = None if filesystems else "Win32_EncryptableVolume listed no volume (BitLocker not available)"
    return {
        "root_encrypted": root if filesystems else None,
        "filesystems": filesystems[:512],
        "detail": detail,
    }


def _audited(rows: Any, what: str) -> bool | None:
    """Whether an `auditpol /get /subcategory:{GUID} /r` row audits `what` (Success/Failure).

    The 'Inclusion Setting' text is in the display language: English is recognised, anything else
    is unknown (None) rather than guessed."""
    for row in _as_list(rows):
        if isinstance(row, dict) and isinstance(row.get("Inclusion Setting"), str):
            text = row["Inclusion Setting"].lower()
            if "success" in text or "failure" in text or "no auditing" in text:
                return what.lower() in text
            return None
    return None


def parse_audit_bundle(audit: Any) -> dict[str, Any]:
    """`AuditLogging` on Windows: EventLog running; process creation audited with the command line
    (ProcessCreationIncludeCmdLine_Enabled = 1), or Sysmon running; logon success+failure audited;
    the Security log has a size (event logs are files on disk: persistent)."""
    if not isinstance(audit, dict):
        return {"audit_service": "eventlog", "audit_running": None, "process_audit": None}
    sysmon = any(s == "Running" for s in _as_list(audit.get("sysmon")))
    eventlog = audit.get("eventlog")
    creation = _audited(audit.get("process"), "success")
    cmdline = audit.get("cmdline") == 1
    process = True if sysmon else (None if creation is None else creation and cmdline)
    logon = [_audited(audit.get("logon"), w) for w in ("success", "failure")]
    size = audit.get("security_log_bytes")
    return {
        "audit_service": "eventlog",
        "audit_running": (eventlog == "Running") if isinstance(eventlog, str) else None,
        "process_audit": process,
        "persistent_logs": (size > 0) if isinstance(size, int) and not isinstance(size, bool) else None,
        "logon_audit": None if None in logon else all(logon),
        "detail": clip(f"logon audit success/failure={logon}, Security log max bytes={size}, "
                       f"cmdline={cmdline}, sysmon={sysmon}", 2048),
    }  # fmt: skip


def parse_wef(subscriptions: Any) -> dict[str, Any]:
    """`LogForwarding` from the Windows Event Forwarding SubscriptionManager policy values
    (`Server=http://wec.tinh.gov.vn:5985/wsman/SubscriptionManager/WEC,Refresh=60`)."""
    targets = []
    for value in _as_list(subscriptions):
        if isinstance(value, str):
            match = re.search(r"Server=([^,]+)", value, re.IGNORECASE)
            if match:
                targets.append({"daemon": "wef", "target": clip(match.group(1)), "file": "policy"})
    return {
        "running": ["wef"] if targets else [],
        "remote_targets": targets[:64],
        "forwarding": bool(targets),
    }


def parse_winlogon(winlogon: Any) -> dict[str, Any]:
    """`Autologin` from Winlogon AutoAdminLogon ("1" = on) and DefaultUserName."""
    if not isinstance(winlogon, dict):
        return {"enabled": None, "entries": []}
    if str(winlogon.get("AutoAdminLogon", "")).strip() != "1":
        return {"enabled": False, "entries": []}
    user = winlogon.get("DefaultUserName")
    return {"enabled": True, "entries": [{"source": "winlogon", "user": clip(user) if user else None}]}


def parse_computer_system(computer: Any) -> dict[str, Any]:
    """`DomainMembership` from Win32_ComputerSystem PartOfDomain/Domain (workgroup name when not)."""
    if not isinstance(computer, dict) or not isinstance(computer.get("PartOfDomain"), bool):
        return {"joined": None, "domain": None, "method": None}
    joined = computer["PartOfDomain"]
    domain = computer.get("Domain") if joined and isinstance(computer.get("Domain"), str) else None
    return {
        "joined": joined,
        "domain": clip(domain) if domain else None,
        "method": "windows" if joined else None,
    }


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


# --- the provider ---------------------------------------------------------------------------------


# Site-local placeholders Windows lists on interfaces without a configured IPv6 DNS server: never queried.
_DNS_PLACEHOLDERS = frozenset({"fec0:0:0:ffff::1", "fec0:0:0:ffff::2", "fec0:0:0:ffff::3"})


def parse_dns_client(rows: Any) -> dict[str, Any]:
    """`DnsResolvers` from Get-DnsClientServerAddress JSON rows (InterfaceAlias, Servers); addresses
    that are not IP addresses and Windows' fec0:0:0:ffff::N placeholders are dropped."""
    servers: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None]] = set()
    for row in _as_list(rows):
        if not isinstance(row, dict):
            continue
        alias = row.get("InterfaceAlias")
        interface = clip(alias) if isinstance(alias, str) and alias else None
        for address in _as_list(row.get("Servers")):
            if not isinstance(address, str) or address.lower() in _DNS_PLACEHOLDERS:
                continue
            try:
                ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                continue
            if (address, interface) not in seen:
                seen.add((address, interface))
                servers.append({"address": clip(address), "interface": interface, "source": None})
    return {"servers": servers[:64], "stub": None, "detail": None if servers else "no DNS server configured"}


# Get-ProcessMitigation's OPTIONVALUE: NOTSET leaves the OS default, which is on for DEP, bottom-up ASLR and
# CFG on the Windows versions the agent supports. Enum names as strings; numbers if an older script sent them.
_MITIGATION = {"ON": "on", "OFF": "off", "NOTSET": "on", "1": "on", "2": "off", "0": "on"}


def parse_mitigation(values: Any) -> dict[str, Any]:
    """`ExploitProtection` from the script's {DEP, BottomUp, ForceRelocateImages, CFG} strings."""
    if not isinstance(values, dict):
        raise ValueError(f"Get-ProcessMitigation gave {type(values).__name__}, not an object")

    def state(key: str) -> str:
        return _MITIGATION.get(str(values.get(key, "")).strip().upper(), "unknown")

    bottom_up = state("BottomUp")
    aslr = "full" if bottom_up == "on" else bottom_up
    unknown = [k for k in ("DEP", "BottomUp", "CFG") if state(k) == "unknown"]
    detail = f"unrecognised value for {', '.join(unknown)}" if unknown else None
    return {"aslr": aslr, "dep": state("DEP"), "cfg": state("CFG"), "detail": detail}


def parse_uninstall(rows: Any) -> dict[str, Any]:
    """`SoftwareInventory` from the Uninstall keys' {DisplayName, DisplayVersion, Publisher} rows."""
    packages: list[dict[str, Any]] = []
    for row in _as_list(rows):
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


def _policy_int(policy: dict[str, Any], name: str) -> int | None:
    """A registry policy value as an int (REG_DWORD arrives as a number, REG_SZ values as text)."""
    value = policy.get(name)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    return to_int(str(value))


def parse_session_policy(policy: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`RemovableMedia`, `ScreenLock`) from the script's machine policy values (missing: not set)."""
    if not isinstance(policy, dict):
        raise ValueError(f"the session policies gave {type(policy).__name__}, not an object")
    autorun = {n: str(policy[n]) for n in ("NoDriveTypeAutoRun", "NoAutorun") if policy.get(n) is not None}
    no_drive = _policy_int(policy, "NoDriveTypeAutoRun")
    removable = {
        "desktop": True,
        # 255 (0xFF): no drive type autoruns; NoAutorun=1: autorun.inf is never executed
        "autorun_disabled": no_drive is not None
        and no_drive & 0xFF == 0xFF
        and _policy_int(policy, "NoAutorun") == 1,
        "settings": autorun,
        "detail": None if autorun else "no autorun policy set (Windows' default autoplays)",
    }
    lock_names = ("InactivityTimeoutSecs", "ScreenSaveActive", "ScreenSaverIsSecure", "ScreenSaveTimeOut")
    lock = {n: str(policy[n]) for n in lock_names if policy.get(n) is not None}
    limits = []
    inactivity = _policy_int(policy, "InactivityTimeoutSecs")
    if inactivity:
        limits.append(inactivity)
    timeout = _policy_int(policy, "ScreenSaveTimeOut")
    if (
        _policy_int(policy, "ScreenSaveActive") == 1
        and _policy_int(policy, "ScreenSaverIsSecure") == 1
        and timeout
    ):
        limits.append(timeout)
    screen = {
        "desktop": True,
        "lock_after_s": min(limits) if limits else None,
        "settings": lock,
        "detail": None if lock else "no inactivity or screen-saver policy set",
    }
    return removable, screen


# netsh labels are localised; the SSID label and the authentication values are not.
_WLAN_AUTH = re.compile(r"(?i)^(open|shared|owe|wpa\d?(-personal|-enterprise|-psk)?\b.*)$")


def parse_netsh_wlan(text: str) -> dict[str, Any]:
    """`Wireless` from `netsh wlan show interfaces`: per interface block, the SSID line and the first line
    whose value is an authentication name (the cipher follows it; WEP shows as Open/Shared + WEP)."""
    connections = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    for block in blocks:
        pairs = [
            (k.strip(), v.strip())
            for k, sep, v in (line.partition(":") for line in block.splitlines())
            if sep
        ]
        ssid = next((v for k, v in pairs if k == "SSID"), None)
        if ssid is None:
            continue  # not connected
        auth_at = next((i for i, (_k, v) in enumerate(pairs) if _WLAN_AUTH.match(v)), None)
        auth = pairs[auth_at][1] if auth_at is not None else None
        cipher = pairs[auth_at + 1][1] if auth_at is not None and auth_at + 1 < len(pairs) else ""
        if auth and cipher.upper() == "WEP":
            auth = f"{auth} (WEP)"
        name = pairs[0][1] if pairs else None  # the Name line comes first
        connections.append(wifi_connection(ssid or None, auth, name))
    return {"connected": bool(connections), "connections": connections[:16], "detail": None}


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

    def disk_encryption(self) -> dict[str, Any] | None:
        volumes = self._ps("bitlocker")
        return parse_bitlocker(volumes, (self._bundle or {}).get("systemdrive"))

    def audit_logging(self) -> dict[str, Any] | None:
        return parse_audit_bundle(self._ps("audit"))

    def log_forwarding(self) -> dict[str, Any] | None:
        forwarding = parse_wef(self._ps("wef"))
        shippers = {"winlogbeat.exe", "nxlog.exe", "splunkd.exe", "wazuh-agent.exe", "fluent-bit.exe"}
        running = sorted(shippers & process_names())
        forwarding["running"] += [clip(r) for r in running]
        forwarding["forwarding"] = forwarding["forwarding"] or bool(running)
        return forwarding

    def autologin(self) -> dict[str, Any] | None:
        return parse_winlogon(self._ps("winlogon"))

    def domain(self) -> dict[str, Any] | None:
        return parse_computer_system(self._ps("computer"))

    def package_sources(self) -> dict[str, Any] | None:
        return parse_wsus(self._ps("wsus"))

    def dns_resolvers(self) -> dict[str, Any] | None:
        return parse_dns_client(self._ps("dns"))

    def exploit_protection(self) -> dict[str, Any] | None:
        return parse_mitigation(self._ps("mitigation"))

    def software(self) -> dict[str, Any] | None:
        return parse_uninstall(self._ps("software"))

    def removable_media(self) -> dict[str, Any] | None:
        return parse_session_policy(self._ps("session"))[0]

    def screen_lock(self) -> dict[str, Any] | None:
        return parse_session_policy(self._ps("session"))[1]

    def wireless(self) -> dict[str, Any] | None:
        res = run_command(["netsh", "wlan", "show", "interfaces"])
        if res is None:
            raise RuntimeError("netsh not found")
        if res.returncode != 0:  # no WLAN AutoConfig service: a PC without Wi-Fi
            return {
                "connected": False,
                "connections": [],
                "detail": clip(res.stdout.strip() or res.stderr.strip(), 2048),
            }
        return parse_netsh_wlan(res.stdout)
