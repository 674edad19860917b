"""Connectivity probes against real loopback services only: a TCP listener, an http.server, a port
known to be closed and a listener whose accept queue is full (its SYNs go unanswered, so connects time
out). Nothing here sends a packet beyond 127.0.0.1/::1; the default gateway is only ever parsed."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from canhgac_agent import probes
from canhgac_agent.probes import (
    build_echo_request,
    icmp_checksum,
    parse_echo_reply,
    parse_proc_net_route,
    parse_route_print,
    run_probes,
    summarize,
)
from canhgac_api.schemas.report import ProbeResult


def _valid(result: dict[str, Any]) -> ProbeResult:
    return ProbeResult.model_validate(result)


def _icmp_available(family: int) -> bool:
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            socket.socket(family, kind, proto).close()
        except OSError:
            continue
        return True
    return False


@pytest.fixture
def tcp_port() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)  # the kernel completes handshakes into the backlog; no accept needed
    yield srv.getsockname()[1]
    srv.close()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A listener whose accept queue is full: the kernel drops further SYNs, so connects time out."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.05)
    yield port
    for c in fillers:
        c.close()
    srv.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/" else 404
        body = b"ok" if status == 200 else b"missing"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- TCP ------------------------------------------------------------------------------------------


def test_tcp_live_port(tcp_port: int) -> None:
    [result] = run_probes([{"name": "dc", "kind": "tcp", "host": "127.0.0.1", "port": tcp_port}],
                          gateway=False, count=4, timeout_s=1.0)  # fmt: skip
    r = _valid(result)
    assert (r.kind, r.method, r.target) == ("tcp", "tcp", f"127.0.0.1:{tcp_port}")
    assert (r.sent, r.received, r.loss_ratio, r.ok, r.error) == (4, 4, 0.0, True, None)
    assert r.rtt_min_ms is not None
    assert r.rtt_avg_ms is not None
    assert r.rtt_max_ms is not None
    assert r.rtt_min_ms <= r.rtt_avg_ms <= r.rtt_max_ms
    assert r.jitter_ms is not None


def test_tcp_closed_port(closed_port: int) -> None:
    [result] = run_probes([{"name": "down", "kind": "tcp", "host": "127.0.0.1", "port": closed_port}],
                          gateway=False, count=3, timeout_s=1.0)  # fmt: skip
    r = _valid(result)
    assert (r.sent, r.received, r.loss_ratio, r.ok) == (3, 0, 1.0, False)
    assert r.rtt_avg_ms is None
    assert r.error is not None
    assert "refused" in r.error.lower()


def test_tcp_timeout_costs_one_timeout_not_count_times(stalled_port: int) -> None:
    started = time.monotonic()
    [result] = run_probes([{"name": "stalled", "kind": "tcp", "host": "127.0.0.1", "port": stalled_port}],
                          gateway=False, count=4, timeout_s=0.5)  # fmt: skip
    elapsed = time.monotonic() - started
    r = _valid(result)
    assert (r.received, r.loss_ratio, r.ok) == (0, 1.0, False)
    assert r.error is not None
    assert "timed out" in r.error
    assert elapsed < 0.5 + 4 * probes.ATTEMPT_SPACING_S + 0.4  # not 4 x 0.5 s


def test_tcp_to_localhost_name(tcp_port: int) -> None:
    [result] = run_probes([{"name": "n", "kind": "tcp", "host": "localhost", "port": tcp_port}],
                          gateway=False, count=1, timeout_s=1.0)  # fmt: skip
    # "localhost" may resolve to ::1 first, where nothing listens: either way a valid, bounded result.
    _valid(result)


# --- ICMP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "family"), [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)])
def test_icmp_loopback(host: str, family: int) -> None:
    if not _icmp_available(family):
        pytest.skip("ICMP sockets not permitted for this user")
    [result] = run_probes(
        [{"name": "lo", "kind": "icmp", "host": host}], gateway=False, count=4, timeout_s=1.0
    )
    r = _valid(result)
    assert (r.method, r.sent, r.received, r.loss_ratio, r.ok) == ("icmp", 4, 4, 0.0, True)
    assert r.rtt_avg_ms is not None
    assert r.jitter_ms is not None


def test_icmp_fallback_to_tcp(tcp_port: int, closed_port: int) -> None:
    """Forced fallback: TCP connects to `port`; a refused port still proves the host answered."""
    results = run_probes(
        [
            {"name": "open", "kind": "icmp", "host": "127.0.0.1", "port": tcp_port},
            {"name": "refusing", "kind": "icmp", "host": "127.0.0.1", "port": closed_port},
        ],
        gateway=False,
        count=3,
        timeout_s=1.0,
        allow_icmp=False,
    )
    for result in results:
        r = _valid(result)
        assert (r.kind, r.method, r.received, r.loss_ratio, r.ok) == ("icmp", "tcp", 3, 0.0, True)


def test_icmp_unprivileged_datagram_socket() -> None:
    """The no-privilege path: an ICMP datagram socket, in a private network namespace whose
    ping_group_range admits root's group, with every capability dropped (so no raw socket)."""
    import os
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv") and shutil.which("ip")):
        pytest.skip("needs root with unshare, setpriv and ip to build the namespace")
    code = (
        "from canhgac_agent.probes import run_probes\n"
        "target = {'name': 'lo', 'kind': 'icmp', 'host': '127.0.0.1'}\n"
        "[r] = run_probes([target], gateway=False, count=3, timeout_s=1)\n"
        "print(r['method'], r['received'], r['ok'])\n"
    )
    script = (
        'ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 0" && '
        f'exec setpriv --bounding-set=-all --inh-caps=-all {sys.executable} -c "$0"'
    )
    proc = subprocess.run(
        ["unshare", "-n", "sh", "-c", script, code], check=False, capture_output=True, text=True, timeout=30
    )
    if proc.returncode != 0 and "unshare" in proc.stderr:
        pytest.skip(f"cannot create a network namespace: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["icmp", "3", "True"]


def test_icmp_packets() -> None:
    # RFC 1071 example words 0001 f203 f4f5 f6f7 sum to 0xddf2; the checksum is its complement.
    assert icmp_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    packet = build_echo_request(0x1234, 7)
    assert icmp_checksum(packet) == 0  # a correct checksum makes the whole packet sum to zero
    reply = bytes([0]) + packet[1:]  # type 0 = echo reply, same id/seq
    assert parse_echo_reply(reply, v6=False, raw=False) == (0x1234, 7)
    ip_header = bytes([0x45]) + bytes(19)
    assert parse_echo_reply(ip_header + reply, v6=False, raw=True) == (0x1234, 7)
    assert parse_echo_reply(packet, v6=False, raw=False) is None  # our own request is not a reply
    assert parse_echo_reply(b"\x00\x01", v6=False, raw=False) is None
    v6 = build_echo_request(1, 2, v6=True)
    assert v6[0] == 128
    assert parse_echo_reply(bytes([129]) + v6[1:], v6=True, raw=True) == (1, 2)


# --- HTTP and DNS ---------------------------------------------------------------------------------


def test_http_probes(http_base: str, closed_port: int) -> None:
    ok, missing, down, bad = run_probes(
        [
            {"name": "portal", "kind": "http", "url": f"{http_base}/"},
            {"name": "missing", "kind": "http", "url": f"{http_base}/nope"},
            {"name": "down", "kind": "http", "url": f"http://127.0.0.1:{closed_port}/"},
            {"name": "bad", "kind": "http", "url": "file:///etc/passwd"},
        ],
        gateway=False,
        count=4,
        timeout_s=2.0,
    )
    r = _valid(ok)
    assert (r.method, r.status_code, r.ok, r.sent, r.received) == ("http", 200, True, 1, 1)
    assert r.rtt_avg_ms is not None
    r = _valid(missing)
    assert (r.status_code, r.ok, r.error) == (404, False, "HTTP 404")
    r = _valid(down)
    assert (r.status_code, r.ok, r.loss_ratio) == (None, False, 1.0)
    assert r.error
    assert "refused" in r.error.lower()
    r = _valid(bad)
    assert not r.ok
    assert r.error
    assert "scheme" in r.error


def test_dns_localhost() -> None:
    [result] = run_probes(
        [{"name": "dns", "kind": "dns", "host": "localhost"}], gateway=False, count=4, timeout_s=2
    )
    r = _valid(result)
    assert (r.method, r.sent, r.received, r.ok) == ("dns", 1, 1, True)
    assert r.rtt_avg_ms is not None


def test_dns_failure_without_network() -> None:
    # A 64-character label is refused by the IDNA encoder before any query is sent.
    [result] = run_probes([{"name": "bad", "kind": "dns", "host": "x" * 64 + ".invalid"}],
                          gateway=False, count=1, timeout_s=1)  # fmt: skip
    r = _valid(result)
    assert not r.ok
    assert r.error


def test_bounded_call_times_out() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        probes.run_bounded(lambda: time.sleep(2), 0.1)
    assert time.monotonic() - started < 0.5
    assert probes.run_bounded(lambda: 42, 1.0) == 42
    with pytest.raises(ZeroDivisionError):
        probes.run_bounded(lambda: 1 // 0, 1.0)


# --- all together ---------------------------------------------------------------------------------


def test_targets_run_concurrently(tcp_port: int, stalled_port: int, closed_port: int, http_base: str) -> None:
    targets = [
        {"name": f"stalled-{i}", "kind": "tcp", "host": "127.0.0.1", "port": stalled_port} for i in range(3)
    ] + [
        {"name": "live", "kind": "tcp", "host": "127.0.0.1", "port": tcp_port},
        {"name": "closed", "kind": "tcp", "host": "127.0.0.1", "port": closed_port},
        {"name": "portal", "kind": "http", "url": f"{http_base}/"},
        {"name": "dns", "kind": "dns", "host": "localhost"},
    ]
    started = time.monotonic()
    results = run_probes(targets, gateway=False, count=3, timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert [r["name"] for r in results] == [t["name"] for t in targets]
    for r in results:
        _valid(r)
    assert elapsed < 0.5 + 3 * probes.ATTEMPT_SPACING_S + 0.5  # about one timeout in all


def test_bad_targets_never_raise() -> None:
    results = run_probes(
        [
            {"name": "no-host", "kind": "tcp", "port": 80},
            {"name": "bad-port", "kind": "tcp", "host": "127.0.0.1", "port": "http"},
            {"name": "no-url", "kind": "http"},
            {"name": "bad-name", "kind": "icmp", "host": "x" * 64 + ".invalid"},  # refused before any query
            {"name": "unknown", "kind": "smtp", "host": "127.0.0.1"},  # unrepresentable: skipped
            "not a dict",  # type: ignore[list-item]
        ],
        gateway=False,
        count=2,
        timeout_s=0.5,
    )
    assert [r["name"] for r in results] == ["no-host", "bad-port", "no-url", "bad-name"]
    for r in results:
        assert not _valid(r).ok


def test_summarize_jitter() -> None:
    r = summarize(name="x", kind="icmp", target="h", method="icmp", sent=4, rtts_ms=[1.0, 3.0, 2.0])
    assert (r["received"], r["loss_ratio"], r["jitter_ms"]) == (3, 0.25, 1.5)
    assert (r["rtt_min_ms"], r["rtt_avg_ms"], r["rtt_max_ms"]) == (1.0, 2.0, 3.0)
    one = summarize(name="x", kind="icmp", target="h", method="icmp", sent=1, rtts_ms=[5.0])
    assert one["jitter_ms"] is None
    assert one["ok"]
    _valid(r)
    _valid(one)


# --- default gateway (parsed only, never probed) --------------------------------------------------

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


def test_worker_threads_are_kept_between_cycles(http_base: str, tcp_port: int) -> None:
    targets = [
        {"name": "portal", "kind": "http", "url": f"{http_base}/"},
        {"name": "dns", "kind": "dns", "host": "localhost"},
        {"name": "dc", "kind": "tcp", "host": "127.0.0.1", "port": tcp_port},  # driven in this thread
    ]

    def workers() -> set[int | None]:
        return {t.ident for t in threading.enumerate() if t.name == "canhgac-probe"}

    for r in run_probes(targets, gateway=False, count=2, timeout_s=1.0):
        assert _valid(r).ok
    time.sleep(0.05)  # the workers go back to waiting
    before = workers()
    assert before
    for _ in range(3):
        for r in run_probes(targets, gateway=False, count=2, timeout_s=1.0):
            assert _valid(r).ok
        time.sleep(0.05)
    assert workers() == before


def test_idle_workers_end() -> None:
    pool = probes._Workers(idle_s=0.1)
    done = threading.Event()
    pool.submit(done.set)
    assert done.wait(2)
    deadline = time.monotonic() + 3
    while pool._idle and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool._idle == []
    again = threading.Event()
    pool.submit(again.set)  # a new worker is started when none is idle
    assert again.wait(2)
