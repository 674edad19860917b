"""Bodies of the devices, topology and locate endpoints. No model here has a field for an SNMP or SSH
secret except the write-only request bodies (`DeviceCreate`, `DeviceUpdate`, `SshIn`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from canhgac_collector.addresses import HOST_ADDRESS_RE, check_host
from canhgac_collector.config import SITE_CODE_RE, DeviceConfig, SnmpCredentialsConfig
from canhgac_collector.devices.configs.settings import (
    MAX_PRIVATE_KEY_CHARS,
    MAX_SECRET_CHARS,
    SSH_USERNAME_RE,
    DeviceSshConfig,
)
from canhgac_collector.devices.configs.target import Platform
from canhgac_collector.placeholders import is_placeholder, refusal

DeviceState = Literal["up", "down", "error", "unknown", "delayed"]  # delayed: edge-polled, no recent poll
DeviceRole = Literal["access", "distribution", "core", "router", "firewall", "other"]


NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# An IP address (v6 with zone) or a DNS name, as in server.yaml.
Address = Annotated[str, Field(max_length=253, pattern=HOST_ADDRESS_RE), AfterValidator(check_host)]
Key = Annotated[SecretStr, Field(min_length=8, max_length=256)]
AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SnmpCommunityIn(_In):
    version: Literal["1", "2c"]
    community: Annotated[SecretStr, Field(min_length=1, max_length=256)]


class V3NoAuthIn(_In):
    """noAuthNoPriv"""

    user: Annotated[str, Field(min_length=1, max_length=32)]
    auth_protocol: Literal["none"]
    priv_protocol: Literal["none"]
    context_name: Annotated[str, Field(max_length=64)] = ""


class V3AuthIn(_In):
    """authNoPriv"""

    user: Annotated[str, Field(min_length=1, max_length=32)]
    auth_protocol: AuthProtocol
    auth_key: Key
    priv_protocol: Literal["none"]
    context_name: Annotated[str, Field(max_length=64)] = ""


class V3AuthPrivIn(_In):
    """authPriv"""

    user: Annotated[str, Field(min_length=1, max_length=32)]
    auth_protocol: AuthProtocol
    auth_key: Key
    priv_protocol: Literal["des", "aes128", "aes192", "aes256"]
    priv_key: Key
    context_name: Annotated[str, Field(max_length=64)] = ""


class SnmpV3In(_In):
    version: Literal["3"]
    v3: V3NoAuthIn | V3AuthIn | V3AuthPrivIn


SnmpIn = Annotated[SnmpCommunityIn | SnmpV3In, Field(discriminator="version")]


def _not_placeholder(value: SecretStr | None) -> SecretStr | None:
    if value is not None and is_placeholder(value.get_secret_value()):
        raise ValueError(refusal(["this secret"]))
    return value


SshSecret = Annotated[
    SecretStr, Field(min_length=1, max_length=MAX_SECRET_CHARS), AfterValidator(_not_placeholder)
]


PrivateKey = Annotated[
    SecretStr, Field(min_length=1, max_length=MAX_PRIVATE_KEY_CHARS), AfterValidator(_not_placeholder)
]


class _SshIn(_In):
    platform: Platform | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    username: Annotated[str, Field(pattern=SSH_USERNAME_RE)]
    enable_secret: SshSecret | None = None

    def to_config(self) -> DeviceSshConfig:
        return DeviceSshConfig.model_validate(self.model_dump())


class SshPasswordIn(_SshIn):
    """Log in with a password (a private key may be given too)."""

    password: SshSecret
    private_key: PrivateKey | None = None


class SshKeyIn(_SshIn):
    """Log in with a private key, given as its text (key files are for devices in server.yaml)."""

    private_key: PrivateKey
    password: SshSecret | None = None


# SSH login for config backup, write-only: secrets are stored encrypted and never returned (the device's
# `ssh` shows `has_password`…). No platform: guessed from SNMP when unambiguous.
SshIn = SshPasswordIn | SshKeyIn


class SshOut(BaseModel):
    """A device's SSH settings and config backup status; never a secret."""

    platform: str | None = Field(description="configured or guessed netmiko platform; None: unknown")
    platform_guessed: bool = Field(description="not configured: guessed from SNMP sysObjectID/sysDescr")
    port: int
    username: str
    has_password: bool | None = Field(description="None when the secrets key cannot decrypt them")
    has_private_key: bool | None
    has_enable_secret: bool | None
    host_key: str | None = Field(description="the pinned SSH host key (public), None until first pull")
    pending_host_key: str | None = Field(description="a different key the device presented, not accepted")
    last_pull_at: dt.datetime | None
    last_ok_at: dt.datetime | None
    status: Literal["ok", "error"] | None
    error_kind: str | None
    error: str | None
    pull_requested_at: dt.datetime | None


def snmp_config(snmp: SnmpCommunityIn | SnmpV3In) -> SnmpCredentialsConfig:
    """An API body's credentials as the config's model (same encryption path for both)."""
    return SnmpCredentialsConfig.model_validate(snmp.model_dump())


class DeviceCreate(_In):
    """A device to poll, as in `devices:` of server.yaml. SNMP secrets are write-only: stored
    encrypted, never returned. The schema states every rule, so a body it admits is accepted."""

    name: Annotated[str, Field(pattern=NAME_RE)]
    address: Address
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    site: Annotated[str, Field(pattern=SITE_CODE_RE, description="site code")]
    snmp: SnmpIn
    role: DeviceRole = "access"
    poll_interval_s: Annotated[float, Field(ge=5, le=86400)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=60)] | None = None
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    ssh: SshIn | None = None

    def to_config(self, site: str | None = None) -> DeviceConfig:
        data = self.model_dump(exclude={"snmp", "ssh"})
        data["site"] = site or self.site
        ssh = self.ssh.to_config() if self.ssh is not None else None
        return DeviceConfig.model_validate({**data, "snmp": snmp_config(self.snmp), "ssh": ssh})


