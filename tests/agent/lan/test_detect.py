"""The detection rules and the device table, fed frames built with scapy (no network needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether

from canhgac_agent.lan.detect import Detector, DetectorSettings, SeenMacs
from canhgac_agent.lan.packets import parse_frame
from canhgac_agent.lan.sensor import vendor_lookup
from canhgac_api.schemas.report import LanDevice, LanEvent

GW, GW_MAC, EVIL = "198.51.100.1", "02:00:00:00:00:01", "02:00:00:00:00:66"
IF = "eth0"


def arp(mac: str, ip: str, target: str, op: int = 1, dst: str = "ff:ff:ff:ff:ff:ff") -> bytes:
    return bytes(Ether(src=mac, dst=dst) / ARP(op=op, hwsrc=mac, psrc=ip, pdst=target))


def dhcp_offer(server_mac: str, server_ip: str, router: str, dns: str) -> bytes:
    return bytes(
        Ether(src=server_mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src=server_ip, dst="255.255.255.255")
        / UDP(sport=67, dport=68)
        / BOOTP(op=2, yiaddr="198.51.100.120", chaddr=bytes.fromhex("020000000009"))
        / DHCP(
            options=[
                ("message-type", "offer"),
                ("server_id", server_ip),
                ("router", router),
                ("name_server", dns),
                "end",
            ]
        )
    )


class Feed:
    def __init__(self, tmp: Path | None = None, **settings: Any) -> None:
        self.detector = Detector(
            DetectorSettings(**settings), SeenMacs(tmp / "seen.json" if tmp else None), vendor_lookup()
        )
        self.now = 1_800_000_000.0

    def __call__(self, frame: bytes, after: float = 0.1) -> list[dict[str, Any]]:
        self.now += after
        obs = parse_frame(frame)
        assert obs is not None
        events = self.detector.feed(obs, IF, self.now)
        for event in events:
            LanEvent.model_validate(event)  # the wire schema accepts every event
        return events

    def kinds(self, frames: list[bytes], after: float = 0.1) -> list[str]:
        return [e["type"] for f in frames for e in self(f, after)]


def test_rogue_dhcp_once_with_server_and_offered_gateway_and_dns() -> None:
    feed = Feed(approved_dhcp_servers=frozenset({GW}))
    assert feed.kinds([dhcp_offer(GW_MAC, GW, GW, GW)]) == ["device_new"]
    events = [
        e for _ in range(5) for e in feed(dhcp_offer(EVIL, "198.51.100.66", "198.51.100.66", "203.0.113.53"))
    ]
    rogue = [e for e in events if e["type"] == "dhcp_rogue"]
    assert len(rogue) == 1
    assert rogue[0]["mac"] == EVIL
    assert rogue[0]["ip"] == "198.51.100.66"
    assert rogue[0]["detail"]["offered_gateway"] == "198.51.100.66"
    assert rogue[0]["detail"]["offered_dns"] == "203.0.113.53"
    assert rogue[0]["message"].startswith("Phát hiện máy chủ DHCP lạ 198.51.100.66 (02:00:00:00:00:66)")
    assert "Rogue DHCP server" in rogue[0]["message"]
    # after the hold time the same rogue is reported again: a new occurrence
    feed.now += 601
    assert "dhcp_rogue" in feed.kinds([dhcp_offer(EVIL, "198.51.100.66", "198.51.100.66", "203.0.113.53")])


def test_gateway_mac_change_is_spoofing_once_even_when_it_flips_back() -> None:
    feed = Feed(gateways=frozenset({GW}))
    feed(arp(GW_MAC, GW, GW))
    kinds = feed.kinds([arp(EVIL, GW, "198.51.100.20", op=2), arp(GW_MAC, GW, GW)] * 4)
    assert kinds.count("arp_spoof") == 1
    assert "ip_conflict" not in kinds


def test_a_reply_from_the_new_owner_of_a_long_quiet_address_is_no_attack() -> None:
    feed = Feed()
    feed(arp("02:00:00:00:00:0a", "198.51.100.50", GW))
    feed.now += 3600  # a day's lease later another host holds .50 and answers a request for it
    feed(arp(GW_MAC, GW, "198.51.100.50"))
    assert feed.kinds([arp("02:00:00:00:00:0b", "198.51.100.50", GW, op=2)]) == ["device_new"]
    # while the first owner is still talking, the same reply is spoofing
    feed(arp("02:00:00:00:00:0a", "198.51.100.50", GW))
    assert "arp_spoof" in feed.kinds([arp("02:00:00:00:00:0b", "198.51.100.50", GW, op=2)])


def test_unsolicited_reply_burst_is_spoofing() -> None:
    feed = Feed()
    kinds = feed.kinds(
        [arp(EVIL, f"198.51.100.{i}", "198.51.100.20", op=2) for i in range(2, 40)], after=0.05
    )
    assert kinds.count("arp_spoof") == 1  # the burst; each address is new, so no flip


def test_answered_requests_are_not_unsolicited() -> None:
    feed = Feed()
    frames = []
    for i in range(2, 40):
        frames += [
            arp(GW_MAC, GW, f"198.51.100.{i}"),
            arp(f"02:00:00:00:01:{i:02x}", f"198.51.100.{i}", GW, op=2),
        ]
    assert "arp_spoof" not in feed.kinds(frames, after=0.05)


def test_two_macs_announcing_one_ip_is_a_conflict_and_a_probe_too() -> None:
    feed = Feed()
    a, b, c = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"
    feed(arp(a, "198.51.100.20", "198.51.100.20"))
    kinds = feed.kinds(
        [arp(b, "198.51.100.20", "198.51.100.20"), arp(a, "198.51.100.20", "198.51.100.20")] * 3
    )
    assert kinds.count("ip_conflict") == 1
    feed(arp(a, "198.51.100.30", GW))
    probe = feed(arp(c, "0.0.0.0", "198.51.100.30"))
    assert [e["detail"]["probe"] for e in probe if e["type"] == "ip_conflict"] == ["true"]
    # an address that moved long ago (a new DHCP lease) is not a conflict
    feed.now += 3600
    assert "ip_conflict" not in feed.kinds([arp(c, "198.51.100.20", "198.51.100.20")])


def test_mac_flood_once_and_new_devices_not_announced_one_by_one() -> None:
    feed = Feed(mac_flood_per_min=50)
    kinds = feed.kinds(
        [arp(f"02:aa:00:00:{i // 256:02x}:{i % 256:02x}", "0.0.0.0", GW) for i in range(300)], 0.01
    )
    assert kinds.count("mac_flood") == 1
    assert kinds.count("device_new") == 50


def test_new_device_once_persisted_across_restarts_and_approved_never(tmp_path: Path) -> None:
    intel = "00:1b:21:3a:4f:10"
    feed = Feed(tmp_path)
    first = [e for _ in range(3) for e in feed(arp(intel, "198.51.100.20", GW))]
    assert [e["type"] for e in first] == ["device_new"]
    assert first[0]["ip"] == "198.51.100.20"
    assert first[0]["detail"]["vendor"] == "Intel Corporate"
    feed.detector.seen.save(force=True)
    assert intel in json.loads((tmp_path / "seen.json").read_text())
    again = Feed(tmp_path)
    assert again.kinds([arp(intel, "198.51.100.20", GW)]) == []
    approved = Feed(approved_macs=frozenset({"02:00:00:00:00:0d"}))
    assert approved.kinds([arp("02:00:00:00:00:0d", "198.51.100.21", GW)]) == []


def test_device_table_is_bounded_and_reports_valid_devices() -> None:
    feed = Feed(max_devices=10, mac_flood_per_min=1000)
    for i in range(25):
        feed(arp(f"02:00:00:00:02:{i:02x}", f"198.51.100.{i + 2}", GW))
    assert len(feed.detector.table) == 10
    devices = feed.detector.take_devices()
    assert len(devices) == 10
    assert {d["mac"] for d in devices} == set(feed.detector.table)
    for device in devices:
        LanDevice.model_validate(device)
    assert feed.detector.take_devices() == []  # the interval's devices, handed over once


def test_malformed_frames_yield_nothing() -> None:
    good = arp(GW_MAC, GW, GW)
    for frame in (b"", good[:20], good[:14] + b"\x00\x01\x08\x00\x06\x04\x00\x09" + good[22:], b"\xff" * 60):
        assert parse_frame(frame) is None
    offer = dhcp_offer(EVIL, "198.51.100.66", GW, GW)
    assert parse_frame(offer[:200]) is None  # BOOTP cut short of its options
    options_cut = parse_frame(offer[:-4])  # an option list without its end marker still reads
    assert options_cut is not None


def test_sweep_never_leaves_its_declared_subnet() -> None:
    import ipaddress

    from canhgac_agent.lan.sweep import SweepPlan, arp_request, parse_subnet, targets

    with pytest.raises(ValueError, match="larger than /22"):
        parse_subnet("198.51.96.0/21")
    with pytest.raises(ValueError, match="host bits set"):
        parse_subnet("198.51.100.7/24")
    plan = SweepPlan(
        parse_subnet("198.51.100.0/24"),
        "eth0",
        bytes.fromhex("02005e10000a"),
        ipaddress.IPv4Address("198.51.100.10"),
    )
    hosts = targets(plan)
    assert len(hosts) == 253  # .1-.254 but the sensor's own address
    assert all(ip in plan.network for ip in hosts)
    frame = arp_request(plan, hosts[0])
    arp_seen = parse_frame(frame)
    assert arp_seen is not None
    assert (arp_seen.ip, arp_seen.target_ip) == ("198.51.100.10", "198.51.100.1")
    with pytest.raises(ValueError, match="outside the declared subnet"):
        arp_request(plan, ipaddress.IPv4Address("198.51.101.1"))


def test_names_from_dhcp_mdns_netbios_lldp_and_cdp_land_in_the_table() -> None:
    from scapy.contrib.cdp import CDPMsgDeviceID, CDPv2_HDR
    from scapy.contrib.lldp import (
        LLDPDUChassisID,
        LLDPDUEndOfLLDPDU,
        LLDPDUPortID,
        LLDPDUSystemName,
        LLDPDUTimeToLive,
    )
    from scapy.layers.dns import DNS, DNSRR
    from scapy.layers.l2 import LLC, SNAP, Dot3
    from scapy.layers.netbios import NBNSHeader, NBNSRegistrationRequest

    pc, printer, switch, router = (f"02:00:00:00:03:0{i}" for i in range(4))
    discover = (
        Ether(src=pc, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex(pc.replace(":", "")))
        / DHCP(options=[("message-type", "discover"), ("hostname", b"ketoan-pc"), "end"])
    )
    mdns = (
        Ether(src=printer, dst="01:00:5e:00:00:fb")
        / IP(src="198.51.100.30", dst="224.0.0.251")
        / UDP(sport=5353, dport=5353)
        / DNS(qr=1, aa=1, an=DNSRR(rrname="may-in-tang2.local.", type="A", rdata="198.51.100.30"))
    )
    netbios = (
        Ether(src=pc, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="198.51.100.31", dst="198.51.100.255")
        / UDP(sport=137, dport=137)
        / NBNSHeader(OPCODE=5)
        / NBNSRegistrationRequest(QUESTION_NAME="KETOAN-PC", NB_ADDRESS="198.51.100.31")
    )
    lldp = (
        Ether(src=switch, dst="01:80:c2:00:00:0e")
        / LLDPDUChassisID(subtype=4, id=switch)
        / LLDPDUPortID(subtype=5, id="gi0/1")
        / LLDPDUTimeToLive(ttl=120)
        / LLDPDUSystemName(system_name="sw-xa-an-binh")
        / LLDPDUEndOfLLDPDU()
    )
    cdp = (
        Dot3(src=router, dst="01:00:0c:cc:cc:cc")
        / LLC()
        / SNAP()
        / CDPv2_HDR(msg=[CDPMsgDeviceID(val=b"rt-huyen")])
    )
    feed = Feed()
    for frame in (discover, mdns, netbios, lldp, cdp):
        feed(bytes(frame))
    table = feed.detector.table
    assert table[pc].names == ["ketoan-pc", "KETOAN-PC"]
    assert table[pc].sources == ["dhcp", "netbios"]
    assert table[printer].names == ["may-in-tang2.local"]
    assert table[printer].ips == ["198.51.100.30"]
    assert (table[switch].names, table[switch].sources) == (["sw-xa-an-binh"], ["lldp"])
    assert (table[router].names, table[router].sources) == (["rt-huyen"], ["cdp"])
