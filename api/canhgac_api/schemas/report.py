"""The agent report, version 1: the wire contract between `canhgac-agent` and the ingest API.

Validation is strict on purpose: unknown keys are rejected, every string and list is bounded, numbers
are range-checked, timestamps must carry a timezone. A report that fails is rejected whole with a problem
detail naming the field, so nothing partial is ever stored. `docs/protocol.md` describes the exchange.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from canhgac_api.schemas.report_base import (
    NO_CONTROL,
    SEQ_MAX,
    Celsius,
    Count,
    Int,
    IpAddress,
    Load,
    MacAddress,
    Millis,
    Name,
    Percent,
    Ratio,
    Seconds,
    Strict,
    Text,
    Timestamp,
)
from canhgac_api.schemas.report_snmp import SnmpSection

# --- identity -------------------------------------------------------------------------------------


class OsInfo(Strict):
    system: Name  # platform.system(): "Linux", "Windows"
    release: Name
    version: Text
    arch: Name
    distro_id: Name | None = None  # os-release ID, e.g. "debian"
    distro_version: Name | None = None
    pretty_name: Name | None = None


class HardwareInfo(Strict):
    vendor: Name | None = None
    model: Name | None = None
    serial: Name | None = None
    bios_version: Name | None = None
    cpu_model: Name | None = None
    cpu_cores_logical: Count | None = None
    cpu_cores_physical: Count | None = None
    memory_total_bytes: Count | None = None


class HostIdentity(Strict):
    machine_id: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_CONTROL)]
    hostname: Annotated[str, Field(min_length=1, max_length=255, pattern=NO_CONTROL)]
    os: OsInfo
    hardware: HardwareInfo
    boot_time: Timestamp | None = None


# --- metrics --------------------------------------------------------------------------------------


class CpuMetrics(Strict):
    percent: Percent
    count_logical: Count
    load_1m: Load | None = None
    load_5m: Load | None = None
    load_15m: Load | None = None
    iowait_percent: Percent | None = None


class MemoryMetrics(Strict):
    total_bytes: Count
    available_bytes: Count
    used_bytes: Count
    percent: Percent
    swap_total_bytes: Count
    swap_used_bytes: Count
    swap_percent: Percent


class Filesystem(Strict):
    mountpoint: Text
    device: Text
    fstype: Name
    total_bytes: Count
    used_bytes: Count
    free_bytes: Count
    percent: Percent
    inodes_total: Count | None = None
    inodes_used: Count | None = None


class DiskIO(Strict):
    """Cumulative counters since boot; rates are derived server-side."""

    device: Name
    read_bytes: Count
    write_bytes: Count
    read_count: Count
    write_count: Count
    busy_time_ms: Count | None = None


class NetAddress(Strict):
    family: Literal["ipv4", "ipv6", "mac"]
    address: Name
    netmask: Name | None = None


class NetInterface(Strict):
    """One interface with cumulative counters since boot."""

    name: Name
    is_up: bool
    speed_mbps: Count | None = None
    duplex: Literal["full", "half", "unknown"] = "unknown"
    mtu: Count | None = None
    addresses: Annotated[list[NetAddress], Field(max_length=256)] = []
    bytes_sent: Count = 0
    bytes_recv: Count = 0
    packets_sent: Count = 0
    packets_recv: Count = 0
    errin: Count = 0
    errout: Count = 0
    dropin: Count = 0
    dropout: Count = 0


class Temperature(Strict):
    sensor: Name
    label: Name
    current_c: Celsius
    high_c: Celsius | None = None
    critical_c: Celsius | None = None


class Fan(Strict):
    sensor: Name
    label: Name
    rpm: Count


class Battery(Strict):
    percent: Percent
    plugged: bool | None = None
    secs_left: Int | None = None  # None when unknown or unlimited (on AC)


class Sensors(Strict):
    temperatures: Annotated[list[Temperature], Field(max_length=512)] = []
    fans: Annotated[list[Fan], Field(max_length=128)] = []
    battery: Battery | None = None


class Uptime(Strict):
    boot_time: Timestamp
    uptime_s: Seconds


class Metrics(Strict):
    """One section per collector; a section is null when its collector failed (see `errors`)."""

    cpu: CpuMetrics | None = None
    memory: MemoryMetrics | None = None
    filesystems: Annotated[list[Filesystem], Field(max_length=512)] | None = None
    disk_io: Annotated[list[DiskIO], Field(max_length=512)] | None = None
    network: Annotated[list[NetInterface], Field(max_length=512)] | None = None
    sensors: Sensors | None = None
    uptime: Uptime | None = None


# --- connectivity probes --------------------------------------------------------------------------


class ProbeResult(Strict):
    """Reachability and quality of one target over several attempts."""

    name: Name  # the configured target name, e.g. "provincial-dc", or "gateway"
    kind: Literal["gateway", "icmp", "tcp", "http", "dns"]
    target: Text  # host, host:port, URL or DNS name
    method: Literal["icmp", "tcp", "http", "dns"]  # what was actually used (icmp falls back to tcp)
    sent: Count
    received: Count
    loss_ratio: Ratio
    rtt_min_ms: Millis | None = None
    rtt_avg_ms: Millis | None = None
    rtt_max_ms: Millis | None = None
    jitter_ms: Millis | None = None  # mean absolute difference of consecutive RTTs
    ok: bool
    status_code: Annotated[int, Field(ge=100, le=599)] | None = None  # http only
    error: Text | None = None


# --- host security facts (facts, not verdicts) ----------------------------------------------------


class ListeningPort(Strict):
    proto: Literal["tcp", "udp", "tcp6", "udp6"]
    address: Name
    port: Annotated[int, Field(ge=0, le=65535)]
    pid: Count | None = None
    process: Name | None = None


class FirewallState(Strict):
    backend: Literal["nftables", "iptables", "ufw", "firewalld", "windows", "none", "unknown"]
    enabled: bool | None = None  # None: could not be determined (e.g. needs privileges)
    default_input_policy: Name | None = None
    rules_count: Count | None = None
    detail: Text | None = None


class TimeSync(Strict):
    service: Name | None = None  # chrony, systemd-timesyncd, ntpd, w32time
    synchronized: bool | None = None
    source: Name | None = None
    offset_ms: Annotated[float, Field(ge=-1e12, le=1e12)] | None = None


class SshServer(Strict):
    installed: bool
    running: bool | None = None
    # Effective sshd settings (lower-case keys as sshd -T prints them), from sshd_config and includes.
    settings: Annotated[dict[Name, Text], Field(max_length=256)] = {}


class PendingUpdates(Strict):
    manager: Name  # apt, dnf, windows-update
    total: Count | None = None
    security: Count | None = None
    last_refresh: Timestamp | None = None  # when the package lists were last refreshed


class PasswordPolicy(Strict):
    max_days: Int | None = None
    min_days: Int | None = None
    warn_days: Int | None = None
    min_length: Count | None = None
    min_classes: Count | None = None  # character classes required (pwquality minclass)
    remember: Count | None = None  # password history depth
    lockout_attempts: Count | None = None  # faillock/tally deny
    lockout_seconds: Count | None = None
    source: Text | None = None  # files the values came from


class LocalAccount(Strict):
    name: Name
    uid: Int | None = None
    groups: Annotated[list[Name], Field(max_length=256)] = []
    is_admin: bool
    has_password: bool | None = None
    locked: bool | None = None
    shell: Name | None = None
    # Last interactive logon (HS-15): lastlog on Linux, LastLogon on Windows. None: unknown (no lastlog,
    # older agent) or never; never_logged_in tells the two apart (None when unknown).
    last_login: Timestamp | None = None
    never_logged_in: bool | None = None


class AntiMalware(Strict):
    name: Name
    installed: bool
    running: bool | None = None
    version: Name | None = None
    signatures_updated: Timestamp | None = None


class EncryptedFilesystem(Strict):
    mountpoint: Text
    device: Text
    fstype: Name
    encrypted: bool | None = None  # None: the block device could not be resolved


class DiskEncryption(Strict):
    """Encryption at rest (HS-30): LUKS/dm-crypt under each mounted block filesystem; BitLocker."""

    root_encrypted: bool | None = None  # the system volume (/ or %SystemDrive%); None: unknown
    filesystems: Annotated[list[EncryptedFilesystem], Field(max_length=512)] = []
    detail: Text | None = None


class AuditLogging(Strict):
    """Audit logging (HS-20, HS-21)."""

    audit_service: Name | None = None  # auditd; eventlog on Windows
    audit_running: bool | None = None
    process_audit: bool | None = None  # auditd execve rule; Process Creation + command line or Sysmon
    logon_audit: bool | None = None  # logons recorded and kept; auditpol Logon success+failure
    persistent_logs: bool | None = None  # journald persistent or a syslog daemon; Security log enabled
    detail: Text | None = None


class LogTarget(Strict):
    daemon: Name  # rsyslog, syslog-ng, systemd-journal-upload, wef
    target: Name  # host or URL the logs are sent to
    file: Text | None = None  # where it is configured


class LogForwarding(Strict):
    """Forwarding of host logs to a central store (HS-22)."""

    running: Annotated[list[Name], Field(max_length=64)] = []  # syslog daemons and log shippers
    remote_targets: Annotated[list[LogTarget], Field(max_length=64)] = []
    forwarding: bool | None = None  # a running daemon has a remote target, or a log shipper runs


class AutologinEntry(Strict):
    source: Name  # gdm, lightdm, sddm, getty <unit>, winlogon
    user: Name | None = None


class Autologin(Strict):
    """Automatic logon without a password (HS-08)."""

    enabled: bool | None = None
    entries: Annotated[list[AutologinEntry], Field(max_length=64)] = []


class DomainMembership(Strict):
    """Centralised account management (HS-17): joined to AD/IPA/LDAP."""

    joined: bool | None = None
    domain: Name | None = None
    method: Name | None = None  # "sssd (ad)", winbind, windows


class PackageSource(Strict):
    host: Name | None = None  # None for file:/cdrom: sources
    uri: Text
    file: Text | None = None


class PackageSources(Strict):
    """Where the host takes its packages or updates from (HS-25)."""

    manager: Name  # apt, dnf, windows-update
    sources: Annotated[list[PackageSource], Field(max_length=512)] = []


class DnsResolver(Strict):
    address: Name  # IPv4/IPv6 address the host sends its DNS queries to
    interface: Name | None = None  # Windows interface alias; None for system-wide resolvers
    source: Text | None = None  # file it was read from (Linux)


class DnsResolvers(Strict):
    """The resolvers the host actually queries (HS-29): resolv.conf nameservers, or the upstreams of a
    local stub (systemd-resolved 127.0.0.53); Get-DnsClientServerAddress on Windows."""

    servers: Annotated[list[DnsResolver], Field(max_length=64)] = []
    stub: Name | None = None  # "systemd-resolved" when resolv.conf points at its stub
    detail: Text | None = None


class ExploitProtection(Strict):
    """System-wide exploit mitigations (HS-04). `aslr`: Linux kernel.randomize_va_space 2/1/0 →
    full/partial/off; Windows system ASLR (bottom-up, on unless turned off) → full/off. `dep`: NX in use
    (Linux: the CPU's nx flag, architectural on arm64) / the system DEP policy. `cfg`: Windows Control
    Flow Guard (None on Linux). Windows "NOTSET" means the OS default, which is on for all three."""

    aslr: Literal["full", "partial", "off", "unknown"]
    dep: Literal["on", "off", "unknown"]
    cfg: Literal["on", "off", "unknown"] | None = None
    detail: Text | None = None


class InstalledPackage(Strict):
    name: Name
    version: Name | None = None
    publisher: Name | None = None  # Windows DisplayPublisher / rpm vendor; None for dpkg


class SoftwareInventory(Strict):
    """Installed software (HS-27): dpkg or rpm packages on Linux, the Uninstall registry keys (machine-wide,
    32- and 64-bit) on Windows. `truncated` when there were more than the list holds."""

    source: Literal["dpkg", "rpm", "windows-uninstall"]
    packages: Annotated[list[InstalledPackage], Field(max_length=20000)] = []
    truncated: bool = False


class RemovableMedia(Strict):
    """Autorun/autoplay of removable media (HS-03). Windows: the machine policies NoDriveTypeAutoRun
    (255: no drive type) and NoAutorun (1: autorun.inf never runs), both needed. Linux: the GNOME
    media-handling defaults of the system dconf database (autorun-never, automount-open); `desktop` is
    False without a GNOME desktop (a server has nothing to autorun; other desktops are not read)."""

    desktop: bool
    autorun_disabled: bool | None = None  # None without a desktop
    settings: Annotated[dict[Name, Text], Field(max_length=64)] = {}  # the values decided from
    detail: Text | None = None


class ScreenLock(Strict):
    """Idle lock of interactive sessions (HS-09). `lock_after_s`: idle seconds until the session locks,
    None when it never does. Windows: the machine inactivity limit (InactivityTimeoutSecs) or a password-
    protected screen-saver policy, whichever is shorter; Linux: GNOME's idle-delay + lock-delay when
    lock-enabled (system dconf defaults, GNOME's own defaults where unset)."""

    desktop: bool
    lock_after_s: Count | None = None
    settings: Annotated[dict[Name, Text], Field(max_length=64)] = {}
    detail: Text | None = None


class WifiConnection(Strict):
    ssid: Name | None = None
    authentication: Name | None = None  # as the OS names it: "WPA2-Enterprise", "WPA2 802.1X", "Open"…
    enterprise: bool  # 802.1X/EAP: each user or device authenticates, no shared key
    insecure: bool  # open or WEP: no (or broken) encryption
    interface: Name | None = None


class Wireless(Strict):
    """Wi-Fi networks the host is connected to (NW-28): `netsh wlan show interfaces` on Windows,
    NetworkManager (`nmcli`) on Linux. `connected` is False without a wireless interface or connection."""

    connected: bool
    connections: Annotated[list[WifiConnection], Field(max_length=16)] = []
    detail: Text | None = None


class EndpointProduct(Strict):
    name: Name
    kind: Literal["antivirus", "edr", "management"]
    running: bool | None = None
    connected: bool | None = None  # to its management server; None: not readable here or no manager
    manager: Name | None = None  # the management server's address, where the product's config says
    definitions_updated: Timestamp | None = None
    definitions_current: bool | None = None  # Security Center's "up to date" flag (no date given)
    detail: Text | None = None


class EndpointManagement(Strict):
    """Centrally managed anti-malware/EDR (HS-02): known agents, running and connected where readable.
    `managed`: a running product is connected (True), one runs with its connection unknown (None), or
    none runs connected (False)."""

    products: Annotated[list[EndpointProduct], Field(max_length=64)] = []
    managed: bool | None = None
    detail: Text | None = None


class BackupTool(Strict):
    tool: Name  # restic, borg, bacula, bareos, veeam, windows-server-backup
    running: bool | None = None  # its daemon or service; None for tools without one
    schedules: Annotated[list[Text], Field(max_length=16)] = []  # systemd timers, cron lines
    last_success: Timestamp | None = None  # None: not readable without credentials (see detail)
    last_run_failed: bool | None = None
    detail: Text | None = None


class Backup(Strict):
    """Backup agents and their last successful job (HS-32); `last_success` is the newest over tools."""

    tools: Annotated[list[BackupTool], Field(max_length=32)] = []
    last_success: Timestamp | None = None
    detail: Text | None = None


class VpnClient(Strict):
    name: Name
    running: bool | None = None  # process, service or live tunnel interface


class RemoteAccess(Strict):
    """Laptops (a system battery) and their VPN clients (HS-36)."""

    battery: bool
    vpn_clients: Annotated[list[VpnClient], Field(max_length=32)] = []


Port = Annotated[int, Field(ge=1, le=65535)]


class EgressAttempt(Strict):
    port: Port
    open: bool  # the TCP connection succeeded: the network lets this traffic out
    error: Name | None = None  # refused, timeout, or the OS's reason


class EgressTest(Strict):
    """Outbound filtering test (NW-27) to the agent config's [egress] endpoint; off when not configured."""

    configured: bool
    endpoint: Name | None = None
    attempts: Annotated[list[EgressAttempt], Field(max_length=16)] = []
    open_ports: Annotated[list[Port], Field(max_length=16)] | None = None  # None: no test ran
    detail: Text | None = None


class SecurityFacts(Strict):
    platform: Literal["linux", "windows"]
    listening_ports: Annotated[list[ListeningPort], Field(max_length=4096)] = []
    firewall: FirewallState | None = None
    time_sync: TimeSync | None = None
    ssh_server: SshServer | None = None
    updates: PendingUpdates | None = None
    password_policy: PasswordPolicy | None = None
    accounts: Annotated[list[LocalAccount], Field(max_length=4096)] = []
    anti_malware: Annotated[list[AntiMalware], Field(max_length=64)] = []
    # Optional sections added later: None from older agents, or when the fact failed (see errors).
    disk_encryption: DiskEncryption | None = None
    audit_logging: AuditLogging | None = None
    log_forwarding: LogForwarding | None = None
    autologin: Autologin | None = None
    domain: DomainMembership | None = None
    package_sources: PackageSources | None = None
    dns_resolvers: DnsResolvers | None = None
    exploit_protection: ExploitProtection | None = None
    software: SoftwareInventory | None = None
    removable_media: RemovableMedia | None = None
    screen_lock: ScreenLock | None = None
    wireless: Wireless | None = None
    endpoint_management: EndpointManagement | None = None
    backup: Backup | None = None
    remote_access: RemoteAccess | None = None
    egress: EgressTest | None = None


# --- LAN sensor (the agent's `lan` role) ----------------------------------------------------------

LanSource = Literal["arp", "dhcp", "lldp", "cdp", "mdns", "netbios", "sweep"]
LanEventType = Literal["device_new", "dhcp_rogue", "arp_spoof", "ip_conflict", "mac_flood"]


class LanDevice(Strict):
    """One device the sensor saw on the LAN during the report's interval."""

    mac: MacAddress
    ips: Annotated[list[IpAddress], Field(max_length=16)] = []
    vendor: Name | None = None  # from the OUI of the MAC
    names: Annotated[list[Name], Field(max_length=8)] = []  # DHCP hostname, mDNS, NetBIOS, LLDP/CDP
    sources: Annotated[list[LanSource], Field(max_length=7)] = []
    first_seen: Timestamp
    last_seen: Timestamp


class LanEvent(Strict):
    """A detection, once per occurrence (the sensor rate-limits repeats)."""

    type: LanEventType
    time: Timestamp
    interface: Name
    mac: MacAddress | None = None
    ip: IpAddress | None = None
    # What the officer needs to act on it: e.g. offered_gateway, offered_dns, old_mac, new_mac, count.
    detail: Annotated[dict[Name, Text], Field(max_length=16)] = {}
    message: Text  # Vietnamese first, English beside it


class LanCapture(Strict):
    """The sensor's own health on one interface."""

    interface: Name
    packets_seen: Count
    packets_dropped: Count  # by the kernel (pcap stats)
    error: Text | None = None  # e.g. capture not permitted: names the capability and systemd setting


class LanSection(Strict):
    """What the LAN sensor saw since the previous report. Devices are those seen in the interval (the
    server keeps the table); events beyond the list's bound are counted in `events_dropped`."""

    captures: Annotated[list[LanCapture], Field(max_length=16)] = []
    devices: Annotated[list[LanDevice], Field(max_length=4096)] = []
    events: Annotated[list[LanEvent], Field(max_length=1024)] = []
    events_dropped: Count = 0


# --- the report -----------------------------------------------------------------------------------


class CollectorError(Strict):
    collector: Name
    error: Text


class AgentStatus(Strict):
    version: Name
    spool_backlog: Count  # reports waiting in the agent's spool when this one was made
    spool_dropped_total: Count  # reports the spool dropped for size/age since install
    rejected_total: Count  # reports the server refused and the agent set aside
    cycle_cpu_s: Seconds  # CPU the previous collection cycle cost


class Report(Strict):
    schema_version: Literal[1] = 1
    agent_id: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_CONTROL)]
    seq: Annotated[int, Field(ge=1, le=SEQ_MAX)]
    collected_at: Timestamp
    interval_s: Annotated[float, Field(gt=0, le=86400)]
    host: HostIdentity
    metrics: Metrics
    probes: Annotated[list[ProbeResult], Field(max_length=256)] = []
    security: SecurityFacts | None = None  # present on the cycles that collect it (hourly by default)
    lan: LanSection | None = None  # from agents with the LAN sensor role enabled
    snmp: SnmpSection | None = None  # from agents polling their site's switches (`[snmp]`)
    agent: AgentStatus
    errors: Annotated[list[CollectorError], Field(max_length=256)] = []


MAX_REPORTS_PER_BATCH = 500


class ReportBatch(Strict):
    """The body of `POST /api/v1/agents/reports`, sent gzip-compressed."""

    reports: Annotated[list[Report], Field(min_length=1, max_length=MAX_REPORTS_PER_BATCH)]
