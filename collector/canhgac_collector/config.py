"""Server configuration: one YAML file, validated by pydantic, overridable by `CANHGAC_` variables.

Unknown keys are rejected so a typo never silently falls back to a default. Secrets (enrollment keys,
the database password) are `SecretStr` or redacted before they reach a log line. `examples/server.yaml`
documents every key and is kept in sync by a test.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from canhgac_collector.addresses import HostAddress  # an IP address or a DNS name, checked
from canhgac_collector.alerting.settings import AlertingConfig  # alerting: rules, windows, channels
from canhgac_collector.devices.configs.settings import (  # ssh: per device, config history retention
    DeviceConfigsSettings,
    DeviceSshConfig,
)
from canhgac_collector.lan.settings import LanConfig  # lan: approved devices/DHCP servers/gateways
from canhgac_collector.listen_tls import ListenTlsConfig, resolve_paths  # listen.tls: HTTPS, mutual TLS
from canhgac_collector.placeholders import placeholder_secrets, refusal  # no `change-me` secrets
from canhgac_collector.sitelink.settings import SiteLinkProbe, SiteLinkSettings  # probes of sites' lines
from canhgac_rules.report_settings import ReportSettings  # the audit report's issuer and signers

SITE_CODE_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MAX_PUBLIC_ADDRESSES = 32  # per site


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListenConfig(Strict):
    """Where the API listens and how it treats slow or oversized clients (hostile networks)."""

    host: HostAddress = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    # Request bodies of every route but agent reports (those: ingest.max_body_bytes); 413 above,
    # refused from Content-Length before a byte is read.
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    header_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0  # connection closed without headers
    body_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0  # 408 when a body takes longer
    max_connections: Annotated[int, Field(ge=16, le=1_000_000)] = 4096  # 503 beyond (open + in flight)
    openapi_docs: bool = True  # /docs, /redoc and /openapi.json; false hides them
    tls: ListenTlsConfig | None = None  # HTTPS served directly; None: plain HTTP


class MetricsConfig(Strict):
    """Who may read `/metrics` (host names, states and scores of every commune): a bearer token for the
    Prometheus scrape job and, when `loopback_without_token`, anyone on this machine."""

    bearer_token: SecretStr | None = None
    loopback_without_token: bool = True


class Contact(Strict):
    """Who hears about a site: alert routing (alerting/routing.py) reads these."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    telegram_chat_id: str | None = None


