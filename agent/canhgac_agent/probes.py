"""Connectivity probes: gateway, ICMP (TCP fallback), TCP connect, HTTP(S), DNS (Report.probes).

Cost model: every target runs in its own thread, and within a target the `count` ICMP echoes or TCP
connects are *staggered* (one every `ATTEMPT_SPACING_S`) and awaited together with a selector, each
with its own `timeout_s`. A dead target therefore costs about one timeout of wall time, whatever
`count` and the number of targets, and almost no CPU while waiting.

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
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

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


def run_bounded(fn: Callable[[], _T], timeout_s: float) -> _T:
    """Run `fn` in a daemon thread and wait at most `timeout_s`; raise TimeoutError past that.

    For calls with no timeout of their own (getaddrinfo): on timeout the thread is abandoned and ends
    when the resolver gives up; it is a daemon, so it never holds the agent at exit.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name="canhgac-resolve", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"timed out after {timeout_s:g}s")
    if "error" in box:
        raise box["error"]
    return cast(_T, box["value"])


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
    infos = run_bounded(
        lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), timeout_s
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


def _icmp_attempts(
    family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float
) -> tuple[list[float], str | None]:
    """Send `count` staggered echoes and collect replies. Returns (RTTs in ms by seq, last error)."""
    import selectors

    sock, raw = _open_icmp_socket(family)
    v6 = family == socket.AF_INET6
    ident = _new_icmp_id()
    base_seq = int.from_bytes(os.urandom(2), "big") & 0x7FFF
    sent_at: dict[int, float] = {}
    rtts: dict[int, float] = {}
    error: str | None = None
    with sock, selectors.DefaultSelector() as sel:
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        start = time.monotonic()
        next_i = 0
        while True:
            now = time.monotonic()
            while next_i < count and now >= start + next_i * ATTEMPT_SPACING_S:
                seq = (base_seq + next_i) & 0xFFFF
                try:
                    sock.sendto(build_echo_request(ident, seq, v6=v6), sockaddr)
                    sent_at[seq] = time.monotonic()
                except OSError as exc:  # e.g. ENETUNREACH: the attempt is lost
                    error = _describe(exc)
                next_i += 1
            pending = [t + timeout_s for s, t in sent_at.items() if s not in rtts and t + timeout_s > now]
            if next_i >= count and not pending:
                break
            wake = min([*pending, *([start + next_i * ATTEMPT_SPACING_S] if next_i < count else [])])
            if not sel.select(max(0.0, wake - now)):
                continue
            while True:
                try:
                    packet, addr = sock.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    error = _describe(exc)
                    break
                received = time.monotonic()
                reply = parse_echo_reply(packet, v6=v6, raw=raw)
                if reply is None or addr[0].split("%")[0] != sockaddr[0].split("%")[0]:
                    continue
                r_ident, r_seq = reply
                # Datagram sockets: the kernel rewrites the id to the socket's port and filters replies.
                if raw and r_ident != ident:
                    continue
                t_sent = sent_at.get(r_seq)
                if t_sent is not None and r_seq not in rtts and received - t_sent <= timeout_s:
                    rtts[r_seq] = (received - t_sent) * 1000
    ordered = [rtts[s] for s in sorted(rtts, key=lambda s: (s - base_seq) & 0xFFFF)]
    if not ordered and error is None:
        error = f"no echo reply within {timeout_s:g}s"
    return ordered, error


# --- TCP ------------------------------------------------------------------------------------------


# Windows reports these as WSA codes (10035, 10061), not as the C library's errno values.
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, getattr(errno, "WSAEWOULDBLOCK", -1)}
_REFUSED = {errno.ECONNREFUSED, getattr(errno, "WSAECONNREFUSED", -1)}


def _strerror(code: int) -> str:
    if code in _REFUSED:
        return "Connection refused"
    text = os.strerror(code)
    return f"socket error {code}" if text.startswith("Unknown error") else text


