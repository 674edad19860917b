"""What one poll of one device produced: the contract between the MIB modules, storage and the API.

Field names of `InterfaceSample` are the IF-MIB object names, so the CLI's `--json` and the API speak
the MIB's vocabulary. Optional fields are None when the device does not expose them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DeviceState = Literal["up", "down", "error", "unknown"]


@dataclass(slots=True)
class SystemInfo:
    sysDescr: str | None = None
    sysObjectID: str | None = None  # dotted
    sysName: str | None = None
    sysUpTime: int | None = None  # hundredths of a second
    sysContact: str | None = None
    sysLocation: str | None = None
    vendor: str | None = None  # from sysObjectID's enterprise number: cisco, huawei, hpe, juniper, …


@dataclass(slots=True)
class InterfaceSample:
    ifIndex: int
    ifName: str | None = None
    ifDescr: str | None = None
    ifAlias: str | None = None
    ifType: int | None = None
    ifMtu: int | None = None
    ifSpeed: int | None = None  # bit/s, saturates at 4294967295
    ifHighSpeed: int | None = None  # Mbit/s
    ifPhysAddress: str | None = None  # aa:bb:cc:dd:ee:ff
    ifAdminStatus: str | None = None  # up | down | testing
    ifOperStatus: str | None = None  # up | down | testing | unknown | dormant | notPresent | lowerLayerDown
    ifLastChange: int | None = None
    ifCounterDiscontinuityTime: int | None = None  # sysUpTime when counters last reset (ifXTable)
    # Counters under their MIB names; HC (64-bit) when the device has ifXTable, else the 32-bit ones.
    counters: dict[str, int] = field(default_factory=dict)
    # Filled by the poller from two samples: bits/s and packets/s, utilisation 0..1 of the speed.
    in_bps: float | None = None
    out_bps: float | None = None
    in_errors_ps: float | None = None
    out_errors_ps: float | None = None
    in_discards_ps: float | None = None
    out_discards_ps: float | None = None
    utilisation: float | None = None  # max(in, out) / speed


@dataclass(slots=True)
class Neighbor:
    """An LLDP or CDP neighbour seen on a local port."""

    protocol: Literal["lldp", "cdp"]
    local_ifIndex: int | None
    local_port: str | None
    remote_name: str | None
    remote_port: str | None
    remote_chassis_id: str | None = None
    remote_address: str | None = None
    remote_description: str | None = None


@dataclass(slots=True)
class FdbEntry:
    mac: str  # aa:bb:cc:dd:ee:ff
    vlan: int | None
    bridge_port: int | None
    ifIndex: int | None
    status: str | None = None  # learned | mgmt | self | other


@dataclass(slots=True)
class ArpEntry:
    ip: str
    mac: str
    ifIndex: int | None


@dataclass(slots=True)
class Processor:
    name: str
    percent: float


@dataclass(slots=True)
class MemoryPool:
    name: str
    percent: float | None = None  # 0..100
    used_bytes: int | None = None
    total_bytes: int | None = None


@dataclass(slots=True)
class HardwareState:
    """A fan or power supply: its name and the vendor's state normalised."""

    name: str
    state: Literal["ok", "warning", "failed", "absent", "unknown"]


@dataclass(slots=True)
class Optic:
    """A transceiver's levels on one port. A level the device reports as "no light" (a sentinel such as
    0x7FFFFFFF, 0 µW or −40 dBm) is None with its `*_no_light` flag set, never a number."""

    name: str  # the port (ifName or the port entity's entPhysicalName)
    rx_dbm: float | None = None
    tx_dbm: float | None = None
    temperature_c: float | None = None
    bias_ma: float | None = None
    rx_no_light: bool = False
    tx_no_light: bool = False


@dataclass(slots=True)
class Resources:
    """Device health as the matched profile (devices/profiles/) read it; bounded there."""

    cpu_percent: float | None = None  # the device's value (average or busiest of `processors`)
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperatures_c: dict[str, float] = field(default_factory=dict)  # by sensor name
    memory_percent: float | None = None  # 0..100; also when the device gives a percent but no sizes
    processors: list[Processor] = field(default_factory=list)
    memory_pools: list[MemoryPool] = field(default_factory=list)
    fans: list[HardwareState] = field(default_factory=list)
    power_supplies: list[HardwareState] = field(default_factory=list)
    profile: str | None = None  # the profile that read them (generic for HOST-RESOURCES/ENTITY-SENSOR)
    optics: list[Optic] = field(default_factory=list)  # transceivers with DOM, where the profile reads them


@dataclass(slots=True)
class DevicePoll:
    """One device's poll. `state`/`reason` say whether it answered: reason is an SnmpError.reason."""

    device: str  # the device's name
    started_at: float  # unix time
    duration_s: float
    state: DeviceState
    reason: str | None = None  # timeout | auth_failure | malformed_reply | protocol_error | bad_walk | …
    detail: str | None = None  # a sentence for operators: what failed, where
    system: SystemInfo | None = None
    interfaces: list[InterfaceSample] = field(default_factory=list)
    neighbors: list[Neighbor] = field(default_factory=list)
    fdb: list[FdbEntry] = field(default_factory=list)
    arp: list[ArpEntry] = field(default_factory=list)
    resources: Resources | None = None
    module_errors: dict[str, str] = field(default_factory=dict)  # a module that failed, why; others kept
    varbinds: int = 0