class ProbeTarget(Strict):
    """A reachability target checked by the agents of a site (and inherited by its children)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    kind: Literal["icmp", "tcp", "http", "dns"]
    host: HostAddress | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ProbeTarget:
        if self.kind == "http":
            if not self.url or not re.match(r"^https?://", self.url):
                raise ValueError(f"probe target {self.name!r}: kind http needs url: http(s)://…")
        elif not self.host:
            raise ValueError(f"probe target {self.name!r}: kind {self.kind} needs host")
        if self.kind == "tcp" and self.port is None:
            raise ValueError(f"probe target {self.name!r}: kind tcp needs port")
        return self


class SiteConfig(Strict):
    """One node of the site tree: province → (district) → commune → office, any depth."""

    code: Annotated[str, Field(pattern=SITE_CODE_RE)]
    name: Annotated[str, Field(min_length=1, max_length=200)]  # Vietnamese name, e.g. "Xã Cẩm Xuyên"
    name_en: str | None = None
    kind: Literal["province", "district", "commune", "ward", "office", "department", "datacenter"] = "office"
    # Declared security level (cấp độ 1–5) of the systems this site hosts; inherited when unset.
    level: Annotated[int, Field(ge=1, le=5)] | None = None
    contacts: list[Contact] = []
    enrollment_keys: list[SecretStr] = []
    probe_targets: list[ProbeTarget] = []
    # Compliance (NW-03): CIDRs of the site's management network; device addresses must lie in them.
    management_networks: list[IPvAnyNetwork] = []
    # Compliance (NW-05): the agency's own addresses reachable from outside; with
    # compliance.public_address_scan.enabled the server checks them (and only them) for admin services.
    public_addresses: Annotated[list[IPvAnyAddress], Field(max_length=MAX_PUBLIC_ADDRESSES)] = []
    children: list[SiteConfig] = []
    # The site's gateway/public address, probed from the data centre (both sides of a cut: sitelink/).
    link_probe: SiteLinkProbe | None = None

    @field_validator("public_addresses")
    @classmethod
    def _public_addresses_are_unicast(cls, addresses: list[IPvAnyAddress]) -> list[IPvAnyAddress]:
        for address in addresses:
            ip = ipaddress.ip_address(str(address))
            if ip.is_loopback or ip.is_multicast or ip.is_unspecified or ip.is_link_local or ip.is_reserved:
                raise ValueError(f"public address {ip} is not a unicast host address")
        if len({str(a) for a in addresses}) != len(addresses):
            raise ValueError("a public address is listed twice")
        return addresses

    @field_validator("enrollment_keys")
    @classmethod
    def _keys_long_enough(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            if len(key.get_secret_value()) < 16:
                raise ValueError("enrollment keys must be at least 16 characters")
        return keys


class HostStateConfig(Strict):
    """A host is up while its reports are fresh, stale after `stale_after_s`, down after `down_after_s`."""

    stale_after_s: Annotated[float, Field(gt=0)] = 120
    down_after_s: Annotated[float, Field(gt=0)] = 600
    check_interval_s: Annotated[float, Field(gt=0)] = 10

    @model_validator(mode="after")
    def _ordered(self) -> HostStateConfig:
        if self.down_after_s <= self.stale_after_s:
            raise ValueError("host_state.down_after_s must be greater than stale_after_s")
        return self


class AgentSettings(Strict):
    """Defaults pushed to agents in every ingest reply (per-site probe targets are added to these)."""

    interval_s: Annotated[float, Field(ge=1, le=3600)] = 30
    security_interval_s: Annotated[float, Field(ge=60, le=86400)] = 3600
    batch_max: Annotated[int, Field(ge=1, le=500)] = 100
    probe_gateway: bool = True
    probe_count: Annotated[int, Field(ge=1, le=20)] = 4
    probe_timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0


class IngestConfig(Strict):
    max_body_bytes: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024  # compressed request body
    max_decompressed_bytes: Annotated[int, Field(ge=1024)] = 32 * 1024 * 1024
    # The (host, seq, hash) ledger that makes ingest idempotent; resends come within minutes.
    report_retention_days: Annotated[float, Field(gt=0)] = 3
    rate_limit_per_agent_rps: Annotated[float, Field(gt=0)] = 5.0  # sustained requests/s per agent
    rate_limit_burst: Annotated[int, Field(ge=1)] = 20
    # The ingest worker is restarted when requests wait this long without any answer from it (hung).
    worker_stall_timeout_s: Annotated[float, Field(gt=0)] = 60.0
    # A report's collected_at must lie within [server time - max_report_age_s, + max_clock_ahead_s]:
    # outside, the batch is refused (422, an event for the site's officer: the PC's clock is wrong).
    # The age covers the agent's spool (14 days by default) with a day to spare.
    max_report_age_s: Annotated[float, Field(gt=0, le=366 * 86400)] = 15 * 86400
    max_clock_ahead_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 3600
    # A seq more than this past the host's last stored one is refused (it would block the agent forever).
    max_seq_gap: Annotated[int, Field(ge=1000, le=2**40)] = 10_000_000


class EnrollmentConfig(Strict):
    """Throttles on `POST /api/v1/agents/enroll` (each try checks a secret key): per client address, per
    site key, and for the whole server. 429 with Retry-After above."""

    per_address_rps: Annotated[float, Field(gt=0, le=1000)] = 0.2
    per_address_burst: Annotated[int, Field(ge=1, le=10_000)] = 20
    per_site_rps: Annotated[float, Field(gt=0, le=1000)] = 1.0
    per_site_burst: Annotated[int, Field(ge=1, le=100_000)] = 200  # a whole commune enrolling at once
    global_rps: Annotated[float, Field(gt=0, le=10_000)] = 5.0
    global_burst: Annotated[int, Field(ge=1, le=100_000)] = 500


class SnmpV3Config(Strict):
    """SNMPv3 USM user. Security level follows from the protocols: none/none = noAuthNoPriv."""

    user: Annotated[str, Field(min_length=1, max_length=32)]
    auth_protocol: Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"] = "sha"
    auth_key: SecretStr | None = None
    priv_protocol: Literal["none", "des", "aes128", "aes192", "aes256"] = "aes128"
    priv_key: SecretStr | None = None
    context_name: str = ""

    @model_validator(mode="after")
    def _keys_for_protocols(self) -> SnmpV3Config:
        if self.auth_protocol != "none" and (
            self.auth_key is None or len(self.auth_key.get_secret_value()) < 8
        ):
            raise ValueError(f"snmp v3 user {self.user!r}: auth_protocol needs auth_key of ≥ 8 characters")
        if self.priv_protocol != "none":
            if self.auth_protocol == "none":
                raise ValueError(f"snmp v3 user {self.user!r}: privacy needs authentication too")
            if self.priv_key is None or len(self.priv_key.get_secret_value()) < 8:
                raise ValueError(f"snmp v3 user {self.user!r}: priv_protocol needs priv_key (≥ 8 chars)")
        return self


class SnmpCredentialsConfig(Strict):
    """How to talk SNMP to one device: v1/v2c community, or a v3 user."""

    version: Literal["1", "2c", "3"] = "2c"
    community: SecretStr | None = None
    v3: SnmpV3Config | None = None

    @model_validator(mode="after")
    def _version_has_credentials(self) -> SnmpCredentialsConfig:
        if self.version in ("1", "2c") and self.community is None:
            raise ValueError(f"snmp version {self.version} needs community")
        if self.version == "3" and self.v3 is None:
            raise ValueError("snmp version 3 needs a v3 user")
        return self


class DeviceConfig(Strict):
    """A switch, router or firewall polled over SNMP."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    address: HostAddress
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    site: Annotated[str, Field(pattern=SITE_CODE_RE)]
    snmp: SnmpCredentialsConfig
    role: Literal["access", "distribution", "core", "router", "firewall", "other"] = "access"
    poll_interval_s: Annotated[float, Field(ge=5, le=86400)] | None = None  # default: snmp.poll_interval_s
    timeout_s: Annotated[float, Field(gt=0, le=60)] | None = None
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    ssh: DeviceSshConfig | None = None  # config backup over SSH; None: not pulled
    # Who polls it: auto (the server, until an agent of its site sends edge polls), server, edge (docs/
    # edge-polling-server.md).
    poller: Literal["auto", "server", "edge"] = "auto"


