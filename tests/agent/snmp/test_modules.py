"""MIB modules against real snmpsim agents: a recording with known values, and real device dumps."""

from __future__ import annotations

import asyncio
import bz2
from collections.abc import Iterator
from pathlib import Path

import pytest

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.modules import MODULES
from canhgac_agent.snmp.poller import poll_device
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import Credentials, DeviceTarget, Target
from canhgac_collector.lab.snmpsim import SnmpsimFleet, snmpsim_data_dir, snmpsim_data_recordings
from tests.harness.snmp_recordings import MACS, Row, switch_rows, write_recording

REAL = (
    "network/switch/cisco-c3750",
    "network/switch/hpe-procurve-516733-b21",
    "network/router/vyatta-unknown",
)
ARISTA = "cloud/arista-dcs-7150s-52-cl"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimFleet]:
    work = tmp_path_factory.mktemp("modules")
    recordings = {c: p for c, p in snmpsim_data_recordings().items() if c in REAL}
    recordings[ARISTA] = snmpsim_data_dir() / f"{ARISTA}.snmprec.bz2"
    recordings["lab/sw-hc"] = write_recording(work / "rec" / "sw-hc.snmprec", switch_rows())
    recordings["lab/sw-32"] = write_recording(
        work / "rec" / "sw-32.snmprec", switch_rows(in_hc=None, lldp=False)
    )
    with SnmpsimFleet(recordings, work / "fleet", per_process=4) as f:
        yield f


def _fdb_rows(entries: list[tuple[str, int, int]]) -> list[Row]:
    """dot1dTpFdbTable rows (mac, bridge port) and dot1dBasePortIfIndex (bridge port → ifIndex)."""
    rows: list[Row] = []
    for mac, port, if_index in entries:
        index = ".".join(str(int(b, 16)) for b in mac.split(":"))
        rows += [
            (f"1.3.6.1.2.1.17.4.3.1.1.{index}", "4x", mac.replace(":", "")),
            (f"1.3.6.1.2.1.17.4.3.1.2.{index}", "2", str(port)),
            (f"1.3.6.1.2.1.17.4.3.1.3.{index}", "2", "3"),
            (f"1.3.6.1.2.1.17.1.4.1.2.{port}", "2", str(if_index)),
        ]
    return rows


def cisco_per_vlan_recordings(folder: Path) -> dict[str, Path]:
    """A Cisco IOS switch: no Q-BRIDGE, VLANs 1 and 20 in VTP, one bridge table per VLAN (community@vlan)."""
    base = [
        r for r in switch_rows(lldp=False) if not r[0].startswith(("1.3.6.1.2.1.17.", "1.3.6.1.2.1.1.2."))
    ]
    base += [
        ("1.3.6.1.2.1.1.2.0", "6", "1.3.6.1.4.1.9.1.1227"),
        ("1.3.6.1.4.1.9.9.46.1.3.1.1.2.1.1", "2", "1"),
        ("1.3.6.1.4.1.9.9.46.1.3.1.1.2.1.20", "2", "1"),
        ("1.3.6.1.4.1.9.9.46.1.3.1.1.2.1.1002", "2", "1"),
        *_fdb_rows([(MACS[0], 1, 1)]),  # the plain community sees VLAN 1 only
    ]
    return {
        "lab/cisco": write_recording(folder / "cisco.snmprec", base),
        "lab/cisco@1": write_recording(folder / "cisco@1.snmprec", _fdb_rows([(MACS[0], 1, 1)])),
        "lab/cisco@20": write_recording(
            folder / "cisco@20.snmprec", _fdb_rows([(MACS[1], 3, 2), (MACS[2], 4, 3)])
        ),
    }


@pytest.fixture(scope="module")
def cisco_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimFleet]:
    """One snmpsim process: a community's per-VLAN variants must be served by the same agent."""
    work = tmp_path_factory.mktemp("cisco")
    recordings = cisco_per_vlan_recordings(work / "rec")
    with SnmpsimFleet(recordings, work / "fleet", per_process=len(recordings)) as f:
        yield f


