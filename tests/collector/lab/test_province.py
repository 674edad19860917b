"""The generated province: recordings that parse, agree with each other, and advance when served."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from canhgac_collector.lab.province import LabDevice, generate_province, load_province, recordings
from canhgac_collector.lab.snmprec import OID, decode_octets, oid, read_snmprec, record_map
from canhgac_collector.lab.snmpsim import SnmpsimFleet
from tests.collector.lab.conftest import netsnmp

SITES = ["HT-TTDL", "HT-CAMXUYEN", "HT-HONGLINH", "HT-THACHHA"]


def table(recs: dict[OID, tuple[str, str]], prefix: str) -> dict[OID, tuple[str, str]]:
    """Rows under `prefix`, keyed by the OID suffix after it."""
    p = oid(prefix)
    return {o[len(p) :]: tv for o, tv in recs.items() if o[: len(p)] == p}


def text(tv: tuple[str, str]) -> str:
    return decode_octets(*tv).decode()


def lldp_links(path: Path) -> set[tuple[str, str, str, str]]:
    """(local sysName, local port, remote sysName, remote port) read back from one recording."""
    recs = record_map(read_snmprec(path))
    me = text(recs[oid("1.3.6.1.2.1.1.5.0")])
    loc_port = {k[0]: text(v) for k, v in table(recs, "1.0.8802.1.1.2.1.3.7.1.3").items()}
    rem_name = table(recs, "1.0.8802.1.1.2.1.4.1.1.9")
    rem_port = table(recs, "1.0.8802.1.1.2.1.4.1.1.7")
    return {(me, loc_port[k[1]], text(rem_name[k]), text(rem_port[k])) for k in rem_name}


def fdb_ports(path: Path) -> dict[str, str]:
    """MAC (aa:bb:…) → ifName of the bridge port it was learned on (dot1dTpFdbTable)."""
    recs = record_map(read_snmprec(path))
    if_name = {k[0]: text(v) for k, v in table(recs, "1.3.6.1.2.1.31.1.1.1.1").items()}
    port_if = {k[0]: int(v[1]) for k, v in table(recs, "1.3.6.1.2.1.17.1.4.1.2").items()}
    return {
        ":".join(f"{b:02x}" for b in k): if_name[port_if[int(v[1])]]
        for k, v in table(recs, "1.3.6.1.2.1.17.4.3.1.2").items()
    }


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> list[LabDevice]:
    return generate_province(tmp_path_factory.mktemp("province"), sites=SITES, devices=12, seed=7)


def test_recordings_parse_and_are_sorted_numerically(province: list[LabDevice]) -> None:
    for dev in province:
        oids = [o for o, _, _ in read_snmprec(dev.recording)]
        assert oids == sorted(oids), dev.name
        assert len(set(oids)) == len(oids), dev.name
        # snmpsim fails on unsorted files; text order would put .10 before .2
        assert len(oids) > 1000


def test_same_seed_same_province(tmp_path: Path, province: list[LabDevice]) -> None:
    again = generate_province(tmp_path / "a", sites=SITES, devices=12, seed=7)
    other = generate_province(tmp_path / "b", sites=SITES, devices=12, seed=8)
    assert [d.recording.read_bytes() for d in again] == [d.recording.read_bytes() for d in province]
    assert [d.recording.read_bytes() for d in other] != [d.recording.read_bytes() for d in province]
    assert load_province(province[0].recording.parent) == province  # benches reuse a generated province


def test_devices_sit_at_the_given_sites(province: list[LabDevice]) -> None:
    assert [d.role for d in province][:1] == ["core"]
    assert {d.site for d in province if d.role == "core"} == {"HT-TTDL"}
    assert {d.site for d in province if d.role == "access"} == set(SITES[1:])
    assert len({d.community for d in province}) == len(province)
    assert {d.vendor for d in province} >= {"cisco", "huawei", "h3c"}


def test_system_group_is_realistic_and_some_fields_are_blank(province: list[LabDevice]) -> None:
    vendor_text = {
        "cisco": "Cisco IOS",
        "huawei": "Huawei Versatile Routing Platform",
        "h3c": "H3C Comware",
        "juniper": "JUNOS",
    }
    enterprise = {"cisco": 9, "huawei": 2011, "h3c": 25506, "juniper": 2636}
    contacts = []
    for dev in province:
        recs = record_map(read_snmprec(dev.recording))
        assert vendor_text[dev.vendor] in text(recs[oid("1.3.6.1.2.1.1.1.0")])
        assert oid(recs[oid("1.3.6.1.2.1.1.2.0")][1])[6] == enterprise[dev.vendor]
        assert text(recs[oid("1.3.6.1.2.1.1.5.0")]) == dev.name
        contacts.append(text(recs[oid("1.3.6.1.2.1.1.4.0")]))
    assert "" in contacts
    assert any(contacts)


def test_lldp_neighbours_agree_on_both_ends(province: list[LabDevice]) -> None:
    links = set().union(*(lldp_links(d.recording) for d in province))
    assert links
    for a, a_port, b, b_port in links:
        assert (b, b_port, a, a_port) in links, (a, a_port, b, b_port)
    roles = {d.name: d.role for d in province}
    for dev in province:
        if dev.role == "access":
            up = [link for link in links if link[0] == dev.name]
            assert len(up) == 1
            assert roles[up[0][2]] in ("core", "distribution"), up


def test_every_pc_mac_is_on_exactly_one_access_port(province: list[LabDevice]) -> None:
    access = [d for d in province if d.role == "access"]
    uplinks = {(d.name, n.local_port) for d in province for n in d.neighbors}
    seen: Counter[str] = Counter()
    where: dict[str, tuple[str, str]] = {}
    for dev in access:
        for mac, port in fdb_ports(dev.recording).items():
            if (dev.name, port) not in uplinks:
                seen[mac] += 1
                where[mac] = (dev.name, port)
    pcs = [(dev.name, pc) for dev in access for pc in dev.pcs]
    assert len(pcs) > 100
    for name, pc in pcs:
        assert seen[pc.mac] == 1, pc
        assert where[pc.mac] == (name, pc.port)
    # the core routes every PC: its ARP table maps each PC's IP to its MAC
    core = record_map(read_snmprec(province[0].recording))
    arp = {
        ".".join(map(str, k[1:])): decode_octets(*v).hex(":")
        for k, v in table(core, "1.3.6.1.2.1.4.22.1.2").items()
    }
    assert all(arp[pc.ip] == pc.mac for _, pc in pcs)


def test_a_large_province_gets_a_distribution_tier(tmp_path: Path) -> None:
    devices = generate_province(tmp_path, sites=SITES, devices=60, ports=24, seed=3)
    roles = Counter(d.role for d in devices)
    assert roles["distribution"] >= 2
    assert roles["access"] == 60 - roles["core"] - roles["distribution"]
    links = set().union(*(lldp_links(d.recording) for d in devices))
    assert all((b, bp, a, ap) in links for a, ap, b, bp in links)
    assert all(len(d.pcs) <= 22 for d in devices)


def walk(fleet: SnmpsimFleet, dev: LabDevice, subtree: str) -> dict[str, str]:
    host, port = fleet.endpoint(dev.community)
    r = netsnmp("snmpbulkwalk", "-v2c", "-c", dev.community, "-Cc", f"{host}:{port}", subtree, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "not increasing" not in r.stderr
    out = {}
    for line in r.stdout.splitlines():
        key, _, value = line.partition(" = ")
        out[key.lstrip(".")] = value
    return out


def test_served_counters_advance_between_two_walks(tmp_path: Path, province: list[LabDevice]) -> None:
    chosen = [province[0], next(d for d in province if d.role == "access" and d.error_ports)]
    with SnmpsimFleet(recordings(chosen), tmp_path) as fleet:
        whole = walk(fleet, chosen[1], ".1")
        assert len(whole) > 1000  # the whole recording walks cleanly (sorted, no gaps)
        first = {d.name: walk(fleet, d, "1.3.6.1.2.1") for d in chosen}
        time.sleep(2.5)
        second = {d.name: walk(fleet, d, "1.3.6.1.2.1") for d in chosen}

    def counter(line: str) -> int:
        return int(line.rsplit(" ", 1)[-1])

    for dev in chosen:
        a, b = first[dev.name], second[dev.name]
        assert counter(b["1.3.6.1.2.1.1.3.0"]) > counter(a["1.3.6.1.2.1.1.3.0"])  # sysUpTime
        names = {
            k.rsplit(".", 1)[1]: v.split('"')[1]
            for k, v in a.items()
            if k.startswith("1.3.6.1.2.1.31.1.1.1.1.")
        }
        oper = {k.rsplit(".", 1)[1]: v for k, v in a.items() if k.startswith("1.3.6.1.2.1.2.2.1.8.")}
        assert len(oper) == dev.ports + (2 if dev.role != "access" else 1)
        for index, name in names.items():
            key = f"1.3.6.1.2.1.31.1.1.1.6.{index}"
            assert a[key].startswith("Counter64")
            if counter(oper[index]) == 1:
                assert counter(b[key]) > counter(a[key]), (dev.name, name)
            else:
                assert counter(b[key]) == counter(a[key]), (dev.name, name)
        for port in dev.error_ports:
            index = next(i for i, n in names.items() if n == port)
            key = f"1.3.6.1.2.1.2.2.1.14.{index}"
            assert counter(b[key]) > counter(a[key])