class SnmpPollConfig(Strict):
    """The SNMP poller's defaults and limits (sized for ~1,000 switches on one server)."""

    enabled: bool = True
    poll_interval_s: Annotated[float, Field(ge=5, le=86400)] = 60
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    retries: Annotated[int, Field(ge=0, le=10)] = 1
    max_concurrency: Annotated[int, Field(ge=1, le=4096)] = 128  # devices polled at once
    max_repetitions: Annotated[int, Field(ge=1, le=200)] = 25  # GETBULK max-repetitions
    # Hard cap per device poll: a device slower than this is marked error and the cycle goes on.
    device_deadline_s: Annotated[float, Field(gt=0, le=600)] = 30
    # MAC/ARP sightings not seen again for this long are forgotten (`locate` answers from fresh data).
    location_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    # Fernet key encrypting device secrets in the database; created (mode 0600) beside it when missing.
    secrets_key_file: str | None = None
    # An edge-polled device with no poll for max(3 × its interval, this) is "delayed" (not down).
    edge_delay_min_s: Annotated[float, Field(ge=5, le=86400)] = 180


class InfluxConfig(Strict):
    """History writer to an InfluxDB v2 write API (line protocol, batched, retried); off unless enabled."""

    enabled: bool = False
    url: str = "http://127.0.0.1:8086"
    org: str = "canhgac"
    bucket: str = "canhgac"
    token: SecretStr | None = None
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 5000  # points per write request
    flush_interval_s: Annotated[float, Field(gt=0, le=3600)] = 5.0  # a partial batch waits at most this
    # Points the store did not take yet wait here (segment files); survives a restart.
    buffer_dir: str = "influx-buffer"
    buffer_max_mb: Annotated[float, Field(gt=0)] = 512  # past it the oldest segments are dropped (counted)


