"""The report's `snmp` section: polls of the site's switches by the agent's edge poller, as
`canhgac_agent.snmp.results.DevicePoll` gives them, each value bounded like the rest of the report."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from canhgac_api.schemas.report_base import (
    Celsius,
    Count,
    IpAddress,
    MacAddress,
    Name,
    Percent,
    Strict,
    Text,
    Timestamp,
)

#: SNMP counters are 64-bit unsigned (ifHC*), the store's columns signed: the agent computes rates from
#: the full value and sends counters above INT64_MAX (never reached by a real port) as absent.
Counter64 = Count
#: A dotted OID as the agent writes it.
OidText = Annotated[str, Field(max_length=512, pattern=r"^[0-9]+(\.[0-9]+)*$")]
Rate = Annotated[float, Field(ge=0, le=1e13)]  # bit/s or packets/s: 10 Tbit/s is beyond any port
Dbm = Annotated[float, Field(ge=-40, le=10)]
HardwareStateName = Literal["ok", "warning", "failed", "absent", "unknown"]
IfStatus = Literal["up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"]
IfIndex = Annotated[int, Field(ge=1, le=2**31 - 1)]


class EdgeSystem(Strict):
    sysDescr: Text | None = None
    sysObjectID: OidText | None = None
    sysName: Name | None = None
    sysUpTime: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None  # hundredths of a second
    sysContact: Name | None = None
    sysLocation: Name | None = None
    vendor: Name | None = None


class EdgeInterface(Strict):
    ifIndex: IfIndex
    ifName: Name | None = None
    ifDescr: Name | None = None
    ifAlias: Name | None = None
    ifType: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    ifMtu: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    ifSpeed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    ifHighSpeed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    ifPhysAddress: Annotated[str, Field(max_length=64, pattern=r"^[0-9a-f:]*$")] | None = None
    ifAdminStatus: IfStatus | None = None
    ifOperStatus: IfStatus | None = None
    ifLastChange: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    ifCounterDiscontinuityTime: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    counters: Annotated[
        dict[Annotated[str, Field(max_length=32, pattern=r"^if[A-Za-z]+$")], Counter64], Field(max_length=32)
    ] = {}
    in_bps: Rate | None = None
    out_bps: Rate | None = None
    in_errors_ps: Rate | None = None
    out_errors_ps: Rate | None = None
    in_discards_ps: Rate | None = None
    out_discards_ps: Rate | None = None
    utilisation: Annotated[float, Field(ge=0, le=100)] | None = None  # 0..1, a wrong ifSpeed can exceed 1


class EdgeNeighbor(Strict):
    protocol: Literal["lldp", "cdp"]
    local_ifIndex: IfIndex | None = None
    local_port: Name | None = None
    remote_name: Name | None = None
    remote_port: Name | None = None
    remote_chassis_id: Name | None = None
    remote_address: Name | None = None
    remote_description: Text | None = None


class EdgeFdbEntry(Strict):
    mac: MacAddress
    vlan: Annotated[int, Field(ge=0, le=4095)] | None = None
    bridge_port: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    ifIndex: IfIndex | None = None
    status: Name | None = None


class EdgeArpEntry(Strict):
    ip: IpAddress
    mac: MacAddress
    ifIndex: IfIndex | None = None


class EdgeProcessor(Strict):
    name: Name
    percent: Percent


class EdgeMemoryPool(Strict):
    name: Name
    percent: Percent | None = None
    used_bytes: Count | None = None
    total_bytes: Count | None = None


class EdgeHardwareState(Strict):
    name: Name
    state: HardwareStateName


class EdgeOptic(Strict):
    name: Name
    rx_dbm: Dbm | None = None
    tx_dbm: Dbm | None = None
    temperature_c: Celsius | None = None
    bias_ma: Annotated[float, Field(ge=0, le=1000)] | None = None
    rx_no_light: bool = False
    tx_no_light: bool = False


class EdgeResources(Strict):
    cpu_percent: Percent | None = None
    memory_used_bytes: Count | None = None
    memory_total_bytes: Count | None = None
    temperatures_c: Annotated[dict[Name, Celsius], Field(max_length=64)] = {}
    memory_percent: Percent | None = None
    processors: Annotated[list[EdgeProcessor], Field(max_length=64)] = []
    memory_pools: Annotated[list[EdgeMemoryPool], Field(max_length=64)] = []
    fans: Annotated[list[EdgeHardwareState], Field(max_length=64)] = []
    power_supplies: Annotated[list[EdgeHardwareState], Field(max_length=64)] = []
    profile: Name | None = None
    optics: Annotated[list[EdgeOptic], Field(max_length=512)] = []


class EdgePoll(Strict):
    """One poll of one of the site's switches by the agent, as `canhgac_agent.snmp.results.DevicePoll`
    gives it, at the time it ran. `topology` says whether neighbors/fdb/arp were read and sent in this poll
    (the agent sends them when they change and at least hourly; otherwise the server keeps the last)."""

    device: Name  # the device's name in the server's inventory, within the agent's site
    address: Name  # what the agent polled: host or host:port
    started_at: Timestamp
    duration_s: Annotated[float, Field(ge=0, le=3600)]
    state: Literal["up", "down", "error"]
    reason: Name | None = None
    detail: Text | None = None
    system: EdgeSystem | None = None
    interfaces: Annotated[list[EdgeInterface], Field(max_length=4096)] = []
    topology: bool = False
    neighbors: Annotated[list[EdgeNeighbor], Field(max_length=1024)] = []
    fdb: Annotated[list[EdgeFdbEntry], Field(max_length=16384)] = []
    arp: Annotated[list[EdgeArpEntry], Field(max_length=16384)] = []
    resources: EdgeResources | None = None
    module_errors: Annotated[dict[Name, Text], Field(max_length=16)] = {}
    varbinds: Count = 0


class SnmpSection(Strict):
    """The edge poller's polls since the previous report, oldest first. A poll that did not fit the
    report's bounds is counted in `polls_dropped`, never silently lost."""

    polls: Annotated[list[EdgePoll], Field(max_length=64)] = []
    polls_dropped: Count = 0
