"""DNS probes (kind `dns`): one resolution per cycle through the system resolver (getaddrinfo),
bounded by the timeout. Repeating the lookup would only measure the resolver's cache.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from canhgac_agent.httpclient import host_arg
from canhgac_agent.probes.common import Call, describe, summarize


def probe_dns(name: str, host: str, *, timeout_s: float) -> dict[str, Any]:
    """One resolution through the system resolver (getaddrinfo), bounded by `timeout_s`."""
    return start_dns(name, host, timeout_s)()


def start_dns(name: str, host: str, timeout_s: float) -> Callable[[], dict[str, Any]]:
    """Start the lookup on a worker; the returned function waits for it (within `timeout_s` of the
    start) and makes the result. The RTT is taken when the lookup returns, not when it is collected."""
    started = time.monotonic()

    def failed(error: str) -> dict[str, Any]:
        return summarize(name=name, kind="dns", target=host, method="dns", sent=1, rtts_ms=[], error=error)

    try:
        query = host_arg(host)
    except UnicodeError as exc:
        result = failed(describe(exc))
        return lambda: result
    call = Call(lambda: socket.getaddrinfo(query, None, proto=socket.IPPROTO_TCP))

    def finish() -> dict[str, Any]:
        try:
            infos = call.wait(timeout_s - (time.monotonic() - started))
        except TimeoutError:
            return failed(f"timed out after {timeout_s:g}s")
        except (OSError, UnicodeError) as exc:
            return failed(describe(exc))
        if not infos:
            return failed("no address")
        elapsed = (call.finished_at - started) * 1000
        return summarize(name=name, kind="dns", target=host, method="dns", sent=1, rtts_ms=[elapsed])

    return finish
