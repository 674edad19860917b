"""Generate a simulated province's switches as snmpsim recordings.

Topology: core switch(es) at the provincial data center, an optional distribution tier (added
automatically when the core runs out of ports), and access switches spread over the commune sites, each
with simulated PCs behind its access ports. Every recording carries what the poller reads: the system
group (realistic Cisco IOS / Huawei VRP / H3C Comware / Junos texts, some sysContact/sysLocation left
blank for the compliance checks), IF-MIB ifTable + ifXTable with counters that advance while snmpsim
runs (a few ports down, a few erroring), LLDP-MIB neighbours consistent on both ends of every link
(plus CISCO-CDP-MIB between Cisco devices), BRIDGE-MIB / Q-BRIDGE-MIB forwarding tables holding the
PCs' MACs, IP-MIB ARP on the L3 devices (core, distribution), and HOST-RESOURCES CPU/memory and
ENTITY-SENSOR temperatures on some devices. Output is deterministic for a given seed.

Addresses inside recordings (10.x) are labels only: nothing is ever sent to them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from canhgac_collector.lab.snmprec import COUNTER32, COUNTER64, TIMETICKS, SnmprecWriter

Role = Literal["core", "distribution", "access"]
Vendor = Literal["cisco", "huawei", "h3c", "juniper"]

USER_VLAN = 10
MGMT_VLAN = 99
MANIFEST = "province.json"
DEFAULT_SITES = ("P-TTDL", "P-X01", "P-X02", "P-X03", "P-X04", "P-X05")

# OIDs used below (numeric: recordings carry no MIB names).
SYSTEM = "1.3.6.1.2.1.1"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
ARP_ENTRY = "1.3.6.1.2.1.4.22.1"
HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"
HR_PROCESSOR = "1.3.6.1.2.1.25.3.3.1"
ENT_PHYSICAL = "1.3.6.1.2.1.47.1.1.1.1"
ENT_SENSOR = "1.3.6.1.2.1.99.1.1.1"
DOT1D_BASE = "1.3.6.1.2.1.17.1"
DOT1D_FDB = "1.3.6.1.2.1.17.4.3.1"
DOT1Q_FDB = "1.3.6.1.2.1.17.7.1.2.2.1"
LLDP_LOC = "1.0.8802.1.1.2.1.3"
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
LLDP_REM_MAN = "1.0.8802.1.1.2.1.4.2.1"
CDP_CACHE = "1.3.6.1.4.1.9.9.23.1.2.1.1"


class LabPc(NamedTuple):
    """A simulated PC: its MAC (aa:bb:cc:dd:ee:ff), IPv4 label, and the access port (ifName) it is on."""

    mac: str
    ip: str
    port: str
    if_index: int
    vlan: int = USER_VLAN


class LabNeighbor(NamedTuple):
    """One end of a link as the local device sees it."""

    local_port: str
    local_if_index: int
    remote_device: str
    remote_port: str


@dataclass
class LabDevice:
    """One generated switch: where it sits, how to reach its recording, and what the recording holds."""

    name: str
    site: str
    role: Role
    vendor: Vendor
    model: str
    ports: int
    community: str
    recording: Path
    mgmt_ip: str
    base_mac: str
    sys_object_id: str
    pcs: list[LabPc] = field(default_factory=list)
    neighbors: list[LabNeighbor] = field(default_factory=list)
    down_ports: list[str] = field(default_factory=list)  # admin up, oper down
    disabled_ports: list[str] = field(default_factory=list)  # admin down
    error_ports: list[str] = field(default_factory=list)  # ifInErrors advancing
    sys_contact: str = ""
    sys_location: str = ""
    cpu_percent: int | None = None
    temperature_c: int | None = None


@dataclass(frozen=True)
class _Model:
    name: str
    sys_object_id: str
    descr: str


_VENDOR_OUI = {"cisco": "00:1e:bd", "huawei": "00:e0:fc", "h3c": "3c:8c:40", "juniper": "88:e0:f3"}
_PC_OUIS = ("00:14:22", "3c:52:82", "8c:dc:d4", "f0:1f:af", "54:e1:ad", "18:66:da")  # Dell, HP, Lenovo


def _models(vendor: Vendor, role: Role, ports: int) -> _Model:
    big = role != "access"
    if vendor == "cisco":
        if big:
            return _Model(
                "C9500-48Y4C",
                "1.3.6.1.4.1.9.1.2495",
                "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.9.4a, "
                "RELEASE SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n"
                "Copyright (c) 1986-2023 by Cisco Systems, Inc.\r\nCompiled Fri 20-Oct-23 10:44 by mcpre",
            )
        model = f"WS-C2960X-{ports}TS-L"
        return _Model(
            model,
            "1.3.6.1.4.1.9.1.1208" if ports == 48 else "1.3.6.1.4.1.9.1.1257",
            "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE "
            "SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n"
            "Copyright (c) 1986-2023 by Cisco Systems, Inc.\r\nCompiled Fri 31-Mar-23 19:43 by mcpre",
        )
    if vendor == "huawei":
        model = "S6730-H48X6C" if big else f"S5735-L{ports}T4X-A1"
        version = "V200R022C00SPC500"
        return _Model(
            model,
            "1.3.6.1.4.1.2011.2.23." + ("596" if big else "700" if ports == 48 else "699"),
            f"{model}\r\nHuawei Versatile Routing Platform Software\r\nVRP (R) software, Version 5.170 "
            f"({model.split('-')[0]} {version})\r\nCopyright (C) 2000-2023 HUAWEI TECH Co., Ltd.",
        )
    if vendor == "h3c":
        model = "S6520X-54QC-EI" if big else f"S5130S-{ports + 4}S-EI"
        return _Model(
            model,
            "1.3.6.1.4.1.25506.1." + ("2204" if big else "1780" if ports == 48 else "1779"),
            "H3C Comware Platform Software, Software Version 7.1.070, Release 6328P03\r\n"
            f"H3C {model}\r\nCopyright (c) 2004-2023 New H3C Technologies Co., Ltd. All rights reserved.",
        )
    model = "ex4650-48y" if big else f"ex2300-{ports}t"
    return _Model(
        model,
        "1.3.6.1.4.1.2636.1.1.1.2." + ("164" if big else "132"),
        f"Juniper Networks, Inc. {model} Ethernet Switch, kernel JUNOS 21.4R3-S5.4, Build date: "
        "2023-09-19 02:42:34 UTC Copyright (c) 1996-2023 Juniper Networks, Inc.",
    )


def _port_names(vendor: Vendor, role: Role, number: int, ports: int) -> tuple[str, str, int]:
    """(ifName, ifDescr, speed in Mb/s) of front-panel port `number` (1-based)."""
    uplink = role != "access" or number > ports - 2
    j = number - (ports - 2)  # 1 or 2 on an access switch's uplinks
    if vendor == "cisco":
        if role != "access":
            return f"Te1/0/{number}", f"TenGigabitEthernet1/0/{number}", 10000
        if uplink:
            return f"Te1/1/{j}", f"TenGigabitEthernet1/1/{j}", 10000
        return f"Gi1/0/{number}", f"GigabitEthernet1/0/{number}", 1000
    if vendor == "huawei":
        if uplink:
            n = number if role != "access" else j
            return f"XGigabitEthernet0/0/{n}", f"XGigabitEthernet0/0/{n}", 10000
        return f"GigabitEthernet0/0/{number}", f"GigabitEthernet0/0/{number}", 1000
    if vendor == "h3c":
        kind, speed = ("Ten-GigabitEthernet", 10000) if uplink else ("GigabitEthernet", 1000)
        return f"{kind}1/0/{number}", f"{kind}1/0/{number}", speed
    if role != "access":
        return f"xe-0/0/{number - 1}", f"xe-0/0/{number - 1}", 10000
    if uplink:
        return f"xe-0/1/{j - 1}", f"xe-0/1/{j - 1}", 10000
    return f"ge-0/0/{number - 1}", f"ge-0/0/{number - 1}", 1000


def _svi_name(vendor: Vendor, vlan: int) -> str:
    return {"cisco": "Vlan", "huawei": "Vlanif", "h3c": "Vlan-interface", "juniper": "irb."}[vendor] + str(
        vlan
    )


def _if_index(vendor: Vendor, number: int) -> int:
    """ifIndex of front-panel port `number`: vendors number them differently, and pollers must not assume."""
    return {"cisco": 10100, "huawei": 5, "h3c": 0, "juniper": 500}[vendor] + number


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def _mac_add(mac: str, offset: int) -> str:
    value = (int.from_bytes(_mac_bytes(mac), "big") + offset) & 0xFFFFFFFFFFFF
    return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))


def _mac_oid(mac: str) -> str:
    return ".".join(str(b) for b in _mac_bytes(mac))


def _plan(devices: int, ports: int, core: int | None, distribution: int | None) -> tuple[int, int, int]:
    """(cores, distribution switches, access switches) so that every switch has a free port upstream."""
    n_core = core if core is not None else (1 if devices < 40 else 2)
    n_core = max(1, min(n_core, devices))
    core_down = n_core * (ports - 2)  # two ports per core kept for the core pair / WAN
    if distribution is None:
        n_dist = 0
        while devices - n_core - n_dist > (core_down if n_dist == 0 else n_dist * (ports - 2)):
            n_dist += 1
            if n_dist > core_down:
                raise ValueError(f"{devices} switches of {ports} ports do not fit under {n_core} core(s)")
    else:
        n_dist = distribution
    n_access = devices - n_core - n_dist
    if n_access < 0:
        raise ValueError("devices must be at least core + distribution")
    if n_dist and n_dist > core_down:
        raise ValueError("too many distribution switches for the core's ports")
    if n_access > (core_down if n_dist == 0 else n_dist * (ports - 2)):
        raise ValueError(f"{n_access} access switches do not fit under {n_dist} distribution switches")
    return n_core, n_dist, n_access


@dataclass
class _Port:
    number: int
    if_index: int
    name: str
    descr: str
    speed: int
    mac: str
    alias: str = ""
    admin: int = 1
    oper: int = 1
    in_rate: float = 0.0
    out_rate: float = 0.0
    error_rate: float = 0.0
    discard_rate: float = 0.0
    if_type: int = 6
    mtu: int = 1500
    learned: list[tuple[str, int]] = field(default_factory=list)  # (mac, vlan) in the FDB on this port


def generate_province(
    out_dir: Path,
    *,
    sites: Sequence[str] | None = None,
    devices: int = 12,
    ports: int = 48,
    seed: int = 1,
    core: int | None = None,
    distribution: int | None = None,
    pc_fraction: float = 0.6,
) -> list[LabDevice]:
    """Write one ``<name>.snmprec`` per switch into `out_dir` and return the devices (core first).

    `sites[0]` is the provincial data center (core and distribution switches); access switches are
    spread round-robin over the other sites. `pc_fraction` of each access switch's access ports have a
    PC behind them. A ``province.json`` manifest is written beside the recordings.
    """
    if ports not in (24, 48):
        raise ValueError("ports must be 24 or 48")
    if devices < 1:
        raise ValueError("devices must be >= 1")
    site_list = list(sites) if sites else list(DEFAULT_SITES)
    dc_site = site_list[0]
    access_sites = site_list[1:] or [dc_site]
    rng = random.Random(seed)
    n_core, n_dist, n_access = _plan(devices, ports, core, distribution)
    out_dir.mkdir(parents=True, exist_ok=True)

    # -- who is who ---------------------------------------------------------------------------------
    lab: list[LabDevice] = []
    used_macs: set[str] = set()
    per_site_count: dict[str, int] = {}

    def new_device(role: Role, site: str, vendor: Vendor, k: int) -> LabDevice:
        count = per_site_count[site] = per_site_count.get(site, 0) + 1
        abbr = {"core": "core", "distribution": "dist", "access": "sw"}[role]
        name = f"{site.lower()}-{abbr}{count:02d}"
        model = _models(vendor, role, ports)
        base_mac = _mac_add(_VENDOR_OUI[vendor] + ":00:00:00", 0x1000 * (k + 1) + rng.randrange(0x100))
        contact = "" if rng.random() < 0.25 else f"Trực vận hành - {site} - noc@example.gov.vn"
        location = "" if rng.random() < 0.2 else f"{site}, phòng máy chủ / server room"
        device = LabDevice(
            name=name,
            site=site,
            role=role,
            vendor=vendor,
            model=model.name,
            ports=ports,
            community=name,
            recording=out_dir / f"{name}.snmprec",
            mgmt_ip=f"10.255.{k // 250}.{k % 250 + 1}",
            base_mac=base_mac,
            sys_object_id=model.sys_object_id,
            sys_contact=contact,
            sys_location=location,
        )
        lab.append(device)
        return device

    k = 0
    for _ in range(n_core):
        new_device("core", dc_site, "cisco", k)
        k += 1
    dist_vendors: tuple[Vendor, Vendor] = ("huawei", "h3c")
    for i in range(n_dist):
        new_device("distribution", dc_site, dist_vendors[i % 2], k)
        k += 1
    vendors: list[Vendor] = ["cisco", "huawei", "h3c", "juniper"]
    weights = [35, 30, 25, 10]
    for i in range(n_access):
        new_device("access", access_sites[i % len(access_sites)], rng.choices(vendors, weights)[0], k)
        k += 1

    # -- ports ------------------------------------------------------------------------------------------
    port_table: dict[str, list[_Port]] = {}
    for dev in lab:
        table = []
        for number in range(1, ports + 1):
            name, descr, speed = _port_names(dev.vendor, dev.role, number, ports)
            table.append(
                _Port(
                    number, _if_index(dev.vendor, number), name, descr, speed, _mac_add(dev.base_mac, number)
                )
            )
        port_table[dev.name] = table

    # -- links: each switch's last port(s) go up; parents hand out downlinks from port 1 ----------------
    cores = [d for d in lab if d.role == "core"]
    dists = [d for d in lab if d.role == "distribution"]
    accesses = [d for d in lab if d.role == "access"]
    next_free: dict[str, int] = {d.name: 1 for d in lab}
    by_name = {d.name: d for d in lab}
    parent_of: dict[str, str] = {}

    def link(a: LabDevice, a_port: _Port, b: LabDevice, b_port: _Port, rate: float) -> None:
        a_port.alias = (
            f"uplink {b.name} {b_port.name}" if b.role != "access" else f"to {b.name} {b_port.name}"
        )
        b_port.alias = (
            f"to {a.name} {a_port.name}" if a.role == "access" else f"uplink {a.name} {a_port.name}"
        )
        for port in (a_port, b_port):
            port.oper = port.admin = 1
        a_port.in_rate, a_port.out_rate = rate * 0.3, rate
        b_port.in_rate, b_port.out_rate = rate, rate * 0.3
        a.neighbors.append(LabNeighbor(a_port.name, a_port.if_index, b.name, b_port.name))
        b.neighbors.append(LabNeighbor(b_port.name, b_port.if_index, a.name, a_port.name))

    def take_downlink(parent: LabDevice) -> _Port:
        number = next_free[parent.name]
        limit = ports - 2
        if number > limit:
            raise ValueError(f"{parent.name} has no free downlink port")
        next_free[parent.name] = number + 1
        return port_table[parent.name][number - 1]

    if len(cores) == 2:  # the core pair: last two ports
        for number in (ports - 1, ports):
            link(
                cores[0],
                port_table[cores[0].name][number - 1],
                cores[1],
                port_table[cores[1].name][number - 1],
                rng.uniform(2e6, 2e7),
            )
    for dist in dists:
        uplinks = cores if len(cores) == 2 else [cores[0]]
        for j, up in enumerate(uplinks):
            link(
                dist,
                port_table[dist.name][ports - len(uplinks) + j],
                up,
                take_downlink(up),
                rng.uniform(1e6, 1e7),
            )
        parent_of[dist.name] = uplinks[0].name
    uppers = dists or cores
    for i, acc in enumerate(accesses):
        parent = uppers[i % len(uppers)] if dists else cores[i % len(cores)]
        link(acc, port_table[acc.name][ports - 1], parent, take_downlink(parent), rng.uniform(2e5, 5e6))
        parent_of[acc.name] = parent.name

    # -- PCs, down/erroring ports ---------------------------------------------------------------------
    gateway_mac = _mac_add(cores[0].base_mac, 0x800)  # the core's user-VLAN SVI: every PC's gateway
    for a_index, acc in enumerate(accesses):
        table = port_table[acc.name]
        access_ports = table[: ports - 2]
        for port in access_ports:
            if rng.random() < pc_fraction:
                mac = ""
                while not mac or mac in used_macs:
                    oui = rng.choice(_PC_OUIS)
                    mac = oui + ":" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
                used_macs.add(mac)
                ip = f"10.{100 + a_index // 250}.{a_index % 250}.{port.number + 10}"
                acc.pcs.append(LabPc(mac, ip, port.name, port.if_index))
                port.learned.append((mac, USER_VLAN))
                port.alias = f"PC {acc.site} {port.number:02d}"
                port.in_rate, port.out_rate = rng.uniform(2e3, 2e5), rng.uniform(1e4, 1e6)
            elif rng.random() < 0.1:
                port.admin, port.oper = 2, 2
                acc.disabled_ports.append(port.name)
            else:
                port.oper = 2
                acc.down_ports.append(port.name)
        live = [p for p in access_ports if p.oper == 1]
        for port in rng.sample(live, k=min(len(live), 1 if rng.random() < 0.5 else 0)):
            port.error_rate = rng.choice((0.2, 1.0, 5.0))
            port.discard_rate = port.error_rate / 2
            acc.error_ports.append(port.name)
        table[ports - 1].learned.append((gateway_mac, USER_VLAN))
        table[ports - 1].learned.append((cores[0].base_mac, MGMT_VLAN))
        # Unused second uplink: not cabled.
        if table[ports - 2].oper == 1 and not table[ports - 2].alias:
            table[ports - 2].oper = 2
            acc.down_ports.append(table[ports - 2].name)

    # Upstream FDBs: each parent learns the PCs behind each downlink (what "locate" has to see through).
    for acc in accesses:
        child, parent_name = acc, parent_of[acc.name]
        while True:
            parent = by_name[parent_name]
            port_name = next(n.local_port for n in parent.neighbors if n.remote_device == child.name)
            port = next(p for p in port_table[parent.name] if p.name == port_name)
            port.learned.extend((pc.mac, USER_VLAN) for pc in acc.pcs)
            if parent.name not in parent_of:
                break
            child, parent_name = parent, parent_of[parent.name]

    for dev in lab:
        linked = {n.local_port for n in dev.neighbors}
        for port in port_table[dev.name]:
            if dev.role != "access" and port.name not in linked:
                port.admin, port.oper = 2, 2  # unused core/distribution ports are shut
                dev.disabled_ports.append(port.name)
            if dev.role != "access":
                port.mtu = 9216
        if dev.role != "access" or rng.random() < 0.5:
            dev.cpu_percent = rng.randrange(3, 35)
        if dev.role != "access" or rng.random() < 0.3:
            dev.temperature_c = rng.randrange(32, 48)
    hot = [d for d in accesses if d.temperature_c is not None]
    if hot:
        hot[0].temperature_c = 74  # one closet without air conditioning
    busy = [d for d in accesses if d.cpu_percent is not None]
    if busy:
        busy[0].cpu_percent = 93

    # -- recordings -----------------------------------------------------------------------------------
    for dev in lab:
        _write_recording(dev, port_table, by_name, rng, lab, parent_of)
    manifest = [
        {
            **asdict(d),
            "recording": d.recording.name,
            "pcs": [pc._asdict() for pc in d.pcs],
            "neighbors": [n._asdict() for n in d.neighbors],
        }
        for d in lab
    ]
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return lab


def _write_recording(
    dev: LabDevice,
    port_table: dict[str, list[_Port]],
    by_name: dict[str, LabDevice],
    rng: random.Random,
    lab: list[LabDevice],
    parent_of: dict[str, str],
) -> None:
    w = SnmprecWriter()
    model = _models(dev.vendor, dev.role, dev.ports)
    uptime = rng.randrange(3600 * 100, 200 * 86400 * 100)  # 1 h … 200 days, in ticks
    w.octets(f"{SYSTEM}.1.0", model.descr)
    w.object_id(f"{SYSTEM}.2.0", dev.sys_object_id)
    w.advancing(f"{SYSTEM}.3.0", TIMETICKS, uptime, 100)
    w.octets(f"{SYSTEM}.4.0", dev.sys_contact)
    w.octets(f"{SYSTEM}.5.0", dev.name)
    w.octets(f"{SYSTEM}.6.0", dev.sys_location)
    w.integer(f"{SYSTEM}.7.0", 78 if dev.role != "access" else 2)  # sysServices: L2 (+L3, L4, L7)

    ports = list(port_table[dev.name])
    l3 = dev.role != "access"
    svis: list[_Port] = []
    for vlan in (USER_VLAN, MGMT_VLAN) if l3 else (MGMT_VLAN,):
        name = _svi_name(dev.vendor, vlan)
        svi = _Port(
            0, 1000 + vlan, name, name, 1000, _mac_add(dev.base_mac, 0x800 if vlan == USER_VLAN else 0x801)
        )
        svi.if_type, svi.alias = 136, "users" if vlan == USER_VLAN else "management"
        svi.in_rate, svi.out_rate = rng.uniform(1e4, 1e6), rng.uniform(1e4, 1e6)
        svis.append(svi)
    interfaces = ports + svis
    w.integer(IF_NUMBER, len(interfaces))
    for p in interfaces:
        i = p.if_index
        up = p.oper == 1
        hc_in = rng.randrange(1 << 30, 1 << 44) if up else rng.randrange(0, 1 << 30)
        hc_out = rng.randrange(1 << 30, 1 << 44) if up else rng.randrange(0, 1 << 30)
        pkt_in, pkt_out = hc_in // 700, hc_out // 700
        w.integer(f"{IF_ENTRY}.1.{i}", i)
        w.octets(f"{IF_ENTRY}.2.{i}", p.descr)
        w.integer(f"{IF_ENTRY}.3.{i}", p.if_type)
        w.integer(f"{IF_ENTRY}.4.{i}", p.mtu)
        w.gauge32(f"{IF_ENTRY}.5.{i}", min(p.speed * 1_000_000, 0xFFFFFFFF))
        w.octets(f"{IF_ENTRY}.6.{i}", _mac_bytes(p.mac))
        w.integer(f"{IF_ENTRY}.7.{i}", p.admin)
        w.integer(f"{IF_ENTRY}.8.{i}", p.oper)
        w.timeticks(f"{IF_ENTRY}.9.{i}", rng.randrange(0, uptime // 2))
        counters = [  # (ifTable column, ifXTable column or None, initial, rate)
            (10, 6, hc_in, p.in_rate),
            (11, 7, pkt_in, p.in_rate / 700),
            (16, 10, hc_out, p.out_rate),
            (17, 11, pkt_out, p.out_rate / 700),
        ]
        for col32, col64, initial, rate in counters:
            if up and rate > 0:
                w.advancing(f"{IF_ENTRY}.{col32}.{i}", COUNTER32, initial & 0xFFFFFFFF, round(rate, 1))
                w.advancing(f"{IFX_ENTRY}.{col64}.{i}", COUNTER64, initial, round(rate, 1))
            else:
                w.counter32(f"{IF_ENTRY}.{col32}.{i}", initial)
                w.counter64(f"{IFX_ENTRY}.{col64}.{i}", initial)
        for col, rate in ((13, p.discard_rate), (14, p.error_rate), (19, 0.0), (20, 0.0)):
            base = rng.randrange(100, 5000) if rate else rng.choice((0, 0, 0, rng.randrange(1, 20)))
            if up and rate:
                w.advancing(f"{IF_ENTRY}.{col}.{i}", COUNTER32, base, rate)
            else:
                w.counter32(f"{IF_ENTRY}.{col}.{i}", base)
        w.counter32(f"{IF_ENTRY}.15.{i}", 0)
        mc_in, bc_in, mc_out, bc_out = (rng.randrange(0, 1 << 24) for _ in range(4))
        w.octets(f"{IFX_ENTRY}.1.{i}", p.name)
        w.counter32(f"{IFX_ENTRY}.2.{i}", mc_in)
        w.counter32(f"{IFX_ENTRY}.3.{i}", bc_in)
        w.counter32(f"{IFX_ENTRY}.4.{i}", mc_out)
        w.counter32(f"{IFX_ENTRY}.5.{i}", bc_out)
        w.counter64(f"{IFX_ENTRY}.8.{i}", mc_in)
        w.counter64(f"{IFX_ENTRY}.9.{i}", bc_in)
        w.counter64(f"{IFX_ENTRY}.12.{i}", mc_out)
        w.counter64(f"{IFX_ENTRY}.13.{i}", bc_out)
        w.integer(f"{IFX_ENTRY}.14.{i}", 1)
        w.gauge32(f"{IFX_ENTRY}.15.{i}", p.speed)
        w.integer(f"{IFX_ENTRY}.16.{i}", 2)
        w.integer(f"{IFX_ENTRY}.17.{i}", 1 if p.if_type == 6 else 2)
        w.octets(f"{IFX_ENTRY}.18.{i}", p.alias)
        w.timeticks(f"{IFX_ENTRY}.19.{i}", 0)

    # BRIDGE-MIB: bridge port n = front-panel port n, mapped to its ifIndex.
    w.octets(f"{DOT1D_BASE}.1.0", _mac_bytes(dev.base_mac))
    w.integer(f"{DOT1D_BASE}.2.0", len(ports))
    w.integer(f"{DOT1D_BASE}.3.0", 2)  # transparent-only
    for p in ports:
        w.integer(f"{DOT1D_BASE}.4.1.1.{p.number}", p.number)
        w.integer(f"{DOT1D_BASE}.4.1.2.{p.number}", p.if_index)
    fdb: dict[str, int] = {}
    qfdb: dict[tuple[int, str], int] = {}
    for p in ports:
        for mac, vlan in p.learned:
            fdb.setdefault(mac, p.number)
            qfdb[(vlan, mac)] = p.number
    for mac, number in fdb.items():
        w.octets(f"{DOT1D_FDB}.1.{_mac_oid(mac)}", _mac_bytes(mac))
        w.integer(f"{DOT1D_FDB}.2.{_mac_oid(mac)}", number)
        w.integer(f"{DOT1D_FDB}.3.{_mac_oid(mac)}", 3)  # learned
    for (vlan, mac), number in qfdb.items():
        w.integer(f"{DOT1Q_FDB}.2.{vlan}.{_mac_oid(mac)}", number)
        w.integer(f"{DOT1Q_FDB}.3.{vlan}.{_mac_oid(mac)}", 3)

    # IP-MIB ARP on L3 devices: the PCs below them on the user SVI, the switches on the management SVI.
    if l3:
        below = _subtree(dev.name, lab, parent_of)
        user_svi, mgmt_svi = svis[0].if_index, svis[1].if_index
        entries: list[tuple[int, str, str]] = []
        for other in below:
            entries.extend((user_svi, pc.ip, pc.mac) for pc in other.pcs)
            entries.append((mgmt_svi, other.mgmt_ip, _mac_add(other.base_mac, 0x801)))
        for if_index, ip, mac in entries:
            index = f"{if_index}.{ip}"
            w.integer(f"{ARP_ENTRY}.1.{index}", if_index)
            w.octets(f"{ARP_ENTRY}.2.{index}", _mac_bytes(mac))
            w.ip_address(f"{ARP_ENTRY}.3.{index}", ip)
            w.integer(f"{ARP_ENTRY}.4.{index}", 3)  # dynamic

    # LLDP-MIB: local chassis and ports, and one remote entry per cabled neighbour.
    w.integer(f"{LLDP_LOC}.1.0", 4)  # chassis id subtype: macAddress
    w.octets(f"{LLDP_LOC}.2.0", _mac_bytes(dev.base_mac))
    w.octets(f"{LLDP_LOC}.3.0", dev.name)
    w.octets(f"{LLDP_LOC}.4.0", model.descr)
    for p in ports:
        w.integer(f"{LLDP_LOC}.7.1.2.{p.number}", 5)  # port id subtype: interfaceName
        w.octets(f"{LLDP_LOC}.7.1.3.{p.number}", p.name)
        w.octets(f"{LLDP_LOC}.7.1.4.{p.number}", p.descr)
    by_port = {p.name: p for p in ports}
    for n in dev.neighbors:
        remote = by_name[n.remote_device]
        remote_port = next(p for p in port_table[remote.name] if p.name == n.remote_port)
        idx = f"0.{by_port[n.local_port].number}.1"
        caps = bytes((0x28,)) if remote.role != "access" else bytes((0x20,))  # bridge (+router)
        w.integer(f"{LLDP_REM}.4.{idx}", 4)
        w.octets(f"{LLDP_REM}.5.{idx}", _mac_bytes(remote.base_mac))
        w.integer(f"{LLDP_REM}.6.{idx}", 5)
        w.octets(f"{LLDP_REM}.7.{idx}", remote_port.name)
        w.octets(f"{LLDP_REM}.8.{idx}", remote_port.descr)
        w.octets(f"{LLDP_REM}.9.{idx}", remote.name)
        w.octets(f"{LLDP_REM}.10.{idx}", _models(remote.vendor, remote.role, remote.ports).descr)
        w.octets(f"{LLDP_REM}.11.{idx}", caps)
        w.octets(f"{LLDP_REM}.12.{idx}", caps)
        man = f"{idx}.1.4.{remote.mgmt_ip}"
        w.integer(f"{LLDP_REM_MAN}.3.{man}", 2)  # ifIndex
        w.integer(f"{LLDP_REM_MAN}.4.{man}", 1000 + MGMT_VLAN)
        if dev.vendor == "cisco" and remote.vendor == "cisco":  # CDP runs only between Cisco devices
            cdp = f"{by_port[n.local_port].if_index}.1"
            w.integer(f"{CDP_CACHE}.3.{cdp}", 1)  # ip
            w.octets(f"{CDP_CACHE}.4.{cdp}", bytes(int(x) for x in remote.mgmt_ip.split(".")))
            w.octets(f"{CDP_CACHE}.5.{cdp}", _models(remote.vendor, remote.role, remote.ports).descr)
            w.octets(f"{CDP_CACHE}.6.{cdp}", remote.name)
            w.octets(f"{CDP_CACHE}.7.{cdp}", remote_port.descr)
            w.octets(f"{CDP_CACHE}.8.{cdp}", f"cisco {remote.model}")

    # HOST-RESOURCES CPU and memory, ENTITY-SENSOR temperature, where this device exposes them.
    if dev.cpu_percent is not None:
        w.object_id(f"{HR_PROCESSOR}.1.1", "0.0")
        w.integer(f"{HR_PROCESSOR}.2.1", dev.cpu_percent)
        total = 2 * 1024 * 1024 if l3 else 512 * 1024  # KiB
        w.integer(f"{HR_STORAGE}.1.1", 1)
        w.object_id(f"{HR_STORAGE}.2.1", "1.3.6.1.2.1.25.2.1.2")  # hrStorageRam
        w.octets(f"{HR_STORAGE}.3.1", "Physical memory")
        w.integer(f"{HR_STORAGE}.4.1", 1024)
        w.integer(f"{HR_STORAGE}.5.1", total)
        w.integer(f"{HR_STORAGE}.6.1", int(total * rng.uniform(0.3, 0.8)))
    if dev.temperature_c is not None:
        sensor = 1001
        w.octets(f"{ENT_PHYSICAL}.2.{sensor}", "Chassis temperature sensor")
        w.integer(f"{ENT_PHYSICAL}.5.{sensor}", 8)  # sensor
        w.octets(f"{ENT_PHYSICAL}.7.{sensor}", "TEMP 1")
        w.integer(f"{ENT_SENSOR}.1.{sensor}", 8)  # celsius
        w.integer(f"{ENT_SENSOR}.2.{sensor}", 9)  # units
        w.integer(f"{ENT_SENSOR}.3.{sensor}", 0)
        w.integer(f"{ENT_SENSOR}.4.{sensor}", dev.temperature_c)
        w.integer(f"{ENT_SENSOR}.5.{sensor}", 1)  # ok
    w.write(dev.recording)


def _subtree(name: str, lab: list[LabDevice], parent_of: dict[str, str]) -> list[LabDevice]:
    """Devices below `name` (for a core: every non-core device)."""
    out = []
    for dev in lab:
        up = parent_of.get(dev.name)
        while up is not None and up != name:
            up = parent_of.get(up)
        if up == name:
            out.append(dev)
    return out


def load_province(out_dir: Path) -> list[LabDevice]:
    """The devices a previous `generate_province(out_dir, …)` wrote (from its manifest)."""
    out: list[LabDevice] = []
    for item in json.loads((out_dir / MANIFEST).read_text(encoding="utf-8")):
        item["recording"] = out_dir / item["recording"]
        item["pcs"] = [LabPc(**pc) for pc in item["pcs"]]
        item["neighbors"] = [LabNeighbor(**n) for n in item["neighbors"]]
        out.append(LabDevice(**item))
    return out


def recordings(devices: Sequence[LabDevice]) -> dict[str, Path]:
    """community → recording, ready for `SnmpsimFleet`."""
    return {d.community: d.recording for d in devices}
