"""Connectivity probes: gateway, ICMP (TCP fallback), TCP connect, HTTP(S), DNS (Report.probes).

Cost model: all targets of a cycle run concurrently. The `count` ICMP echoes or TCP connects of a
target are *staggered* (one every `ATTEMPT_SPACING_S`), each with its own `timeout_s`, and the attempts
of every ICMP/TCP target with an IP address are driven together on one selector in the calling thread,
so they share one wake-up per step. HTTP targets, DNS lookups and targets named by a host name (to be
resolved first) run on worker threads kept between cycles (`_Workers`). A dead target therefore costs
about one timeout of wall time, whatever `count` and the number of targets, and almost no CPU while
waiting: on a VM each sleep/wake-up of a thread costs ~0.1 ms of CPU, so wake-ups are what is counted.

HTTP and DNS targets make a single request per cycle: repeating a DNS lookup only measures the
resolver's cache, and a thousand agents sending `count` GETs every 30 s would load the portal being
watched. `count` applies to the packet-level probes (gateway, icmp, tcp).

ICMP needs no privileges where `net.ipv4.ping_group_range` admits the agent's group (an ICMP datagram
socket); otherwise a raw socket is tried (root / CAP_NET_RAW); otherwise the probe falls back to TCP
connects on the target's `port` (default 443) and reports method "tcp". In that fallback a refused
connection counts as a reply: the host answered with a reset, so it is alive, which is the question an
ICMP probe asks. For `tcp` targets a refused connection is a failure: the service is down.

A probe never raises; failures are `ok=False` with the reason in `error`. Nothing here sends traffic
anywhere but the configured targets and the detected default gateway.
"""

from __future__ import annotations

import errno
import functools
import itertools
import logging
import os
import queue
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from canhgac_agent.httpclient import host_arg

log = logging.getLogger(__name__)
_T = TypeVar("_T")

ATTEMPT_SPACING_S = 0.1  # gap between staggered attempts of one target
DEFAULT_ICMP_FALLBACK_PORT = 443
MAX_COUNT = 100
_KINDS = ("icmp", "tcp", "http", "dns")
_ICMP_PAYLOAD = b"canhgac-probe-v1"  # 16 bytes, recognisable in a capture

_ids = itertools.count(os.getpid())  # next() on a count is atomic under the GIL


def _new_icmp_id() -> int:
    """A per-probe echo identifier, so concurrent raw-socket probes can tell their replies apart."""
    return next(_ids) & 0xFFFF


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# --- results --------------------------------------------------------------------------------------


def summarize(
    *,
    name: str,
    kind: str,
    target: str,
    method: str,
    sent: int,
    rtts_ms: list[float],
    error: str | None = None,
    status_code: int | None = None,
    ok: bool | None = None,
) -> dict[str, Any]:
    """Build a `ProbeResult` dict from the RTTs (ms, in attempt order) of the attempts that succeeded.

    jitter is the mean absolute difference of consecutive RTTs (RFC 3550's idea without smoothing).
    `ok` defaults to "at least one reply"; `error` is kept only when the probe is not ok.
    """
    received = len(rtts_ms)
    result: dict[str, Any] = {
        "name": _clip(name, 256),
        "kind": kind,
        "target": _clip(target, 2048),
        "method": method,
        "sent": sent,
        "received": received,
        "loss_ratio": round(1.0 - received / sent, 4) if sent > 0 else 1.0,
        "rtt_min_ms": None,
        "rtt_avg_ms": None,
        "rtt_max_ms": None,
        "jitter_ms": None,
        "ok": received > 0 if ok is None else ok,
        "status_code": status_code,
        "error": None,
    }
    if rtts_ms:
        result["rtt_min_ms"] = round(min(rtts_ms), 3)
        result["rtt_avg_ms"] = round(sum(rtts_ms) / received, 3)
        result["rtt_max_ms"] = round(max(rtts_ms), 3)
        if received >= 2:
            diffs = [abs(b - a) for a, b in itertools.pairwise(rtts_ms)]
            result["jitter_ms"] = round(sum(diffs) / len(diffs), 3)
    if not result["ok"]:
        result["error"] = _clip(error or "no reply", 2048)
    return result


# --- name resolution (bounded) --------------------------------------------------------------------


