"""The probe cycle: every target of a cycle runs concurrently, and `run_probes` returns one
`ProbeResult` dict per target (the gateway first).

ICMP/TCP targets with an IP address are driven together on one selector in the calling thread; DNS
lookups start at once on worker threads and are collected afterwards; HTTP targets and targets named by
a host name (to be resolved first) each run on a worker thread kept between cycles.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from canhgac_agent.config import PROBE_KINDS
from canhgac_agent.probes.common import (
    ATTEMPT_SPACING_S,
    Planned,
    drive,
    literal_sockaddr,
    log,
    summarize,
    workers,
)
from canhgac_agent.probes.dns import probe_dns, start_dns
from canhgac_agent.probes.gateway import default_gateway
from canhgac_agent.probes.http import probe_http
from canhgac_agent.probes.icmp import DEFAULT_ICMP_FALLBACK_PORT, plan_icmp, probe_icmp
from canhgac_agent.probes.tcp import plan_tcp, probe_tcp

MAX_COUNT = 100


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
        if not isinstance(target, dict) or target.get("kind") not in PROBE_KINDS:
            log.warning("skipping probe target with unknown kind: %r", target)
            continue
        jobs.append(target)

    results: list[dict[str, Any] | None] = [None] * len(jobs)
    finished: list[threading.Event] = []
    planned: list[tuple[int, Planned]] = []  # packet-level probes, driven together in this thread
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
            workers.submit(functools.partial(work, i, job, done))
    # Every probe bounds itself; this outer deadline is a safety net against a stuck thread.
    deadline = time.monotonic() + 2 * timeout_s + count * ATTEMPT_SPACING_S + 1.0
    if planned:
        try:
            drive([run for _, (run, _) in planned])
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
) -> Planned | Callable[[], dict[str, Any]] | None:
    """How `run_probes` runs a target without a thread of its own: ICMP/TCP to an IP literal as
    attempts driven in the calling thread; DNS as a lookup started now and collected later. None: the
    target needs a worker (HTTP, a name to resolve first) or is invalid (`_probe_target` says why)."""
    kind = job["kind"]
    name = str(job.get("name") or kind)
    host = str(job.get("host") or "")
    if not host or kind == "http":
        return None
    if kind == "dns":
        return start_dns(name, host, timeout_s)
    port = job.get("port")
    if kind == "tcp":
        if not isinstance(port, int) or not 0 < port < 65536:
            return None
        literal = literal_sockaddr(host, port)
        return None if literal is None else plan_tcp(name, host, port, *literal, count, timeout_s)
    literal = literal_sockaddr(host, 0)
    if literal is None:
        return None
    fallback = port if isinstance(port, int) and 0 < port < 65536 else DEFAULT_ICMP_FALLBACK_PORT
    return plan_icmp(name, host, kind, *literal, count, timeout_s, fallback, allow_icmp)


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
