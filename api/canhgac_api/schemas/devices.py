"""Bodies of the devices, topology and locate endpoints. No model here has a field for an SNMP secret
except the write-only request bodies (`DeviceCreate`, `DeviceUpdate`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from canhgac_collector.addresses import HOST_ADDRESS_RE, check_host
from canhgac_collector.config import SITE_CODE_RE, DeviceConfig, SnmpCredentialsConfig

DeviceState = Literal["up", "down", "error", "unknown"]
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

    def to_config(self, site: str | None = None) -> DeviceConfig:
        data = self.model_dump(exclude={"snmp"})
        data["site"] = site or self.site
        return DeviceConfig.model_validate({**data, "snmp": snmp_config(self.snmp)})


class DeviceUpdate(_In):
    """Fields to change; absent ones stay. `snmp` replaces the credentials as a whole."""

    address: Address | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    site: Annotated[str, Field(pattern=SITE_CODE_RE)] | None = None
    snmp: SnmpIn | None = None
    role: DeviceRole | None = None
    poll_interval_s: Annotated[float, Field(ge=5, le=86400)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=60)] | None = None
    retries: Annotated[int, Field(ge=0, le=10)] | None = None


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
    resources: dict[str, Any] | None
    module_errors: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    counts: DeviceCounts


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