class _Workers:
    """Daemon threads kept between cycles, so a cycle hands each target to an idle thread instead of
    starting one per target (~150 µs of CPU each, every cycle).

    `submit` gives the job to an idle worker, or starts a new one when none is idle, so a worker stuck
    in a call that ignores its timeout (a resolver) never delays other jobs: it is just not idle. A
    worker idle for `idle_s` exits, and at most `max_idle` are kept.
    """

    def __init__(self, idle_s: float = 900.0, max_idle: int = 16) -> None:
        self.idle_s = idle_s
        self.max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[Callable[[], None]]] = []

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` (which must not raise) on a worker thread."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is not None:
            inbox.put(job)
            return
        inbox = queue.SimpleQueue()
        threading.Thread(target=self._work, args=(inbox, job), name="canhgac-probe", daemon=True).start()

    def _work(self, inbox: queue.SimpleQueue[Callable[[], None]], job: Callable[[], None] | None) -> None:
        while job is not None:
            job()
            job = None  # drop its references while idle
            with self._lock:
                if len(self._idle) >= self.max_idle:
                    return
                self._idle.append(inbox)
            try:
                job = inbox.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if inbox in self._idle:
                        self._idle.remove(inbox)
                        return
                job = inbox.get()  # `submit` took this worker just now: its job is on the way


_workers = _Workers()


class _Call:
    """`fn()` running on a worker thread; `wait` returns its value or raises its exception."""

    __slots__ = ("done", "error", "finished_at", "value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished_at = 0.0

        def run() -> None:
            try:
                self.value = fn()
            except BaseException as exc:
                self.error = exc
            self.finished_at = time.monotonic()
            self.done.set()

        _workers.submit(run)

    def wait(self, timeout_s: float) -> Any:
        """The result; TimeoutError if `fn` has not returned within `timeout_s` (it is abandoned)."""
        if not self.done.wait(max(0.0, timeout_s)):
            raise TimeoutError(f"timed out after {timeout_s:g}s")
        if self.error is not None:
            raise self.error
        return self.value


def run_bounded(fn: Callable[[], _T], timeout_s: float) -> _T:
    """Run `fn` on a worker thread and wait at most `timeout_s`; raise TimeoutError past that.

    For calls with no timeout of their own (getaddrinfo): on timeout the worker is abandoned to finish
    when the resolver gives up; it is a daemon, so it never holds the agent at exit.
    """
    return cast(_T, _Call(fn).wait(timeout_s))


def _is_ip_literal(host: str) -> int | None:
    """The address family of an IP literal, or None for a name."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return family
    return None


def resolve(host: str, timeout_s: float, port: int = 0) -> tuple[int, tuple[Any, ...]]:
    """(family, sockaddr) for `host`, IP literals without a lookup; raises OSError/TimeoutError."""
    family = _is_ip_literal(host)
    if family is not None:
        if family == socket.AF_INET6:
            return family, (host, port, 0, 0)
        return family, (host, port)
    query = host_arg(host)
    infos = run_bounded(
        lambda: socket.getaddrinfo(query, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), timeout_s
    )
    if not infos:
        raise OSError(f"no address for {host}")
    fam, _, _, _, sockaddr = infos[0]
    return int(fam), tuple(sockaddr)


# --- ICMP -----------------------------------------------------------------------------------------


def icmp_checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo_request(ident: int, seq: int, *, v6: bool = False, payload: bytes = _ICMP_PAYLOAD) -> bytes:
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
            raise PermissionError(f"ICMP socket not permitted: {_describe(first)}") from first


class _Attempts:
    """`count` staggered attempts at one address. `_drive` runs any number of these on one selector in
    the calling thread, so the attempts of every packet-level target of a cycle share the same few
    wake-ups (one per `ATTEMPT_SPACING_S` step) instead of each target sleeping and waking on its own
    thread."""

    def __init__(self, count: int, timeout_s: float) -> None:
        self.count = count
        self.timeout_s = timeout_s
        self.next_i = 0  # the next attempt to start
        self.error: str | None = None

    def start(self, sel: Any, now: float) -> None:
        """Begin attempt `next_i`."""
        raise NotImplementedError

    def ready(self, sel: Any, key: Any) -> None:
        """A registered socket is ready."""
        raise NotImplementedError

    def expire(self, sel: Any, now: float) -> None:
        """Give up on attempts older than the timeout."""

    def deadlines(self) -> list[float]:
        """When outstanding attempts time out (empty when none is outstanding)."""
        raise NotImplementedError

    def close(self, sel: Any) -> None:
        """Release every socket; called once, whatever happened."""

    def result(self) -> tuple[list[float], str | None]:
        """(RTTs in ms in attempt order, last error)."""
        raise NotImplementedError


class _IcmpAttempts(_Attempts):
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
            self.error = _describe(exc)

    def ready(self, sel: Any, key: Any) -> None:
        while True:
            try:
                packet, addr = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error = _describe(exc)
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


# Windows reports these as WSA codes (10035, 10061), not as the C library's errno values.
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, getattr(errno, "WSAEWOULDBLOCK", -1)}
_REFUSED = {errno.ECONNREFUSED, getattr(errno, "WSAECONNREFUSED", -1)}


def _strerror(code: int) -> str:
    if code in _REFUSED:
        return "Connection refused"
    text = os.strerror(code)
    return f"socket error {code}" if text.startswith("Unknown error") else text


class _TcpAttempts(_Attempts):
    """Non-blocking connects; the RTT is the connect time. With `refused_is_reply` (the ICMP fallback)
    a refused connection counts: the host answered."""

    def __init__(
        self,
        family: int,
        sockaddr: tuple[Any, ...],
        count: int,
        timeout_s: float,
        *,
        refused_is_reply: bool,
    ) -> None:
        super().__init__(count, timeout_s)
        self.family = family
        self.sockaddr = sockaddr
        self.refused_is_reply = refused_is_reply
        self.rtts: dict[int, float] = {}
        self.pending: dict[socket.socket, tuple[int, float]] = {}  # socket -> (attempt, start time)

    def _settle(self, attempt: int, started: float, err: int) -> None:
        if err == 0 or (err in _REFUSED and self.refused_is_reply):
            self.rtts[attempt] = (time.monotonic() - started) * 1000
        else:
            self.error = _strerror(err)

    def start(self, sel: Any, now: float) -> None:
        import selectors

        attempt = self.next_i
        self.next_i += 1
        try:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
        except OSError as exc:
            self.error = _describe(exc)
            return
        sock.setblocking(False)
        started = time.monotonic()
        err = sock.connect_ex(self.sockaddr)
        if err in _IN_PROGRESS:
            self.pending[sock] = (attempt, started)
            sel.register(sock, selectors.EVENT_WRITE, self)
        else:  # completed (or failed) at once, typical on loopback
            self._settle(attempt, started, err)
            sock.close()

    def ready(self, sel: Any, key: Any) -> None:
        sock = cast(socket.socket, key.fileobj)
        attempt, started = self.pending.pop(sock)
        self._settle(attempt, started, sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        sel.unregister(sock)
        sock.close()

    def expire(self, sel: Any, now: float) -> None:
        for sock, (_, started) in list(self.pending.items()):
            if now - started >= self.timeout_s:
                self.error = f"connect timed out after {self.timeout_s:g}s"
                sel.unregister(sock)
                sock.close()
                del self.pending[sock]

    def deadlines(self) -> list[float]:
        return [started + self.timeout_s for _, started in self.pending.values()]

    def close(self, sel: Any) -> None:
        for sock in self.pending:
            sel.unregister(sock)
            sock.close()
        self.pending.clear()

    def result(self) -> tuple[list[float], str | None]:
        error = self.error
        if not self.rtts and error is None:
            error = "no connection"
        return [self.rtts[i] for i in sorted(self.rtts)], error


def _drive(runs: list[_Attempts]) -> None:
    """Run the staggered attempts of all `runs` on one selector until each has finished.

    Bounded: a run ends `count * ATTEMPT_SPACING_S + timeout_s` after the start at the latest.
    """
    import selectors

    with selectors.DefaultSelector() as sel:
        try:
            start = time.monotonic()
            while True:
                now = time.monotonic()
                wake: float | None = None
                for run in runs:
                    while run.next_i < run.count and now >= start + run.next_i * ATTEMPT_SPACING_S:
                        run.start(sel, now)
                    run.expire(sel, time.monotonic())
                    times = run.deadlines()
                    if run.next_i < run.count:
                        times.append(start + run.next_i * ATTEMPT_SPACING_S)
                    if times:
                        wake = min(times) if wake is None else min(wake, *times)
                if wake is None:
                    return
                for key, _ in sel.select(max(0.0, wake - time.monotonic())):
                    key.data.ready(sel, key)
        finally:
            for run in runs:
                run.close(sel)


def _icmp_attempts(
    family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float
) -> tuple[list[float], str | None]:
    """Send `count` staggered echoes and collect replies. Returns (RTTs in ms by seq, last error)."""
    run = _IcmpAttempts(family, sockaddr, count, timeout_s)
    _drive([run])
    return run.result()


def _tcp_attempts(
    family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float, *, refused_is_reply: bool
) -> tuple[list[float], str | None]:
    """`count` staggered non-blocking connects. Returns (connect times in ms by attempt, last error)."""
    run = _TcpAttempts(family, sockaddr, count, timeout_s, refused_is_reply=refused_is_reply)
    _drive([run])
    return run.result()


def _fmt_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _literal_sockaddr(host: str, port: int) -> tuple[int, tuple[Any, ...]] | None:
    family = _is_ip_literal(host)
    if family is None:
        return None
    return family, ((host, port, 0, 0) if family == socket.AF_INET6 else (host, port))


# A started packet-level probe: the attempts to drive, and how to turn them into a ProbeResult.
_Planned = tuple[_Attempts, Callable[[list[float], str | None], dict[str, Any]]]


def _plan_tcp(
    name: str, host: str, port: int, family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float
) -> _Planned:
    def finish(rtts: list[float], error: str | None) -> dict[str, Any]:
        return summarize(
            name=name,
            kind="tcp",
            target=_fmt_hostport(host, port),
            method="tcp",
            sent=count,
            rtts_ms=rtts,
            error=error,
        )

    return _TcpAttempts(family, sockaddr, count, timeout_s, refused_is_reply=False), finish


def _plan_icmp(
    name: str,
    host: str,
    kind: str,
    family: int,
    sockaddr: tuple[Any, ...],
    count: int,
    timeout_s: float,
    fallback_port: int,
    allow_icmp: bool,
) -> _Planned:
    run: _Attempts | None = None
    if allow_icmp:
        try:
            run = _IcmpAttempts(family, sockaddr, count, timeout_s)
        except PermissionError as exc:
            log.debug("ICMP unavailable for %s, falling back to TCP: %s", host, exc)
    method = "icmp"
    if run is None:
        method = "tcp"
        tcp_addr = (sockaddr[0], fallback_port, *sockaddr[2:])
        run = _TcpAttempts(family, tcp_addr, count, timeout_s, refused_is_reply=True)

    def finish(rtts: list[float], error: str | None) -> dict[str, Any]:
        return summarize(
            name=name, kind=kind, target=host, method=method, sent=count, rtts_ms=rtts, error=error
        )

    return run, finish


def _run_planned(planned: _Planned) -> dict[str, Any]:
    run, finish = planned
    _drive([run])
    return finish(*run.result())


def probe_tcp(name: str, host: str, port: int, *, count: int, timeout_s: float) -> dict[str, Any]:
    """TCP connect time to host:port over `count` attempts; a refused port is a failed attempt."""
    try:
        family, sockaddr = resolve(host, timeout_s, port)
    except (OSError, TimeoutError, UnicodeError) as exc:  # UnicodeError: not a valid IDNA name
        return summarize(
            name=name,
            kind="tcp",
            target=_fmt_hostport(host, port),
            method="tcp",
            sent=0,
            rtts_ms=[],
            error=f"resolve {host}: {_describe(exc)}",
        )
    return _run_planned(_plan_tcp(name, host, port, family, sockaddr, count, timeout_s))


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
            error=f"resolve {host}: {_describe(exc)}",
        )
    return _run_planned(
        _plan_icmp(name, host, kind, family, sockaddr, count, timeout_s, fallback_port, allow_icmp)
    )


# --- HTTP and DNS ---------------------------------------------------------------------------------


@functools.cache
def _get_ssl_context() -> Any:
    """One verifying TLS context per process: loading the CA store costs tens of ms of CPU."""
    from canhgac_agent.httpclient import tls_context

    return tls_context()


MAX_REDIRECTS = 10  # as urllib
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})


def probe_http(name: str, url: str, *, timeout_s: float) -> dict[str, Any]:
    """One GET; latency is the time to the response headers (the body is not read), redirects included.
    Redirects are followed (at most 10); 2xx/3xx is ok. A new connection each time: connecting is part
    of what is measured. Proxies from the environment are ignored: the probe measures the direct path
    from this host, which is what the network team needs to know."""
    from urllib.parse import urljoin

    from canhgac_agent import __version__
    from canhgac_agent.httpclient import HttpClient, ProtocolError, parse_url

    def result(rtts: list[float], status: int | None, error: str | None, ok: bool) -> dict[str, Any]:
        return summarize(
            name=name,
            kind="http",
            target=url,
            method="http",
            sent=1,
            rtts_ms=rtts,
            status_code=status,
            error=error,
            ok=ok,
        )

    try:
        target = parse_url(url)
    except ValueError as exc:
        return result([], None, str(exc), False)
    client = HttpClient(context_factory=_get_ssl_context, keep_alive=False)
    headers = {"User-Agent": f"canhgac-agent/{__version__} probe", "Accept-Encoding": "identity"}
    started = time.monotonic()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            response = client.request("GET", target, headers=headers, timeout_s=timeout_s, read_body=False)
            location = response.headers.get("location")
            if response.status not in _REDIRECT_STATUS or not location:
                break
            try:
                target = parse_url(urljoin(target.text, location))
            except ValueError:
                break  # a redirect we would not follow: report the 3xx itself
        status = response.status
    except TimeoutError:
        return result([], None, f"timed out after {timeout_s:g}s", False)
    except UnicodeError as exc:  # a host name IDNA refuses
        return result([], None, f"{type(exc).__name__}: {_describe(exc)}", False)
    except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError)
        return result([], None, _describe(exc), False)
    except (ProtocolError, ValueError) as exc:  # malformed replies
        return result([], None, f"{type(exc).__name__}: {_describe(exc)}", False)
    elapsed = (time.monotonic() - started) * 1000
    status_code = status if 100 <= status <= 599 else None
    ok = 200 <= status < 400
    return result([elapsed], status_code, None if ok else f"HTTP {status}", ok)


def probe_dns(name: str, host: str, *, timeout_s: float) -> dict[str, Any]:
    """One resolution through the system resolver (getaddrinfo), bounded by `timeout_s`."""
    return _start_dns(name, host, timeout_s)()


def _start_dns(name: str, host: str, timeout_s: float) -> Callable[[], dict[str, Any]]:
    """Start the lookup on a worker; the returned function waits for it (within `timeout_s` of the
    start) and makes the result. The RTT is taken when the lookup returns, not when it is collected."""
    started = time.monotonic()

    def failed(error: str) -> dict[str, Any]:
        return summarize(name=name, kind="dns", target=host, method="dns", sent=1, rtts_ms=[], error=error)

    try:
        query = host_arg(host)
    except UnicodeError as exc:
        result = failed(_describe(exc))
        return lambda: result
    call = _Call(lambda: socket.getaddrinfo(query, None, proto=socket.IPPROTO_TCP))

    def finish() -> dict[str, Any]:
        try:
            infos = call.wait(timeout_s - (time.monotonic() - started))
        except TimeoutError:
            return failed(f"timed out after {timeout_s:g}s")
        except (OSError, UnicodeError) as exc:
            return failed(_describe(exc))
        if not infos:
            return failed("no address")
        elapsed = (call.finished_at - started) * 1000
        return summarize(name=name, kind="dns", target=host, method="dns", sent=1, rtts_ms=[elapsed])

    return finish


# --- default gateway ------------------------------------------------------------------------------

_RTF_UP_GATEWAY = 0x0003


def parse_proc_net_route(text: str) -> str | None:
    """The IPv4 default gateway from /proc/net/route text (lowest metric wins), or None."""
    best: tuple[int, str] | None = None
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 7:
            continue
        try:
            destination, gateway, flags = int(fields[1], 16), int(fields[2], 16), int(fields[3], 16)
            metric = int(fields[6])
            mask = int(fields[7], 16) if len(fields) > 7 else 0
        except ValueError:
            continue
        if destination != 0 or mask != 0 or flags & _RTF_UP_GATEWAY != _RTF_UP_GATEWAY or gateway == 0:
            continue
        address = socket.inet_ntoa(struct.pack("<I", gateway & 0xFFFFFFFF))  # the kernel prints host order
        if best is None or metric < best[0]:
            best = (metric, address)
    return None if best is None else best[1]


def parse_route_print(text: str) -> str | None:
    """The IPv4 default gateway from Windows `route print -4 0.0.0.0` text (lowest metric), or None."""
    best: tuple[int, str] | None = None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] != "0.0.0.0" or fields[1] != "0.0.0.0":
            continue
        gateway = fields[2]
        if _is_ip_literal(gateway) != socket.AF_INET:  # "On-link" has no gateway
            continue
        try:
            metric = int(fields[-1])
        except ValueError:
            continue
        if best is None or metric < best[0]:
            best = (metric, gateway)
    return None if best is None else best[1]


def default_gateway() -> str | None:
    """The host's IPv4 default gateway, or None when there is none or it cannot be read."""
    if sys.platform == "win32":
        return _windows_default_gateway()
    try:
        with open("/proc/net/route", encoding="ascii", errors="replace") as f:
            return parse_proc_net_route(f.read())
    except OSError:
        return None


def _windows_default_gateway() -> str | None:
    """`route print -4 0.0.0.0` (no PowerShell start-up cost); language-independent column layout."""
    if sys.platform == "win32":
        import subprocess

        try:
            out = subprocess.run(
                ["route", "print", "-4", "0.0.0.0"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
                creationflags=subprocess.CREATE_NO_WINDOW,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return parse_route_print(out)
    return None


# --- entry point ----------------------------------------------------------------------------------


def _probe_target(target: dict[str, Any], count: int, timeout_s: float, allow_icmp: bool) -> dict[str, Any]:
    kind = target["kind"]
    name = str(target.get("name") or kind)
    host = str(target.get("host") or "")
    if kind == "http":
        url = str(target.get("url") or "")
        if not url:
            return summarize(
                name=name, kind=kind, target="", method="http", sent=0, rtts_ms=[], error="target has no url"
            )
        return probe_http(name, url, timeout_s=timeout_s)
    if not host:
        method = "tcp" if kind == "tcp" else kind
        return summarize(
            name=name, kind=kind, target="", method=method, sent=0, rtts_ms=[], error="target has no host"
        )
    if kind == "dns":
        return probe_dns(name, host, timeout_s=timeout_s)
    port = target.get("port")
    if kind == "tcp":
        if not isinstance(port, int) or not 0 < port < 65536:
            return summarize(
                name=name,
                kind=kind,
                target=host,
                method="tcp",
                sent=0,
                rtts_ms=[],
                error=f"invalid port: {port!r}",
            )
        return probe_tcp(name, host, port, count=count, timeout_s=timeout_s)
    fallback = port if isinstance(port, int) and 0 < port < 65536 else DEFAULT_ICMP_FALLBACK_PORT
    return probe_icmp(
        name, host, count=count, timeout_s=timeout_s, kind=kind, fallback_port=fallback, allow_icmp=allow_icmp
    )


def run_probes(
    targets: list[dict[str, Any]],
    *,
    gateway: bool,
    count: int,
    timeout_s: float,
    allow_icmp: bool = True,
) -> list[dict[str, Any]]:
    """Probe each target (settings `probe_targets` shape) concurrently and return `ProbeResult` dicts.

    With `gateway`, the detected default gateway is probed first (ICMP, kind "gateway"). Targets with
    an unknown `kind` cannot be represented in a report and are skipped with a warning. Results keep
    the order gateway, then targets. `allow_icmp=False` forces the TCP fallback (tests, locked-down
    hosts).
    """
    count = max(1, min(MAX_COUNT, int(count)))
    timeout_s = max(0.05, float(timeout_s))
    jobs: list[dict[str, Any]] = []
    if gateway:
        gw = default_gateway()
        if gw is not None:
            jobs.append({"kind": "gateway", "name": "gateway", "host": gw})
    for target in targets:
        if not isinstance(target, dict) or target.get("kind") not in _KINDS:
            log.warning("skipping probe target with unknown kind: %r", target)
            continue
        jobs.append(target)

    results: list[dict[str, Any] | None] = [None] * len(jobs)
    finished: list[threading.Event] = []
    planned: list[tuple[int, _Planned]] = []  # packet-level probes, driven together in this thread
    lookups: list[tuple[int, Callable[[], dict[str, Any]]]] = []  # DNS lookups running on workers

    def work(i: int, job: dict[str, Any], done: threading.Event) -> None:
        try:
            results[i] = _probe_target(job, count, timeout_s, allow_icmp)
        except Exception as exc:  # a probe never raises: any bug becomes an error in its result
            log.exception("probe %r failed", job.get("name"))
            results[i] = _failed(job, f"probe failed: {type(exc).__name__}: {exc}")
        done.set()

    for i, job in enumerate(jobs):
        try:
            plan = _plan_inline(job, count, timeout_s, allow_icmp)
        except Exception as exc:
            log.exception("probe %r failed", job.get("name"))
            results[i] = _failed(job, f"probe failed: {type(exc).__name__}: {exc}")
            continue
        if isinstance(plan, tuple):
            planned.append((i, plan))
        elif plan is not None:
            lookups.append((i, plan))
        else:  # HTTP, names to resolve, invalid targets: on a worker thread of their own
            done = threading.Event()
            finished.append(done)
            _workers.submit(functools.partial(work, i, job, done))
    # Every probe bounds itself; this outer deadline is a safety net against a stuck thread.
    deadline = time.monotonic() + 2 * timeout_s + count * ATTEMPT_SPACING_S + 1.0
    if planned:
        try:
            _drive([run for _, (run, _) in planned])
            for i, (run, finish) in planned:
                results[i] = finish(*run.result())
        except Exception as exc:
            log.exception("probes failed")
            for i, _ in planned:
                if results[i] is None:
                    results[i] = _failed(jobs[i], f"probe failed: {type(exc).__name__}: {exc}")
    for i, finish_lookup in lookups:
        try:
            results[i] = finish_lookup()
        except Exception as exc:
            log.exception("probe %r failed", jobs[i].get("name"))
            results[i] = _failed(jobs[i], f"probe failed: {type(exc).__name__}: {exc}")
    for event in finished:
        event.wait(max(0.0, deadline - time.monotonic()))
    return [
        r if r is not None else _failed(job, "probe did not finish")
        for r, job in zip(list(results), jobs, strict=True)
    ]


def _plan_inline(
    job: dict[str, Any], count: int, timeout_s: float, allow_icmp: bool
) -> _Planned | Callable[[], dict[str, Any]] | None:
    """How `run_probes` runs a target without a thread of its own: ICMP/TCP to an IP literal as
    attempts driven in the calling thread; DNS as a lookup started now and collected later. None: the
    target needs a worker (HTTP, a name to resolve first) or is invalid (`_probe_target` says why)."""
    kind = job["kind"]
    name = str(job.get("name") or kind)
    host = str(job.get("host") or "")
    if not host or kind == "http":
        return None
    if kind == "dns":
        return _start_dns(name, host, timeout_s)
    port = job.get("port")
    if kind == "tcp":
        if not isinstance(port, int) or not 0 < port < 65536:
            return None
        literal = _literal_sockaddr(host, port)
        return None if literal is None else _plan_tcp(name, host, port, *literal, count, timeout_s)
    literal = _literal_sockaddr(host, 0)
    if literal is None:
        return None
    fallback = port if isinstance(port, int) and 0 < port < 65536 else DEFAULT_ICMP_FALLBACK_PORT
    return _plan_icmp(name, host, kind, *literal, count, timeout_s, fallback, allow_icmp)


def _failed(job: dict[str, Any], error: str) -> dict[str, Any]:
    kind = job["kind"]
    method = {"gateway": "icmp", "icmp": "icmp"}.get(kind, kind)
    target = str(job.get("url") or job.get("host") or "")
    return summarize(
        name=str(job.get("name") or kind),
        kind=kind,
        target=target,
        method=method,
        sent=0,
        rtts_ms=[],
        error=error,
    )
