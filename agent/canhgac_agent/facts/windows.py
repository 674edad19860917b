"""The Windows side of fact collection (parser-tested here; it only runs on Windows): `WindowsHost`,
what every Windows reader reads through.

PowerShell starts slowly on old PCs (seconds of CPU), so everything that needs it runs in **one**
invocation (`POWERSHELL_SCRIPT`) that prints one JSON object, each part in its own try/catch; each
fact takes its part, so a failing part fails only its fact. The cmdlet outputs are converted to JSON
in PowerShell, which keeps them independent of the display language.

`netsh`, `w32tm` and `net` print localised text on non-English Windows. Their parsers therefore key
on layout (section order, line position, numeric values) where they can, and treat non-numeric
values by position (e.g. "Never"/"Không bao giờ" as no limit); English wording is not required.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

from canhgac_agent.facts.common import as_list, clip, listening_ports, parse_powershell_bundle, run_command

if TYPE_CHECKING:
    from canhgac_agent.config import EgressConfig

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
try { $out.services = @(Get-Service -ErrorAction SilentlyContinue |
  Select-Object Name,@{n='Status';e={"$($_.Status)"}}) } catch { $err.services = "$_" }
try { $out.mde = (Reg 'HKLM:\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status').OnboardingState
} catch { $err.mde = "$_" }
try { $out.battery = @(Get-CimInstance Win32_Battery | Select-Object Name,BatteryStatus)
} catch { $err.battery = "$_" }
try { $out.wbsummary = Get-WBSummary |
  Select-Object LastSuccessfulBackupTime,LastBackupTime,LastBackupResultHR,NextBackupTime
} catch { $err.wbsummary = "$_" }
try { $out.wbevent = @(Get-WinEvent -FilterHashtable @{LogName='Microsoft-Windows-Backup';Id=4} -MaxEvents 1 |
  Select-Object TimeCreated) } catch { $err.wbevent = "$_" }
try { $out.veeam = @(Get-WinEvent -FilterHashtable @{LogName='Veeam Agent';Id=190} -MaxEvents 20 |
  Select-Object TimeCreated,Message) } catch { $err.veeam = "$_" }
$out.errors = $err
$out | ConvertTo-Json -Depth 4 -Compress
"""


def parse_services(value: Any) -> dict[str, str]:
    """{service name (lower-case): status ("Running", "Stopped"…)} from the bundle's `services` part."""
    services: dict[str, str] = {}
    for item in as_list(value)[:4096]:
        if isinstance(item, dict) and isinstance(item.get("Name"), str):
            services[item["Name"].lower()] = str(item.get("Status") or "")
    return services


class WindowsHost:
    """What the Windows fact readers read, shared by all of them during one collection: the PowerShell
    bundle runs once (`powershell`), the listening sockets are read once."""

    platform: Literal["windows"] = "windows"
    egress: EgressConfig | None = None
    _bundle: dict[str, Any] | None = None
    _ports: list[dict[str, Any]] | None = None

    def __init__(self, egress: EgressConfig | None = None) -> None:
        self.egress = egress  # the agent config's outbound test settings (None: no test)
        if sys.platform != "win32":
            raise RuntimeError("WindowsHost runs only on Windows")

    def powershell(self, part: str) -> Any:
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

    def services(self) -> dict[str, str]:
        """The Windows services by lower-case name, with their status (one listing per collection)."""
        return parse_services(self.powershell("services"))

    def powershell_value(self, key: str) -> Any:
        """A value the bundle carries beside its parts (e.g. `systemdrive`), once a part was read."""
        return (self._bundle or {}).get(key)

    def command(self, argv: list[str]) -> str:
        """The standard output of `argv`; RuntimeError when the command does not exist."""
        res = run_command(argv)
        if res is None:
            raise RuntimeError(f"{argv[0]} not found")
        return res.stdout

    def listening_ports(self) -> list[dict[str, Any]]:
        """The listening sockets, read once per collection."""
        if self._ports is None:
            self._ports = listening_ports()
        return self._ports
