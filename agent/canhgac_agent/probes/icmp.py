"""ICMP echo probes (kinds `icmp` and `gateway`), with a TCP fallback.

ICMP needs no privileges where `net.ipv4.ping_group_range` admits the agent's group (an ICMP datagram
socket); otherwise a raw socket is tried (root / CAP_NET_RAW); otherwise the probe falls back to TCP
connects on the target's `port` (default 443) and reports method "tcp". In that fallback a refused
connection counts as a reply: the host answered with a reset, so it is alive, which is the question an
ICMP probe asks.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time
from typing import Any

from canhgac_agent.probes.common import (
    Attempts,
    Planned,
    describe,
    drive,
    log,
    resolve,
    run_planned,
    summarize,
)
from canhgac_agent.probes.tcp import TcpAttempts

DEFAULT_ICMP_FALLBACK_PORT = 443
ICMP_PAYLOAD = b"canhgac-probe-v1"  # 16 bytes, recognisable in a capture
_ids = itertools.count(os.getpid())  # next() on a count is atomic under the GIL


def _new_icmp_id() -> int:
    """A per-probe echo identifier, so concurrent raw-socket probes can tell their replies apart."""
    return next(_ids) & 0xFFFF


def icmp_checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo_request(ident: int, seq: int, *, v6: bool = False, payload: bytes = ICMP_PAYLOAD) -> bytes:
    """An ICMP (type 8) or ICMPv6 (type 128) echo request. The ICMPv6 checksum covers a pseudo-header
    only the kernel knows, so the kernel fills it in; for IPv4 we compute it."""
    icmp_type = 128 if v6 else 8
    header = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq)
    if v6:
        return header + payload
    checksum = icmp_checksum(header + payload)
    return struct.pack("!BBHHH", icmp_type, 0, checksum, ident, seq) + payload


def parse_echo_reply(packet: bytes, *, v6: bool, raw: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, or None for any other packet.

    Raw IPv4 sockets deliver the IP header first; datagram sockets and raw ICMPv6 sockets do not.
    """
    if raw and not v6:
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8:
        return None
    icmp_type, _code, _sum, ident, seq = struct.unpack("!BBHHH", packet[:8])
    if icmp_type != (129 if v6 else 0):
        return None
    return ident, seq


def _open_icmp_socket(family: int) -> tuple[socket.socket, bool]:
    """(socket, is_raw): an unprivileged ICMP datagram socket, else a raw one; raises PermissionError."""
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto), False
    except OSError as first:
        try:
            return socket.socket(family, socket.SOCK_RAW, proto), True
        except OSError:
            raise PermissionError(f"ICMP socket not permitted: {describe(first)}") from first


class _IcmpAttempts(Attempts):
    """Echo requests on one ICMP socket; the constructor raises PermissionError when ICMP sockets are
    not permitted (the caller then falls back to TCP)."""

    def __init__(self, family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float) -> None:
        super().__init__(count, timeout_s)
        self.sock, self.raw = _open_icmp_socket(family)
        self.sock.setblocking(False)
        self.sockaddr = sockaddr
        self.v6 = family == socket.AF_INET6
        self.ident = _new_icmp_id()
        self.base_seq = int.from_bytes(os.urandom(2), "big") & 0x7FFF
        self.sent_at: dict[int, float] = {}
        self.rtts: dict[int, float] = {}
        self.registered = False

    def start(self, sel: Any, now: float) -> None:
        import selectors

        if not self.registered:
            sel.register(self.sock, selectors.EVENT_READ, self)
            self.registered = True
        seq = (self.base_seq + self.next_i) & 0xFFFF
        self.next_i += 1
        try:
            self.sock.sendto(build_echo_request(self.ident, seq, v6=self.v6), self.sockaddr)
            self.sent_at[seq] = time.monotonic()
        except OSError as exc:  # e.g. ENETUNREACH: the attempt is lost
            self.error = describe(exc)

    def ready(self, sel: Any, key: Any) -> None:
        while True:
            try:
                packet, addr = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error = describe(exc)
                return
            received = time.monotonic()
            reply = parse_echo_reply(packet, v6=self.v6, raw=self.raw)
            if reply is None or addr[0].split("%")[0] != self.sockaddr[0].split("%")[0]:
                continue
            r_ident, r_seq = reply
            # Datagram sockets: the kernel rewrites the id to the socket's port and filters replies.
            if self.raw and r_ident != self.ident:
                continue
            t_sent = self.sent_at.get(r_seq)
            if t_sent is not None and r_seq not in self.rtts and received - t_sent <= self.timeout_s:
                self.rtts[r_seq] = (received - t_sent) * 1000

    def deadlines(self) -> list[float]:
        now = time.monotonic()
        return [
            t + self.timeout_s
            for s, t in self.sent_at.items()
            if s not in self.rtts and t + self.timeout_s > now
        ]

    def close(self, sel: Any) -> None:
        if self.registered:
            sel.unregister(self.sock)
            self.registered = False
        self.sock.close()

    def result(self) -> tuple[list[float], str | None]:
        ordered = [self.rtts[s] for s in sorted(self.rtts, key=lambda s: (s - self.base_seq) & 0xFFFF)]
        error = self.error
        if not ordered and error is None:
            error = f"no echo reply within {self.timeout_s:g}s"
        return ordered, error


def _icmp_attempts(
    family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float
) -> tuple[list[float], str | None]:
    """Send `count` staggered echoes and collect replies. Returns (RTTs in ms by seq, last error)."""
    run = _IcmpAttempts(family, sockaddr, count, timeout_s)
    drive([run])
    return run.result()


def plan_icmp(
    name: str,
    host: str,
    kind: str,
    family: int,
    sockaddr: tuple[Any, ...],
    count: int,
    timeout_s: float,
    fallback_port: int,
    allow_icmp: bool,
) -> Planned:
    """An ICMP probe to an address (TCP connects when ICMP is not permitted or not allowed)."""
    run: Attempts | None = None
    if allow_icmp:
        try:
            run = _IcmpAttempts(family, sockaddr, count, timeout_s)
        except PermissionError as exc:
            log.debug("ICMP unavailable for %s, falling back to TCP: %s", host, exc)
    method = "icmp"
    if run is None:
        method = "tcp"
        tcp_addr = (sockaddr[0], fallback_port, *sockaddr[2:])
        run = TcpAttempts(family, tcp_addr, count, timeout_s, refused_is_reply=True)

    def finish(rtts: list[float], error: str | None) -> dict[str, Any]:
        return summarize(
            name=name, kind=kind, target=host, method=method, sent=count, rtts_ms=rtts, error=error
        )

    return run, finish


def probe_icmp(
    name: str,
    host: str,
    *,
    count: int,
    timeout_s: float,
    kind: str = "icmp",
    fallback_port: int = DEFAULT_ICMP_FALLBACK_PORT,
    allow_icmp: bool = True,
) -> dict[str, Any]:
    """ICMP echo RTT and loss; TCP connects to `fallback_port` when ICMP sockets are not permitted
    (or `allow_icmp` is False, which is how tests exercise the fallback)."""
    try:
        family, sockaddr = resolve(host, timeout_s, 0)
    except (OSError, TimeoutError, UnicodeError) as exc:  # UnicodeError: not a valid IDNA name
        return summarize(
            name=name,
            kind=kind,
            target=host,
            method="icmp",
            sent=0,
            rtts_ms=[],
            error=f"resolve {host}: {describe(exc)}",
        )
    return run_planned(
        plan_icmp(name, host, kind, family, sockaddr, count, timeout_s, fallback_port, allow_icmp)
    )
