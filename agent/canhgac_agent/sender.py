"""Forwarding: sends spooled reports to `POST /api/v1/agents/reports` and enrolls the agent
(`docs/protocol.md`).

A report leaves the spool only when the server acknowledged its seq (`accepted` or `duplicates`), so a
lost reply means a resend that the server answers with `duplicates`. Refused batches (400/409/413/415/422)
are halved until the one bad report is isolated and set aside; 401/403 keep everything and wait for a new
enrollment; 429, 5xx and transport errors keep everything and back off (exponential, full jitter).

HTTP goes through `httpclient` (no urllib, http.client or email; `ssl` only for an https server):
urllib.request, http.client and ssl would cost the agent ~8 MB of RSS.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from canhgac_agent import __version__
from canhgac_agent.config import MiB, fields
from canhgac_agent.httpclient import HttpClient, NoAnswer, ProtocolError, parse_url, tls_context
from canhgac_agent.probes.common import resolve
from canhgac_agent.spool import Pending, Spool, StateFile

ENROLL_PATH = "/api/v1/agents/enroll"
REPORTS_PATH = "/api/v1/agents/reports"
MAX_BATCH_REPORTS = 500  # protocol limit
MAX_BATCH_BYTES = 1 * MiB  # compressed body
MAX_REPLY_BYTES = 1 * MiB
REFUSED = frozenset({400, 409, 413, 415, 422})  # nothing stored; the batch itself is the problem
AUTH = frozenset({401, 403})  # nothing stored; the token is the problem
USER_AGENT = f"canhgac-agent/{__version__}"
# A kept-alive connection idle longer than this is not reused: servers and proxies close idle
# connections after 5-75 s, and an agent reporting every 30 s should not hold one open meanwhile.
KEEP_ALIVE_MAX_IDLE_S = 15.0

_log = logging.getLogger(__name__)
DEFAULT_PORTS = {"http": 80, "https": 443}


class Backoff:
    """Exponential backoff with full jitter: the n-th delay is uniform in [0, min(cap, base * 2**n)]."""

    def __init__(self, base_s: float = 1.0, cap_s: float = 300.0, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempts = 0
        self._rng = rng or random.Random()  # noqa: S311  (jitter, not cryptography)

    def bound(self) -> float:
        """Upper bound of the next delay."""
        return min(self.cap_s, self.base_s * 2.0 ** min(self.attempts, 64))

    def next_delay(self) -> float:
        delay = self._rng.uniform(0.0, self.bound())
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0


# --- HTTP --------------------------------------------------------------------------------------------


class TransportError(Exception):
    """No HTTP answer: refused, reset, timed out, TLS failure, connection dropped."""


class HttpReply(NamedTuple):
    status: int
    body: bytes
    retry_after_s: float | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def problem(self) -> str:
        """The problem detail as one line: `422 Unprocessable Content: detail [loc: msg; …]`."""
        try:
            doc = self.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            text = self.body[:300].decode("utf-8", "replace").strip()
            return f"HTTP {self.status}" + (f": {text}" if text else "")
        parts = [f"{doc.get('status', self.status)} {doc.get('title') or ''}".strip()]
        if doc.get("detail"):
            parts.append(str(doc["detail"]))
        errors = doc.get("errors")
        if isinstance(errors, list) and errors:
            shown = []
            for err in errors[:10]:
                if isinstance(err, dict):
                    loc = ".".join(str(x) for x in err.get("loc", []))
                    shown.append(f"{loc}: {err.get('msg', '')}")
            parts.append("[" + "; ".join(shown) + "]")
        return ": ".join(parts)[:4000]


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: rare from our server; the jittered backoff applies


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def _proxy_configured() -> bool:
    """A proxy in the environment (which urllib would honour): then sends go through urllib."""
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


class Http:
    """POST to the server: TLS from the config, no redirects (a redirected POST would lose its body).

    Over `httpclient.HttpClient` (one kept-alive connection, `ssl` loaded only for https), or over
    urllib when the environment names a proxy (`http_proxy`, `https_proxy`, `all_proxy`), which urllib
    honours and the small client does not.
    """

    def __init__(
        self,
        *,
        ca_file: str | None = None,
        verify: bool = True,
        client_cert: tuple[str, str] | None = None,
        max_idle_s: float = KEEP_ALIVE_MAX_IDLE_S,
    ) -> None:
        self.ca_file = ca_file
        self.verify = verify
        self.client_cert = client_cert  # (cert_file, key_file) shown to a server asking (mutual TLS)
        self.max_idle_s = max_idle_s
        self._client: HttpClient | None = None
        self._opener: Any = None
        self._https = False
        self._via_urllib = _proxy_configured()  # a daemon's environment does not change

    def _ssl_context(self) -> Any:
        import ssl

        ctx = tls_context(self.ca_file)  # ca_file alone replaces the system store
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            _log.warning("TLS certificate verification is off (tls.verify = false)")
        if self.client_cert is not None:
            try:
                ctx.load_cert_chain(*self.client_cert)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise ValueError(
                    f"tls.cert_file/tls.key_file {self.client_cert[0]} cannot be loaded (PEM certificate and "
                    f"its unencrypted key): {exc}"
                ) from None
        return ctx

    def _tls_problem(self, url: str, exc: BaseException) -> str | None:
        """Why a request to an https `url` failed, when TLS is the reason (see `tls_reasons`)."""
        from canhgac_agent import tls_reasons

        try:
            target = parse_url(url)
        except ValueError:
            return None
        if target.scheme != "https":
            return None
        has_cert = self.client_cert is not None
        if isinstance(exc, NoAnswer | ConnectionResetError):
            return tls_reasons.closed_without_answer(target.host, client_cert=has_cert)
        return tls_reasons.describe(exc, target.host, ca_file=self.ca_file, client_cert=has_cert)

    def close(self) -> None:
        """Close the kept-alive connection, if any (the next request opens a new one)."""
        if self._client is not None:
            self._client.close()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> HttpReply:
        if self._via_urllib:
            return self._post_urllib(url, body, headers, timeout_s)
        if self._client is None:
            self._client = HttpClient(context_factory=self._ssl_context, max_idle_s=self.max_idle_s)
        try:
            resp = self._client.request(
                "POST",
                url,
                body=body,
                headers={"User-Agent": USER_AGENT, **headers},
                timeout_s=timeout_s,
                max_body=MAX_REPLY_BYTES,
            )
        except TimeoutError:
            raise TransportError(f"timed out after {timeout_s:g}s") from None
        except (OSError, ProtocolError, ValueError) as exc:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise TransportError(
                self._tls_problem(url, exc) or f"{type(exc).__name__}: {text or 'no detail'}"
            ) from None
        retry_after = _retry_after(resp.headers) if resp.status >= 400 else None
        return HttpReply(resp.status, resp.body, retry_after)

    def _build_opener(self, https: bool) -> Any:
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        if not https:
            return urllib.request.build_opener(NoRedirect())
        return urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._ssl_context()), NoRedirect()
        )

    def _post_urllib(self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> HttpReply:
        import http.client
        import urllib.error
        import urllib.request

        https = url.lower().startswith("https:")
        if self._opener is None or self._https != https:
            self._opener, self._https = self._build_opener(https), https
        request = urllib.request.Request(  # noqa: S310  (the URL is validated http(s) config)
            url, data=body, headers={"User-Agent": USER_AGENT, **headers}, method="POST"
        )
        try:
            with self._opener.open(request, timeout=timeout_s) as resp:
                return HttpReply(resp.status, resp.read(MAX_REPLY_BYTES))
        except urllib.error.HTTPError as exc:
            with contextlib.closing(exc):
                data = exc.read(MAX_REPLY_BYTES) if exc.fp is not None else b""
            retry = exc.headers.get("Retry-After") if exc.headers is not None else None
            return HttpReply(exc.code, data, _retry_after({"retry-after": retry} if retry else None))
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, BaseException) else None
            raise TransportError(
                (self._tls_problem(url, reason) if reason else None) or str(exc.reason)
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None


def endpoint(server_url: str, path: str) -> str:
    return server_url.rstrip("/") + path


# --- enrollment ------------------------------------------------------------------------------------


class EnrollError(Exception):
    """Enrollment failed; `refused` when the server answered no (bad key), not when it was unreachable."""

    def __init__(self, message: str, *, status: int | None = None, refused: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.refused = refused


def enroll(
    server_url: str,
    enrollment_key: str,
    *,
    machine_id: str,
    hostname: str,
    ca_file: str | None = None,
    verify: bool = True,
    client_cert: tuple[str, str] | None = None,
    timeout_s: float = 30.0,
    http: Http | None = None,
) -> dict[str, Any]:
    """`POST /api/v1/agents/enroll`; returns the reply (agent_id, token, site, settings).

    `http`: reuse a client (and its TLS context) instead of building one from the TLS arguments.
    """
    url = endpoint(server_url, ENROLL_PATH)
    body = json.dumps(
        {"enrollment_key": enrollment_key, "machine_id": machine_id, "hostname": hostname}
    ).encode()
    try:
        reply = (http or Http(ca_file=ca_file, verify=verify, client_cert=client_cert)).post(
            url, body, {"Content-Type": "application/json"}, timeout_s
        )
    except TransportError as exc:
        raise EnrollError(f"cannot reach {url}: {exc}") from None
    if reply.status in (200, 201):
        try:
            doc = reply.json()
        except ValueError:
            doc = None
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("agent_id"), str)
            or not isinstance(doc.get("token"), str)
            or not doc["agent_id"]
            or not doc["token"]
        ):
            raise EnrollError(f"{url}: enrollment reply lacks agent_id/token", status=reply.status)
        return doc
    refused = 400 <= reply.status < 500 and reply.status not in (408, 429)
    raise EnrollError(f"{url}: {reply.problem()}", status=reply.status, refused=refused)


def save_enrollment(state: StateFile, server_url: str, reply: Mapping[str, Any]) -> None:
    """Keep the enrollment in state.json (the only place the token is stored)."""
    last_seq = reply.get("last_seq")  # not in protocol v1's enroll reply; honoured if the server sends it
    state.update(
        server_url=server_url,
        agent_id=reply["agent_id"],
        token=reply["token"],
        site=reply.get("site") if isinstance(reply.get("site"), str) else None,
        settings=reply["settings"] if isinstance(reply.get("settings"), dict) else None,
        enrolled_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seq_high_water=last_seq if isinstance(last_seq, int) and not isinstance(last_seq, bool) else 0,
    )


# --- sending ---------------------------------------------------------------------------------------


class SendOutcome:
    """What one `drain()` did; kept in the spool for `canhgac-agent status`."""

    __slots__ = (
        "accepted", "at", "backlog", "batches", "duplicates", "error", "http_status", "rejected", "result",
        "retry_in_s",
    )  # fmt: skip
    _KEYS = (
        "at", "result", "http_status", "batches", "accepted", "duplicates", "rejected", "error", "retry_in_s",
        "backlog",
    )  # fmt: skip

    def __init__(self, at: str, result: str) -> None:
        self.at = at
        self.result = result  # ok | retry | auth
        self.http_status: int | None = None
        self.batches = 0
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0
        self.error: str | None = None
        self.retry_in_s: float | None = None
        self.backlog = 0

    def __repr__(self) -> str:
        return f"SendOutcome({', '.join(f'{k}={getattr(self, k)!r}' for k in self._KEYS)})"

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self._KEYS}


class Sender:
    """Drains the spool to the server in seq order. Not thread-safe; the run loop owns it."""

    def __init__(
        self,
        spool: Spool,
        state: StateFile,
        *,
        ca_file: str | None = None,
        verify: bool = True,
        client_cert: tuple[str, str] | None = None,
        batch_max: int = 100,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        timeout_s: float = 30.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_settings: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.spool = spool
        self.state = state
        self.http = Http(ca_file=ca_file, verify=verify, client_cert=client_cert)
        self.batch_max = batch_max
        self.max_batch_bytes = max_batch_bytes
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.on_settings = on_settings
        self.retry_at = 0.0  # clock() before which drain() does not try
        self.last: SendOutcome | None = None
        self.link_lost = False  # the last try reached no server at all (connection error, timeout)

    @property
    def enrolled(self) -> bool:
        return bool(self.state.get("token")) and bool(self.state.get("server_url"))

    def drain(
        self, *, deadline: float | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> SendOutcome | None:
        """Send batches until the spool is empty, a failure, `deadline` (clock time) or `should_stop()`.

        Returns None when nothing was attempted (empty spool, not enrolled, or still backing off).
        """
        if self.clock() < self.retry_at or not self.enrolled:
            return None
        url = endpoint(str(self.state.get("server_url")), REPORTS_PATH)
        headers = {
            "Authorization": f"Bearer {self.state.get('token')}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        out = SendOutcome(at="", result="ok")
        limit = ceiling = max(1, min(self.batch_max, MAX_BATCH_REPORTS))
        failures_before = self.backoff.attempts
        while not should_stop():
            timeout = self.timeout_s
            if deadline is not None:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    break
                timeout = min(timeout, max(1.0, remaining))
            batch = self.spool.peek(limit, self.max_batch_bytes)
            if not batch:
                break
            body = gzip.compress(
                b'{"reports":[' + b",".join(p.json_bytes() for p in batch) + b"]}", compresslevel=6, mtime=0
            )
            try:
                reply = self.http.post(url, body, headers, timeout)
            except TransportError as exc:
                self.link_lost = True
                return self._finish(self._retry(out, str(exc), None, None))
            self.link_lost = False
            out.batches += 1
            out.http_status = reply.status
            if reply.status == 200:
                problem = self._acknowledged(batch, reply, out)
                if problem:
                    return self._finish(self._retry(out, problem, 200, None))
                self.backoff.reset()
                limit = min(ceiling, limit * 2)
            elif reply.status in REFUSED:
                problem = reply.problem()
                self._follow_last_seq(reply)
                if len(batch) == 1:
                    if not self.spool.reject(batch[0].seq, problem):  # disk full: stop, or we would loop
                        return self._finish(
                            self._retry(out, "cannot set the refused report aside", None, None)
                        )
                    out.rejected += 1
                else:
                    limit = max(1, len(batch) // 2)
                    if reply.status == 413:
                        ceiling = limit
                    _log.warning(
                        "server refused a batch; retrying it in halves",
                        extra=fields(
                            status=reply.status, reports=len(batch), next_size=limit, problem=problem
                        ),
                    )
            elif reply.status in AUTH:
                self.retry_at = self.clock() + self.backoff.cap_s
                out.result, out.error, out.retry_in_s = "auth", reply.problem(), self.backoff.cap_s
                _log.error(
                    "server refused the agent's token; nothing is lost, but the agent must be re-enrolled "
                    "(canhgac-agent enroll)",
                    extra=fields(status=reply.status, problem=out.error, retry_in_s=self.backoff.cap_s),
                )
                return self._finish(out)
            else:  # 429, 5xx, or anything unexpected: keep everything, try later
                return self._finish(self._retry(out, reply.problem(), reply.status, reply.retry_after_s))
        if out.batches == 0:
            return None
        if failures_before:
            _log.info(
                "sending again after failures",
                extra=fields(
                    accepted=out.accepted, duplicates=out.duplicates, after_failures=failures_before
                ),
            )
        return self._finish(out)

    def server_answers(self, timeout_s: float) -> bool:
        """Whether the server accepts a TCP connection now (closed at once, nothing sent): the cheap
        check that a lost link is back. False through a proxy (its answer says nothing of the server)."""
        url = self.state.get("server_url")
        if not isinstance(url, str) or _proxy_configured():
            return False
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        try:
            family, sockaddr = resolve(parts.hostname, timeout_s, parts.port or DEFAULT_PORTS[parts.scheme])
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                sock.connect(sockaddr)
        except (OSError, TimeoutError, KeyError, ValueError, UnicodeError):
            return False
        return True

    def resume(self) -> None:
        """Send at the next drain: the link is back, the backoff no longer applies."""
        self.retry_at = 0.0
        self.backoff.reset()

    def _acknowledged(self, batch: list[Pending], reply: HttpReply, out: SendOutcome) -> str | None:
        """Delete what the 200 reply acknowledged and apply its settings; a problem that stops the drain."""
        try:
            doc = reply.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            return "200 reply is not a JSON object"
        sent = {p.seq for p in batch}
        accepted = {s for s in doc.get("accepted") or [] if isinstance(s, int)} & sent
        duplicates = {s for s in doc.get("duplicates") or [] if isinstance(s, int)} & sent
        out.accepted += len(accepted)
        out.duplicates += len(duplicates)
        deleted = self.spool.delete(accepted | duplicates)
        self._follow_last_seq(reply, doc)
        settings = doc.get("settings")
        if isinstance(settings, dict):
            self._apply_settings(settings)
        if not accepted and not duplicates:
            return "200 reply acknowledged none of the batch"
        if deleted < len(accepted | duplicates):
            return "acknowledged reports could not be removed from the spool"
        return None

    def _follow_last_seq(self, reply: HttpReply, doc: Any = None) -> None:
        if doc is None:
            with contextlib.suppress(ValueError):
                doc = reply.json()
        last_seq = doc.get("last_seq") if isinstance(doc, dict) else None
        if isinstance(last_seq, int) and not isinstance(last_seq, bool) and last_seq > 0:
            self.spool.ensure_seq_above(last_seq)

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        if settings != self.state.get("settings"):
            try:
                self.state.update(settings=settings)
            except OSError as exc:
                _log.warning("cannot store server settings", extra=fields(error=str(exc)))
            _log.info("applying new settings from the server", extra=fields(**_scalars(settings)))
        if self.on_settings is not None:
            self.on_settings(settings)

    def _retry(
        self, out: SendOutcome, error: str, status: int | None, retry_after_s: float | None
    ) -> SendOutcome:
        delay = self.backoff.next_delay()
        if retry_after_s is not None:
            delay = min(self.backoff.cap_s, max(delay, retry_after_s))
        self.retry_at = self.clock() + delay
        out.result, out.error, out.http_status, out.retry_in_s = "retry", error, status, round(delay, 3)
        _log.warning(
            "send failed; reports kept, will retry",
            extra=fields(
                error=error, status=status, retry_in_s=round(delay, 1), attempt=self.backoff.attempts
            ),
        )
        return out

    def _finish(self, out: SendOutcome) -> SendOutcome:
        out.at = datetime.now(UTC).isoformat(timespec="seconds")
        out.backlog = self.spool.backlog
        self.last = out
        self.spool.set_last_send(out.as_dict())
        return out


def _scalars(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if isinstance(v, str | int | float | bool)}
