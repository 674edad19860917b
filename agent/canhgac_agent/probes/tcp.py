"""TCP connect probes (kind `tcp`): the RTT is the connect time; a refused port is a failed attempt
(the service is down). The ICMP probe reuses these connects as its fallback, where a refusal counts as
a reply.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import Any, cast

from canhgac_agent.probes.common import Attempts, Planned, describe, drive, resolve, run_planned, summarize

# Windows reports these as WSA codes (10035, 10061), not as the C library's errno values.
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, getattr(errno, "WSAEWOULDBLOCK", -1)}
_REFUSED = {errno.ECONNREFUSED, getattr(errno, "WSAECONNREFUSED", -1)}


def _strerror(code: int) -> str:
    if code in _REFUSED:
        return "Connection refused"
    text = os.strerror(code)
    return f"socket error {code}" if text.startswith("Unknown error") else text


class TcpAttempts(Attempts):
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
            self.error = describe(exc)
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


def _tcp_attempts(
    family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float, *, refused_is_reply: bool
) -> tuple[list[float], str | None]:
    """`count` staggered non-blocking connects. Returns (connect times in ms by attempt, last error)."""
    run = TcpAttempts(family, sockaddr, count, timeout_s, refused_is_reply=refused_is_reply)
    drive([run])
    return run.result()


def fmt_hostport(host: str, port: int) -> str:
    """`host:port`, the IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def plan_tcp(
    name: str, host: str, port: int, family: int, sockaddr: tuple[Any, ...], count: int, timeout_s: float
) -> Planned:
    """A TCP probe to an address: the connects to drive and how to make its result."""

    def finish(rtts: list[float], error: str | None) -> dict[str, Any]:
        return summarize(
            name=name,
            kind="tcp",
            target=fmt_hostport(host, port),
            method="tcp",
            sent=count,
            rtts_ms=rtts,
            error=error,
        )

    return TcpAttempts(family, sockaddr, count, timeout_s, refused_is_reply=False), finish


def probe_tcp(name: str, host: str, port: int, *, count: int, timeout_s: float) -> dict[str, Any]:
    """TCP connect time to host:port over `count` attempts; a refused port is a failed attempt."""
    try:
        family, sockaddr = resolve(host, timeout_s, port)
    except (OSError, TimeoutError, UnicodeError) as exc:  # UnicodeError: not a valid IDNA name
        return summarize(
            name=name,
            kind="tcp",
            target=fmt_hostport(host, port),
            method="tcp",
            sent=0,
            rtts_ms=[],
            error=f"resolve {host}: {describe(exc)}",
        )
    return run_planned(plan_tcp(name, host, port, family, sockaddr, count, timeout_s))