def poll(fleet: SnmpsimFleet, community: str) -> DevicePoll:
    host, port = fleet.endpoint(community)
    device = DeviceTarget(
        community, "test", Target(host, port, timeout_s=2.0, retries=1), Credentials("2c", community.encode())
    )

    async def run() -> DevicePoll:
        async with SnmpEngine() as engine:
            return await poll_device(engine, device, previous=None, max_repetitions=25)

    result = asyncio.run(run())
    assert result.state == "up", result.detail
    assert result.module_errors == {}
    return result


def recorded(community: str, prefix: str) -> list[tuple[str, str]]:
    """(oid, value) rows of a snmpsim-data recording under `prefix`."""
    path = snmpsim_data_dir() / f"{community}.snmprec.bz2"
    with bz2.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        rows = [line.rstrip("\n").split("|", 2) for line in fh if line.startswith(prefix + ".")]
    return [(oid, value) for oid, _, value in rows]


def test_registry_runs_system_first_then_interfaces() -> None:
    names = list(MODULES)
    assert names[:2] == ["system", "interfaces"]
    assert set(names) == {"system", "interfaces", "lldp", "cdp", "fdb", "arp", "resources"}


def test_known_switch_every_module(fleet: SnmpsimFleet) -> None:
    p = poll(fleet, "lab/sw-hc")
    assert p.system is not None
    assert (p.system.sysName, p.system.sysUpTime, p.system.vendor) == ("sw-xa-1", 123_456, "h3c")
    assert p.system.sysLocation == "UBND xã Thạch Hà"
    assert p.system.sysObjectID == "1.3.6.1.4.1.25506.1.1"
    assert [s.ifIndex for s in p.interfaces] == [1, 2, 3, 4]
    first, last = p.interfaces[0], p.interfaces[3]
    assert (first.ifName, first.ifDescr, first.ifAlias) == ("GE1/0/1", "GigabitEthernet1/0/1", "uplink")
    assert (first.ifType, first.ifMtu, first.ifSpeed, first.ifHighSpeed) == (6, 1500, 100_000_000, 100)
    assert first.ifPhysAddress == "00:1b:21:0b:00:01"
    assert (first.ifAdminStatus, first.ifOperStatus, last.ifOperStatus) == ("up", "up", "down")
    # HC counters preferred: the 32-bit octet/unicast twins are not even fetched.
    assert first.counters["ifHCInOctets"] == 5_000_000
    assert first.counters["ifHCOutOctets"] == 10_000_000
    assert "ifInOctets" not in first.counters
    assert last.counters["ifInErrors"] == 28
    [n] = p.neighbors
    assert (n.protocol, n.local_ifIndex, n.local_port) == ("lldp", 1, "GE1/0/1")
    assert (n.remote_name, n.remote_port, n.remote_chassis_id) == (
        "sw-huyen-core",
        "GE1/0/24",
        "70:10:6f:00:00:01",
    )
    assert (n.remote_address, n.remote_description) == ("10.20.0.1", "Huawei S5720")
    assert sorted((e.mac, e.vlan, e.ifIndex, e.status) for e in p.fdb) == sorted(
        [(MACS[0], 10, 2, "learned"), (MACS[1], 10, 3, "learned"), (MACS[2], 20, 4, "learned")]
    )
    assert [(a.ip, a.mac, a.ifIndex) for a in p.arp] == [
        ("10.20.10.1", MACS[0], 1),
        ("10.20.10.2", MACS[1], 1),
        ("10.20.20.3", MACS[2], 1),
    ]
    assert p.resources is not None
    assert p.resources.cpu_percent == 30.0
    assert (p.resources.memory_total_bytes, p.resources.memory_used_bytes) == (256 * 2**20, 128 * 2**20)
    assert p.resources.temperatures_c == {"CPU temp": 41.5}
    assert p.varbinds > 100


def test_32_bit_only_agent_gets_32_bit_counters(fleet: SnmpsimFleet) -> None:
    p = poll(fleet, "lab/sw-32")
    c = p.interfaces[0].counters
    assert (c["ifInOctets"], c["ifOutOctets"], c["ifInUcastPkts"]) == (1000, 2000, 10)
    assert "ifHCInOctets" not in c
    assert p.neighbors == []


