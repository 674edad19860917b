"""LAN traffic written with scapy, run inside one namespace of tests/harness/netns.py:

  join     a DHCP client (DISCOVER → OFFERs → REQUEST → ACK); prints the offers and the ACK as JSON
  announce gratuitous ARP for an address (a host taking it, or a second host claiming it)
  spoof    ARP replies claiming an address (the gateway's) with this machine's MAC
  flood    DHCP DISCOVERs from random MACs (DHCP starvation, the MAC flood a sensor sees)
  blast    a fixed mix of ARP and DHCP frames at a given rate, for the bench

Every loop is bounded by a count; nothing leaves the namespace.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.sendrecv import AsyncSniffer, sendp
from scapy.supersocket import SuperSocket

BROADCAST = "ff:ff:ff:ff:ff:ff"
MAX_COUNT = 1_000_000


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def discover(mac: str, xid: int, hostname: str | None = None) -> Ether:
    options: list[Any] = [("message-type", "discover")]
    if hostname:
        options.append(("hostname", hostname.encode()))
    return (
        Ether(src=mac, dst=BROADCAST)
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=_mac_bytes(mac), xid=xid, flags=0x8000)  # broadcast replies: the LAN sees them
        / DHCP(options=[*options, "end"])
    )


def join(iface: str, mac: str, hostname: str | None, wait_s: float) -> dict[str, Any]:
    xid = random.getrandbits(32)
    flt = f"udp and src port 67 and ether[{14 + 20 + 8 + 4}:4] = {xid}"
    sniffer = AsyncSniffer(iface=iface, filter=flt, store=True)
    sniffer.start()
    time.sleep(0.2)
    sendp(discover(mac, xid, hostname), iface=iface, verbose=False)
    time.sleep(wait_s)
    offers = []
    for pkt in sniffer.stop() or []:
        opts = {o[0]: o[1] for o in pkt[DHCP].options if isinstance(o, tuple)}
        if opts.get("message-type") == 2:
            offers.append(
                {"server": opts.get("server_id"), "ip": pkt[BOOTP].yiaddr, "router": opts.get("router")}
            )
    result: dict[str, Any] = {"offers": offers, "ack": None}
    if offers:
        chosen = offers[0]
        sniffer = AsyncSniffer(iface=iface, filter=flt, store=True)
        sniffer.start()
        time.sleep(0.2)
        request = (
            Ether(src=mac, dst=BROADCAST)
            / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67)
            / BOOTP(chaddr=_mac_bytes(mac), xid=xid, flags=0x8000)
            / DHCP(
                options=[
                    ("message-type", "request"),
                    ("server_id", chosen["server"]),
                    ("requested_addr", chosen["ip"]),
                    "end",
                ]
            )
        )
        sendp(request, iface=iface, verbose=False)
        time.sleep(wait_s)
        for pkt in sniffer.stop() or []:
            opts = {o[0]: o[1] for o in pkt[DHCP].options if isinstance(o, tuple)}
            if opts.get("message-type") == 5:
                result["ack"] = pkt[BOOTP].yiaddr
    return result


def arp_frames(mac: str, ip: str, target: str, op: int, count: int) -> list[Ether]:
    frame = Ether(src=mac, dst=BROADCAST) / ARP(op=op, hwsrc=mac, psrc=ip, pdst=target)
    return [frame] * count


def random_mac(rng: random.Random) -> str:
    return "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))


def blast(iface: str, rate: float, seconds: float) -> int:
    """ARP requests and DHCP DISCOVERs (from 50 MACs, as a busy commune LAN) at `rate` frames/s."""
    rng = random.Random(7)
    macs = [random_mac(rng) for _ in range(50)]
    frames = []
    for i, mac in enumerate(macs):
        frames.append(
            bytes(
                Ether(src=mac, dst=BROADCAST)
                / ARP(hwsrc=mac, psrc=f"198.51.100.{i + 100}", pdst="198.51.100.1")
            )
        )
        frames.append(bytes(discover(mac, i)))
    sock: SuperSocket = __import__("scapy.config", fromlist=["conf"]).conf.L2socket(iface=iface)
    total = min(MAX_COUNT, int(rate * seconds))
    start = time.perf_counter()
    sent = 0
    try:
        while sent < total:
            due = start + sent / rate
            delay = due - time.perf_counter()
            if delay > 0.0005:
                time.sleep(delay)
            sock.send(frames[sent % len(frames)])  # type: ignore[arg-type]
            sent += 1
    finally:
        sock.close()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(prog="lan_traffic")
    parser.add_argument("--interface", required=True)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("join")
    p.add_argument("--mac", required=True)
    p.add_argument("--hostname")
    p.add_argument("--wait", type=float, default=1.0)
    for name in ("announce", "spoof"):
        p = sub.add_parser(name)
        p.add_argument("--mac", required=True)
        p.add_argument("--ip", required=True)
        p.add_argument("--target", default=None)
        p.add_argument("--count", type=int, default=3)
        p.add_argument("--gap", type=float, default=0.05)
    p = sub.add_parser("flood")
    p.add_argument("--count", type=int, required=True)
    p = sub.add_parser("blast")
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    iface = args.interface
    if args.command == "join":
        print(json.dumps(join(iface, args.mac, args.hostname, args.wait)))
    elif args.command in ("announce", "spoof"):
        count = min(args.count, MAX_COUNT)
        op = 1 if args.command == "announce" else 2
        target = args.target or args.ip
        sendp(arp_frames(args.mac, args.ip, target, op, count), iface=iface, inter=args.gap, verbose=False)
    elif args.command == "flood":
        rng = random.Random(1)
        frames = [discover(random_mac(rng), i) for i in range(min(args.count, MAX_COUNT))]
        sendp(frames, iface=iface, verbose=False)
    elif args.command == "blast":
        print(json.dumps({"sent": blast(iface, args.rate, args.seconds)}))


if __name__ == "__main__":
    main()
