"""The optional active ARP sweep: one who-has per address of each declared subnet, rate-limited.

Off unless subnets and an interval are configured. It never leaves the declared subnets: a subnet
larger than /22 is refused, every target is checked to lie inside its subnet before its frame is sent,
and a subnet is swept only from an interface holding an address inside it (that address is the
sender's, so replies come back to the sensor).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import NamedTuple

LARGEST_PREFIX = 22  # at most 1,022 addresses per subnet


class SweepPlan(NamedTuple):
    network: ipaddress.IPv4Network
    interface: str
    source_mac: bytes
    source_ip: ipaddress.IPv4Address


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    """A declared subnet, or ValueError saying why it may not be swept."""
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 subnet in CIDR form (e.g. 198.51.100.0/24): {exc}") from None
    if network.prefixlen < LARGEST_PREFIX:
        raise ValueError(f"{network} is larger than /{LARGEST_PREFIX}: refused (split it into /24s)")
    return network


def plan_sweeps(subnets: tuple[str, ...], interfaces: tuple[str, ...]) -> tuple[list[SweepPlan], list[str]]:
    """Which interface sweeps which subnet; and the subnets that cannot be swept, with why."""
    import psutil

    plans: list[SweepPlan] = []
    problems: list[str] = []
    addresses = psutil.net_if_addrs()
    for text in subnets:
        network = parse_subnet(text)
        chosen: SweepPlan | None = None
        for name in interfaces:
            entries = addresses.get(name, [])
            mac = next((a.address for a in entries if a.family == psutil.AF_LINK), None)
            for entry in entries:
                if entry.family != socket.AF_INET or mac is None:
                    continue
                ip = ipaddress.IPv4Address(entry.address)
                if ip in network:
                    chosen = SweepPlan(network, name, bytes.fromhex(mac.replace(":", "")), ip)
                    break
            if chosen:
                break
        if chosen:
            plans.append(chosen)
        else:
            problems.append(
                f"không quét {network}: không giao diện nào có địa chỉ trong dải — not sweeping {network}: "
                f"no sensor interface ({', '.join(interfaces)}) holds an address in it"
            )
    return plans, problems


def targets(plan: SweepPlan) -> list[ipaddress.IPv4Address]:
    """Every host address of the subnet except the sensor's own."""
    return [ip for ip in plan.network.hosts() if ip != plan.source_ip]


def arp_request(plan: SweepPlan, target: ipaddress.IPv4Address) -> bytes:
    """A broadcast who-has for `target`, refusing any address outside the plan's subnet."""
    if target not in plan.network:
        raise ValueError(f"{target} lies outside the declared subnet {plan.network}")
    return (
        b"\xff" * 6
        + plan.source_mac
        + b"\x08\x06"
        + b"\x00\x01\x08\x00\x06\x04\x00\x01"
        + plan.source_mac
        + plan.source_ip.packed
        + b"\x00" * 6
        + target.packed
    )