def _tcp_attempts(
    family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float, *, refused_is_reply: bool
) -> tuple[list[float], str | None]:
    """`count` staggered non-blocking connects. Returns (connect times in ms by attempt, last error)."""
    import selectors

    rtts: dict[int, float] = {}
    error: str | None = None
    pending: dict[socket.socket, tuple[int, float]] = {}  # socket -> (attempt, start time)

    def settle(attempt: int, started: float, err: int) -> None:
        nonlocal error
        if err == 0 or (err in _REFUSED and refused_is_reply):
            rtts[attempt] = (time.monotonic() - started) * 1000
        else:
            error = _strerror(err)

    with selectors.DefaultSelector() as sel:
        start = time.monotonic()
        next_i = 0
        try:
            while True:
                while next_i < count and time.monotonic() >= start + next_i * ATTEMPT_SPACING_S:
                    attempt, next_i = next_i, next_i + 1
                    try:
                        sock = socket.socket(family, socket.SOCK_STREAM)
                    except OSError as exc:
                        error = _describe(exc)
                        continue
                    sock.setblocking(False)
                    started = time.monotonic()
                    err = sock.connect_ex(sockaddr)
                    if err in _IN_PROGRESS:
                        pending[sock] = (attempt, started)
                        sel.register(sock, selectors.EVENT_WRITE)
                    else:  # completed (or failed) at once, typical on loopback
                        settle(attempt, started, err)
                        sock.close()
                now = time.monotonic()
                for sock, (_, started) in list(pending.items()):
                    if now - started >= timeout_s:
                        error = f"connect timed out after {timeout_s:g}s"
                        sel.unregister(sock)
                        sock.close()
                        del pending[sock]
                if next_i >= count and not pending:
                    break
                wake = [started + timeout_s for _, started in pending.values()]
                if next_i < count:
                    wake.append(start + next_i * ATTEMPT_SPACING_S)
                for key, _ in sel.select(max(0.0, min(wake) - time.monotonic())):
                    sock = cast(socket.socket, key.fileobj)
                    attempt, started = pending.pop(sock)
                    settle(attempt, started, sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
                    sel.unregister(sock)
                    sock.close()
        finally:
            for sock in pending:
                sock.close()
    if not rtts and error is None:
        error = "no connection"
    return [rtts[i] for i in sorted(rtts)], error


def _fmt_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe_tcp(name: str, host: str, port: int, *, count: int, timeout_s: float) -> dict[str, Any]:
    """TCP connect time to host:port over `count` attempts; a refused port is a failed attempt."""
    target = _fmt_hostport(host, port)
    try:
        family, sockaddr = resolve(host, timeout_s, port)
    except (OSError, TimeoutError, UnicodeError) as exc:  # UnicodeError: not a valid IDNA name
        return summarize(
            name=name,
            kind="tcp",
            target=target,
            method="tcp",
            sent=0,
            rtts_ms=[],
            error=f"resolve {host}: {_describe(exc)}",
        )
    rtts, error = _tcp_attempts(family, sockaddr, count, timeout_s, refused_is_reply=False)
    return summarize(
        name=name, kind="tcp", target=target, method="tcp", sent=count, rtts_ms=rtts, error=error
    )


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
    if allow_icmp:
        try:
            rtts, error = _icmp_attempts(family, sockaddr, count, timeout_s)
        except PermissionError as exc:
            log.debug("ICMP unavailable for %s, falling back to TCP: %s", host, exc)
        else:
            return summarize(
                name=name, kind=kind, target=host, method="icmp", sent=count, rtts_ms=rtts, error=error
            )
    tcp_addr = (sockaddr[0], fallback_port, *sockaddr[2:])
    rtts, error = _tcp_attempts(family, tcp_addr, count, timeout_s, refused_is_reply=True)
    return summarize(name=name, kind=kind, target=host, method="tcp", sent=count, rtts_ms=rtts, error=error)


# --- HTTP and DNS ---------------------------------------------------------------------------------


@functools.cache
def _get_ssl_context() -> Any:
    """One verifying TLS context per process: loading the CA store costs tens of ms of CPU."""
    import ssl

    return ssl.create_default_context()


def probe_http(name: str, url: str, *, timeout_s: float) -> dict[str, Any]:
    """One GET; latency is the time to the response headers (the body is not read). Redirects are
    followed; 2xx/3xx is ok. Proxies from the environment are ignored: the probe measures the direct
    path from this host, which is what the network team needs to know."""
    import http.client
    import urllib.error
    import urllib.request

    from canhgac_agent import __version__

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

    if not url.lower().startswith(("http://", "https://")):
        return result([], None, f"unsupported URL scheme: {url[:100]}", False)
    handlers: list[Any] = [urllib.request.ProxyHandler({})]
    if url.lower().startswith("https://"):
        handlers.append(urllib.request.HTTPSHandler(context=_get_ssl_context()))
    opener = urllib.request.build_opener(*handlers)
    # S310: the scheme was checked above to be http(s).
    request = urllib.request.Request(url, headers={"User-Agent": f"canhgac-agent/{__version__} probe"})  # noqa: S310
    started = time.monotonic()
    try:
        with opener.open(request, timeout=timeout_s) as response:
            elapsed = (time.monotonic() - started) * 1000
            status = int(response.status)
    except urllib.error.HTTPError as exc:  # a response, just not a 2xx/3xx one
        elapsed = (time.monotonic() - started) * 1000
        exc.close()
        status = exc.code
    except urllib.error.URLError as exc:  # connection-level failure: refused, timeout, TLS, DNS
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return result([], None, f"timed out after {timeout_s:g}s", False)
        return result(
            [], None, _describe(reason) if isinstance(reason, BaseException) else str(reason), False
        )
    except TimeoutError:
        return result([], None, f"timed out after {timeout_s:g}s", False)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # TLS, resets, malformed replies
        return result([], None, f"{type(exc).__name__}: {_describe(exc)}", False)
    status_code = status if 100 <= status <= 599 else None
    ok = 200 <= status < 400
    return result([elapsed], status_code, None if ok else f"HTTP {status}", ok)


def probe_dns(name: str, host: str, *, timeout_s: float) -> dict[str, Any]:
    """One resolution through the system resolver (getaddrinfo), bounded by `timeout_s`."""
    started = time.monotonic()
    try:
        infos = run_bounded(lambda: socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP), timeout_s)
    except (OSError, TimeoutError, UnicodeError) as exc:
        return summarize(
            name=name, kind="dns", target=host, method="dns", sent=1, rtts_ms=[], error=_describe(exc)
        )
    elapsed = (time.monotonic() - started) * 1000
    if not infos:
        return summarize(
            name=name, kind="dns", target=host, method="dns", sent=1, rtts_ms=[], error="no address"
        )
    return summarize(name=name, kind="dns", target=host, method="dns", sent=1, rtts_ms=[elapsed])


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

    def work(i: int, job: dict[str, Any]) -> None:
        try:
            results[i] = _probe_target(job, count, timeout_s, allow_icmp)
        except Exception as exc:  # a probe never raises: any bug becomes an error in its result
            log.exception("probe %r failed", job.get("name"))
            results[i] = _failed(job, f"probe failed: {type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=work, args=(i, job), name=f"canhgac-probe-{i}", daemon=True)
        for i, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    # Every probe bounds itself; this outer deadline is a safety net against a stuck thread.
    deadline = time.monotonic() + 2 * timeout_s + count * ATTEMPT_SPACING_S + 1.0
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [
        r if r is not None else _failed(job, "probe did not finish")
        for r, job in zip(results, jobs, strict=True)
    ]


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
