"""ICMP echo probes: loopback, the TCP fallback, the unprivileged datagram socket, packet format."""

from __future__ import annotations

import socket

import pytest

from canhgac_agent.probes import build_echo_request, icmp_checksum, parse_echo_reply, run_probes
from tests.agent.probes.conftest import valid_probe


def _icmp_available(family: int) -> bool:
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            socket.socket(family, kind, proto).close()
        except OSError:
            continue
        return True
    return False


@pytest.mark.parametrize(("host", "family"), [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)])
def test_icmp_loopback(host: str, family: int) -> None:
    if not _icmp_available(family):
        pytest.skip("ICMP sockets not permitted for this user")
    [result] = run_probes(
        [{"name": "lo", "kind": "icmp", "host": host}], gateway=False, count=4, timeout_s=1.0
    )
    r = valid_probe(result)
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
        r = valid_probe(result)
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