class PublicAddressScanConfig(Strict):
    """NW-05: from this server, TCP connects (and an SNMP get) to each site's declared
    `public_addresses`, during that site's compliance scan. Off unless enabled; never any other address."""

    enabled: bool = False
    # Admin services that must not answer from outside: SSH, Telnet, RDP, web admin (80/443/8080/8443).
    tcp_ports: Annotated[list[Annotated[int, Field(ge=1, le=65535)]], Field(min_length=1, max_length=32)] = [
        22,
        23,
        80,
        443,
        3389,
        8080,
        8443,
    ]
    snmp: bool = True  # UDP 161: an SNMPv3 discovery and a v2c `public` get
    timeout_s: Annotated[float, Field(gt=0, le=10)] = 2.0  # per connect / SNMP try
    max_probes_per_s: Annotated[float, Field(gt=0, le=200)] = 20.0  # probes started per second


class ComplianceConfig(Strict):
    """Scheduled compliance scans: every site with a declared level, every `interval_h`."""

    enabled: bool = False
    interval_h: Annotated[float, Field(gt=0, le=24 * 366)] = 24
    # Ask each device whether it answers the vendor-default communities public/private (NW-10).
    active_probe_default_communities: bool = False
    # On-demand scans (POST /api/v1/scans) per caller per hour; 429 with Retry-After above.
    max_scans_per_hour: Annotated[int, Field(ge=1, le=10_000)] = 12
    # Stored scans (with their findings) are pruned past either limit, the newest kept per site.
    retention_scans_per_site: Annotated[int, Field(ge=1, le=100_000)] = 100
    retention_days: Annotated[float, Field(gt=0, le=36_600)] = 730
    public_address_scan: PublicAddressScanConfig = PublicAddressScanConfig()


class TrapUserConfig(SnmpV3Config):
    """An SNMPv3 user devices send traps as (authNoPriv or authPriv; its keys are localised per sender)."""

    @model_validator(mode="after")
    def _authenticated(self) -> TrapUserConfig:
        if self.auth_protocol == "none":
            raise ValueError(f"trap user {self.user!r}: traps are accepted authenticated only")
        return self


class TrapsConfig(Strict):
    """SNMP traps received by `canhgac serve` (devices/traps/); off unless enabled."""

    enabled: bool = False
    listen_host: HostAddress = "0.0.0.0"
    listen_port: Annotated[int, Field(ge=0, le=65535)] = 162  # 0: any free port
    # v1/v2c traps are accepted with these communities only; v3 traps from these users only.
    communities: Annotated[list[SecretStr], Field(max_length=64)] = []
    v3_users: Annotated[list[TrapUserConfig], Field(max_length=64)] = []
    # A device that sends from another address than the one it is polled at: device name → its
    # SNMP engine ID (hex), so its v3 traps still land on it.
    engine_ids: dict[str, Annotated[str, Field(pattern=r"^(0x)?[0-9A-Fa-f]{10,64}$")]] = {}
    # Per device: a token bucket of `rate_per_s` with `burst`; past it traps are counted, not stored,
    # and one `trap.storm` event sums up the storm once it was quiet for `storm_quiet_s`.
    rate_per_s: Annotated[float, Field(gt=0, le=10_000)] = 10.0
    burst: Annotated[int, Field(ge=1, le=100_000)] = 100
    storm_quiet_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # Traps from addresses that are no device's: stored under no device, all of them together at most
    # this many per second.
    unknown_rate_per_s: Annotated[float, Field(gt=0, le=1000)] = 5.0
    queue_max: Annotated[int, Field(ge=100, le=1_000_000)] = 20_000  # waiting to be stored; full: dropped