def test_cisco_c3750_cdp_fdb_arp_match_the_recording(fleet: SnmpsimFleet) -> None:
    community = "network/switch/cisco-c3750"
    p = poll(fleet, community)
    assert p.system is not None
    assert p.system.vendor == "cisco"
    device_ids = recorded(community, "1.3.6.1.4.1.9.9.23.1.2.1.1.6")
    cdp = [n for n in p.neighbors if n.protocol == "cdp"]
    assert len(cdp) == len(device_ids) > 0
    if_indexes = {s.ifIndex for s in p.interfaces}
    assert all(n.local_ifIndex in if_indexes and n.local_port for n in cdp)
    assert all(n.remote_name for n in cdp)
    fdb_rows = recorded(community, "1.3.6.1.2.1.17.4.3.1.2")
    assert len(p.fdb) == len(fdb_rows) > 0
    assert all(len(e.mac) == 17 and e.ifIndex in if_indexes for e in p.fdb if e.status == "learned")
    arp_rows = recorded(community, "1.3.6.1.2.1.4.22.1.2")
    assert 0 < len(p.arp) <= len(arp_rows)
    assert p.resources is not None
    assert p.resources.cpu_percent is not None  # cpmCPUTotal5minRev: no HOST-RESOURCES on IOS
    # The recording has no per-VLAN communities: the first poll waited one timeout (2 tries × 2 s) to
    # learn that, and later polls remember it instead of waiting again.
    again = poll(fleet, community)
    assert p.duration_s >= 4.0
    assert again.duration_s < p.duration_s - 3.0
    assert len(again.fdb) == len(p.fdb)


def test_cisco_bridge_table_per_vlan_through_community_indexing(cisco_agent: SnmpsimFleet) -> None:
    p = poll(cisco_agent, "lab/cisco")
    assert [(e.mac, e.vlan, e.bridge_port, e.ifIndex) for e in p.fdb] == [
        (MACS[0], 1, 1, 1),
        (MACS[1], 20, 3, 2),
        (MACS[2], 20, 4, 3),
    ]


def test_hpe_lldp_and_q_bridge_vlans(fleet: SnmpsimFleet) -> None:
    community = "network/switch/hpe-procurve-516733-b21"
    p = poll(fleet, community)
    lldp = [n for n in p.neighbors if n.protocol == "lldp"]
    remote_rows = {
        ".".join(oid.split(".")[-3:]) for oid, _ in recorded(community, "1.0.8802.1.1.2.1.4.1.1.5")
    }
    assert len(lldp) == len(remote_rows) > 0
    assert all(n.remote_chassis_id for n in lldp)
    assert all(n.local_ifIndex is not None for n in lldp)
    assert len(p.fdb) > 100
    assert {e.vlan for e in p.fdb} > {1}  # several VLANs from dot1qTpFdbTable


def test_vyatta_host_resources(fleet: SnmpsimFleet) -> None:
    p = poll(fleet, "network/router/vyatta-unknown")
    assert p.resources is not None
    loads = [int(v) for _, v in recorded("network/router/vyatta-unknown", "1.3.6.1.2.1.25.3.3.1.2")]
    assert p.resources.cpu_percent == pytest.approx(sum(loads) / len(loads))
    assert p.resources.memory_total_bytes is not None
    assert 0 < (p.resources.memory_used_bytes or 0) <= p.resources.memory_total_bytes


def test_arista_entity_sensor_temperatures(fleet: SnmpsimFleet) -> None:
    p = poll(fleet, ARISTA)
    assert p.resources is not None
    temps = p.resources.temperatures_c
    assert len(temps) >= 5
    assert all(0 < t < 100 for t in temps.values())  # celsius, scaled by precision
    assert any("Cpu" in name or "CPU" in name for name in temps)
    assert p.system is not None
    assert p.system.vendor == "arista"
    assert any(n.remote_name for n in p.neighbors)
