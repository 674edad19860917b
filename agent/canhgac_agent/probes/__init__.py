"""Connectivity probes: gateway, ICMP (TCP fallback), TCP connect, HTTP(S), DNS (Report.probes).

One module per protocol (`icmp`, `tcp`, `http`, `dns`, `gateway`), what they share in `common` (result
building and statistics, worker threads, bounded resolution, the selector loop), and the cycle that runs
every target concurrently in `run`.

`count` echoes or connects of a packet-level target (gateway, icmp, tcp) are *staggered* (one every
`ATTEMPT_SPACING_S`), each with its own `timeout_s`. HTTP and DNS targets make a single request per
cycle. A probe never raises; failures are `ok=False` with the reason in `error`. Nothing here sends
traffic anywhere but the configured targets and the detected default gateway.
"""

from canhgac_agent.probes.common import ATTEMPT_SPACING_S, resolve, run_bounded, summarize
from canhgac_agent.probes.dns import probe_dns
from canhgac_agent.probes.gateway import default_gateway, parse_proc_net_route, parse_route_print
from canhgac_agent.probes.http import MAX_REDIRECTS, probe_http
from canhgac_agent.probes.icmp import (
    DEFAULT_ICMP_FALLBACK_PORT,
    build_echo_request,
    icmp_checksum,
    parse_echo_reply,
    probe_icmp,
)
from canhgac_agent.probes.run import MAX_COUNT, run_probes
from canhgac_agent.probes.tcp import probe_tcp

__all__ = [
    "ATTEMPT_SPACING_S",
    "DEFAULT_ICMP_FALLBACK_PORT",
    "MAX_COUNT",
    "MAX_REDIRECTS",
    "build_echo_request",
    "default_gateway",
    "icmp_checksum",
    "parse_echo_reply",
    "parse_proc_net_route",
    "parse_route_print",
    "probe_dns",
    "probe_http",
    "probe_icmp",
    "probe_tcp",
    "resolve",
    "run_bounded",
    "run_probes",
    "summarize",
]
