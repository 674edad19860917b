"""What every probe protocol shares: the `ProbeResult` dict and its statistics (`summarize`), worker
threads kept between cycles, bounded name resolution, and the selector loop that drives the staggered
attempts of every packet-level probe of a cycle in the calling thread (`Attempts`, `drive`).

A dead target costs about one timeout of wall time, whatever `count` and the number of targets, and
almost no CPU while waiting: on a VM each sleep/wake-up of a thread costs ~0.1 ms of CPU, so wake-ups
are what is counted.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from canhgac_agent.httpclient import host_arg

log = logging.getLogger("canhgac_agent.probes")  # one logger name for the whole package, as before
T = TypeVar("T")

ATTEMPT_SPACING_S = 0.1  # gap between staggered attempts of one target


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """A short reason for a result's `error`: the OS message of an OSError, else the exception's text."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


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
        "name": clip(name, 256),
        "kind": kind,
        "target": clip(target, 2048),
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
        result["error"] = clip(error or "no reply", 2048)
    return result


class Workers:
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


workers = Workers()


class Call:
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

        workers.submit(run)

    def wait(self, timeout_s: float) -> Any:
        """The result; TimeoutError if `fn` has not returned within `timeout_s` (it is abandoned)."""
        if not self.done.wait(max(0.0, timeout_s)):
            raise TimeoutError(f"timed out after {timeout_s:g}s")
        if self.error is not None:
            raise self.error
        return self.value


def run_bounded(fn: Callable[[], T], timeout_s: float) -> T:
    """Run `fn` on a worker thread and wait at most `timeout_s`; raise TimeoutError past that.

    For calls with no timeout of their own (getaddrinfo): on timeout the worker is abandoned to finish
    when the resolver gives up; it is a daemon, so it never holds the agent at exit.
    """
    return cast(T, Call(fn).wait(timeout_s))


def is_ip_literal(host: str) -> int | None:
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
    family = is_ip_literal(host)
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


def literal_sockaddr(host: str, port: int) -> tuple[int, tuple[Any, ...]] | None:
    """(family, sockaddr) of an IP literal without a lookup, None for a name."""
    family = is_ip_literal(host)
    if family is None:
        return None
    return family, ((host, port, 0, 0) if family == socket.AF_INET6 else (host, port))


class Attempts:
    """`count` staggered attempts at one address. `drive` runs any number of these on one selector in
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


def drive(runs: list[Attempts]) -> None:
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


# A started packet-level probe: the attempts to drive, and how to turn them into a ProbeResult.
Planned = tuple[Attempts, Callable[[list[float], str | None], dict[str, Any]]]


def run_planned(planned: Planned) -> dict[str, Any]:
    """Drive one planned probe on its own and make its result."""
    run, finish = planned
    drive([run])
    return finish(*run.result())
