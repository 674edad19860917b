"""The default gateway, parsed from /proc/net/route and `route print` (never probed)."""

from __future__ import annotations

from canhgac_agent.probes import parse_proc_net_route, parse_route_print

PROC_NET_ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


def test_parse_proc_net_route() -> None:
    assert parse_proc_net_route(PROC_NET_ROUTE) == "192.0.2.1"  # eth0, metric 100 beats wlan0's 600
    only_link = PROC_NET_ROUTE.splitlines()[0] + "\n" + PROC_NET_ROUTE.splitlines()[3]
    assert parse_proc_net_route(only_link) is None
    down = (
        "Iface Destination Gateway Flags RefCnt Use Metric Mask\neth0 00000000 010200C0 0002 0 0 0 00000000\n"
    )
    assert parse_proc_net_route(down) is None  # not RTF_UP
    assert parse_proc_net_route("") is None
    assert parse_proc_net_route("garbage\nzz yy xx ww vv uu tt ss\n\x00") is None


ROUTE_PRINT = """\
===========================================================================
Interface List
 12...00 1a 2b 3c 4d 5e ......Intel(R) Ethernet Connection I217-LM
  1...........................Software Loopback Interface 1
===========================================================================

IPv4 Route Table
===========================================================================
Active Routes:
Network Destination        Netmask          Gateway       Interface  Metric
          0.0.0.0          0.0.0.0      10.20.30.1     10.20.30.45     25
          0.0.0.0          0.0.0.0       192.168.1.1   192.168.1.20     50
===========================================================================
Persistent Routes:
  Network Address          Netmask  Gateway Address  Metric
          0.0.0.0          0.0.0.0         On-link       1
"""


def test_parse_route_print() -> None:
    assert parse_route_print(ROUTE_PRINT) == "10.20.30.1"
    assert parse_route_print("0.0.0.0 0.0.0.0 On-link 10.0.0.5 25") is None
    assert parse_route_print("garbage") is None