class ServerConfig(BaseSettings):
    """The whole server configuration (`server.yaml`)."""

    model_config = SettingsConfigDict(
        env_prefix="CANHGAC_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    listen: ListenConfig = ListenConfig()
    database_url: str = "sqlite:///canhgac.sqlite"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    public_url: str | None = None  # how agents reach this server; shown by the CLI
    host_state: HostStateConfig = HostStateConfig()
    agent_defaults: AgentSettings = AgentSettings()
    ingest: IngestConfig = IngestConfig()
    enrollment: EnrollmentConfig = EnrollmentConfig()
    metrics: MetricsConfig = MetricsConfig()
    sites: list[SiteConfig] = []
    snmp: SnmpPollConfig = SnmpPollConfig()
    devices: list[DeviceConfig] = []
    device_configs: DeviceConfigsSettings = DeviceConfigsSettings()  # devices/configs/
    influx: InfluxConfig = InfluxConfig()
    alerting: AlertingConfig = AlertingConfig()  # collector/canhgac_collector/alerting/
    compliance: ComplianceConfig = ComplianceConfig()  # collector/canhgac_collector/compliance/
    report: ReportSettings = ReportSettings()  # header and signers of HTML/PDF audit reports
    traps: TrapsConfig = TrapsConfig()  # collector/canhgac_collector/devices/traps/
    lan: LanConfig = LanConfig()  # collector/canhgac_collector/lan/
    site_links: SiteLinkSettings = SiteLinkSettings()  # collector/canhgac_collector/sitelink/

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (init kwargs carry the YAML), so a deployment can override one key.
        return env_settings, init_settings

    @model_validator(mode="after")
    def _tree_is_consistent(self) -> ServerConfig:
        seen: set[str] = set()
        keys: dict[str, str] = {}
        for site, _parent in walk_sites(self.sites):
            if site.code in seen:
                raise ValueError(f"site code {site.code!r} appears twice in the site tree")
            seen.add(site.code)
            for key in site.enrollment_keys:
                other = keys.setdefault(key.get_secret_value(), site.code)
                if other != site.code:
                    raise ValueError(f"an enrollment key is shared by sites {other!r} and {site.code!r}")
        names: set[str] = set()
        for device in self.devices:
            if device.site not in seen:
                raise ValueError(f"device {device.name!r}: site {device.site!r} is not in the site tree")
            if device.name in names:
                raise ValueError(f"device name {device.name!r} appears twice")
            names.add(device.name)
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> ServerConfig:
        found = placeholder_secrets(self, self.database_url)
        if found:
            raise ValueError(refusal(found))
        return self

    @model_validator(mode="after")
    def _lan_sites_exist(self) -> ServerConfig:
        codes = {site.code for site, _parent in walk_sites(self.sites)}
        for code in self.lan.sites:
            if code not in codes:
                raise ValueError(f"lan.sites: site {code!r} is not in the site tree")
        return self

    def redacted_database_url(self) -> str:
        """The database URL with any password masked, for logs and CLI output."""
        return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", self.database_url)


def walk_sites(
    sites: list[SiteConfig], parent: SiteConfig | None = None
) -> Iterator[tuple[SiteConfig, SiteConfig | None]]:
    """Depth-first (site, parent) pairs of the tree, parents before children."""
    for site in sites:
        yield site, parent
        yield from walk_sites(site.children, site)


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


def load_config(path: str | Path | None) -> ServerConfig:
    """Load and validate `path` (or only defaults + environment when None)."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{p}: the top level must be a mapping of keys")
        data = loaded
        base = p.resolve().parent
        resolve_paths(data.get("listen"), base)
        url = data.get("database_url")
        # A relative SQLite path is relative to the config file, not to wherever the CLI was started.
        if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url.removeprefix("sqlite:///")
            if rel and rel != ":memory:":
                data["database_url"] = f"sqlite:///{base / rel}"
    try:
        return ServerConfig(**data)
    except ValidationError as exc:
        where = str(path) if path is not None else "environment"
        lines = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError(f"{where}: invalid configuration:\n" + "\n".join(lines)) from None


def config_from_env_path() -> ServerConfig:
    """Config named by `CANHGAC_CONFIG` (used by `canhgac serve` workers)."""
    return load_config(os.environ.get("CANHGAC_CONFIG"))
