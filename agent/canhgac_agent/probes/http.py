"""HTTP(S) probes (kind `http`): one GET per cycle, timed to the response headers.

One request per cycle, not `count`: a thousand agents sending `count` GETs every 30 s would load the
portal being watched.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from canhgac_agent.probes.common import describe, summarize


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
        return result([], None, f"{type(exc).__name__}: {describe(exc)}", False)
    except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError)
        return result([], None, describe(exc), False)
    except (ProtocolError, ValueError) as exc:  # malformed replies
        return result([], None, f"{type(exc).__name__}: {describe(exc)}", False)
    elapsed = (time.monotonic() - started) * 1000
    status_code = status if 100 <= status <= 599 else None
    ok = 200 <= status < 400
    return result([elapsed], status_code, None if ok else f"HTTP {status}", ok)