class DeviceUpdate(_In):
    """Fields to change; absent ones stay. `snmp` and `ssh` replace their settings as a whole;
    `"ssh": null` stops the device's config backup (its stored versions stay)."""

    address: Address | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    site: Annotated[str, Field(pattern=SITE_CODE_RE)] | None = None
    snmp: SnmpIn | None = None
    role: DeviceRole | None = None
    poll_interval_s: Annotated[float, Field(ge=5, le=86400)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=60)] | None = None
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    ssh: SshIn | None = None


class DeviceSummary(BaseModel):
    name: str
    address: str
    port: int
    site: str
    role: str
    source: Literal["config", "api"] = Field(description="config: managed in server.yaml, read-only here")
    snmp_version: Literal["1", "2c", "3"]
    vendor: str | None
    sys_name: str | None
    state: DeviceState
    state_reason: str | None = Field(
        description="why it is not up: timeout, auth_failure, malformed_reply, …"
    )
    state_changed_at: dt.datetime
    last_poll_at: dt.datetime | None
    last_ok_at: dt.datetime | None
    polled_by: Literal["server", "edge"] = Field(
        "server", description="edge: an agent of the device's site polls it (docs/edge-polling-server.md)"
    )
    edge_host: str | None = Field(None, description="hostname of the agent's host that polls it")
    data_as_of: dt.datetime | None = Field(None, description="when the newest stored poll started")


class DeviceList(BaseModel):
    devices: list[DeviceSummary]
    total: int


class DeviceCounts(BaseModel):
    interfaces: int
    interfaces_up: int
    interfaces_down: int
    neighbors: int
    macs: int
    arp: int


class DeviceDetail(DeviceSummary):
    state_detail: str | None
    sys_descr: str | None
    sys_object_id: str | None
    sys_uptime: int | None = Field(description="hundredths of a second")
    sys_contact: str | None
    sys_location: str | None
    poll_interval_s: float | None = Field(description="None: the server's default")
    timeout_s: float | None
    retries: int | None
    poll_duration_s: float | None
    resources: dict[str, Any] | None = Field(
        description="health as the device's profile reads it: cpu_percent, memory_used_bytes, "
        "memory_total_bytes, memory_percent, temperatures_c, processors, memory_pools, fans, "
        "power_supplies (name + state ok|warning|failed|absent|unknown), profile, optics (per transceiver "
        "port: name, rx_dbm, tx_dbm, temperature_c, bias_ma, rx_no_light, tx_no_light; a level is null "
        "with its *_no_light true when the port has no light)"
    )
    module_errors: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    counts: DeviceCounts
    ssh: SshOut | None = Field(default=None, description="config backup over SSH; None: not set up")


class InterfaceOut(BaseModel):
    ifIndex: int
    ifName: str | None
    ifDescr: str | None
    ifAlias: str | None
    ifType: int | None
    ifMtu: int | None
    speed_bps: int | None
    ifPhysAddress: str | None
    ifAdminStatus: str | None
    ifOperStatus: str | None
    counters: dict[str, Any] | None
    in_bps: float | None
    out_bps: float | None
    in_errors_ps: float | None
    out_errors_ps: float | None
    in_discards_ps: float | None
    out_discards_ps: float | None
    utilisation: float | None = Field(description="0..1 of the speed, the busier direction")
    updated_at: dt.datetime


class InterfaceList(BaseModel):
    device: str
    interfaces: list[InterfaceOut]


class NeighborOut(BaseModel):
    protocol: Literal["lldp", "cdp"]
    local_ifIndex: int | None
    local_port: str | None
    remote_name: str | None
    remote_port: str | None
    remote_chassis_id: str | None
    remote_address: str | None
    remote_device: str | None = Field(description="the known device this neighbour is, if any")
    last_seen: dt.datetime


class NeighborList(BaseModel):
    device: str
    neighbors: list[NeighborOut]


class TopologyNode(BaseModel):
    id: str = Field(description="'device:NAME', 'host:ID' or 'unknown:NAME'")
    kind: Literal["device", "host", "unknown"]
    name: str
    site: str | None
    state: str | None
    vendor: str | None


class TopologyEdge(BaseModel):
    source: str
    target: str
    source_port: str | None
    target_port: str | None
    protocol: Literal["lldp", "cdp"]


class Topology(BaseModel):
    nodes: list[TopologyNode]
    edges: list[TopologyEdge]


class TopologyApproval(BaseModel):
    site: str
    approved_at: dt.datetime
    approved_by: str
    links: int = Field(description="links in the approved set")


class MacPort(BaseModel):
    device: str
    site: str
    ifName: str | None
    ifIndex: int | None
    vlan: int | None = Field(description="None when the switch reports no VLAN")
    last_seen: dt.datetime
    macs_on_port: int = Field(description="MAC addresses learned on that port: 1–few on an access port")
    uplink: bool = Field(description="a known device is the LLDP/CDP neighbour on that port")


class ArpPair(BaseModel):
    ip: str
    mac: str
    device: str
    last_seen: dt.datetime


class Located(BaseModel):
    mac: str | None = Field(description="aa:bb:cc:dd:ee:ff")
    ip: str | None
    port: MacPort | None = Field(description="the access port where it sits; None if only seen in ARP")
    others: list[MacPort] = Field(description="other ports that learned it (uplinks, older sightings)")
    arp: list[ArpPair]
