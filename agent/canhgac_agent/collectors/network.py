"""Network interfaces: state, addresses and counters since boot (Report.metrics.network)."""

from __future__ import annotations

import socket
from typing import Any

import psutil

from canhgac_agent.collectors.base import MetricCollector

_FAMILIES: dict[int, str] = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6", psutil.AF_LINK: "mac"}
_DUPLEX: dict[int, str] = {psutil.NIC_DUPLEX_FULL: "full", psutil.NIC_DUPLEX_HALF: "half"}


def collect() -> list[dict[str, Any]]:
    """Return a list of dicts matching `NetInterface`, one per interface psutil knows about."""
    stats = psutil.net_if_stats()
    addrs = psutil.net_if_addrs()
    io = psutil.net_io_counters(pernic=True, nowrap=True)
    result: list[dict[str, Any]] = []
    for name in sorted(set(stats) | set(addrs) | set(io)):
        st = stats.get(name)
        nic: dict[str, Any] = {
            "name": name[:256],
            "is_up": bool(st and st.isup),
            "speed_mbps": st.speed if st and st.speed > 0 else None,  # 0 means unknown
            "duplex": _DUPLEX.get(st.duplex, "unknown") if st else "unknown",
            "mtu": st.mtu if st and st.mtu > 0 else None,
            "addresses": [
                {"family": _FAMILIES[a.family], "address": a.address[:256], "netmask": a.netmask}
                for a in addrs.get(name, [])
                if a.family in _FAMILIES and a.address
            ][:256],
        }
        c = io.get(name)
        if c is not None:
            nic.update(
                bytes_sent=c.bytes_sent,
                bytes_recv=c.bytes_recv,
                packets_sent=c.packets_sent,
                packets_recv=c.packets_recv,
                errin=c.errin,
                errout=c.errout,
                dropin=c.dropin,
                dropout=c.dropout,
            )
        result.append(nic)
    return result[:512]


PLUGIN = MetricCollector(name="network", collect=collect)
