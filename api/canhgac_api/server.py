"""The HTTP server: uvicorn with guards against slow clients, which commune links make cheap to mount.

uvicorn closes idle keep-alive connections, but a connection that sends its request headers a byte at a
time, or nothing at all, is held open for ever: a few thousand of them exhaust file descriptors. Here a
connection must complete its request headers within `listen.header_timeout_s` of opening (or of starting
its next request), else it is closed; `listen.max_connections` caps open connections plus requests in
flight (503 beyond). Bodies are bounded and timed by `guard.HttpGuard`.

With `listen.tls` the same protocol runs inside the event loop's TLS transport: it is created when the
connection is accepted and sees it only after the handshake, so the first request's header deadline is
counted from the accept (a slow handshake uses up the header time; the loop itself ends handshakes
after 60 s). Connections count towards `max_connections` once their handshake is done.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from canhgac_collector.config import ServerConfig


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """httptools protocol that closes a connection whose request headers do not arrive in time."""

    header_timeout_s = 10.0
    closed_slow = 0  # connections closed for slow headers (all instances)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._accepted_at = self.loop.time()  # before a TLS handshake

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer(self.header_timeout_s - (self.loop.time() - self._accepted_at))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # the next request on a kept-alive connection
            self._arm_header_timer(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self, delay_s: float) -> None:
        self._header_timer = self.loop.call_later(max(0.0, delay_s), self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            type(self).closed_slow += 1
            self.transport.close()


def protocol_for(config: ServerConfig) -> type[HeaderTimeoutProtocol]:
    return type(
        "GuardedHttpProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": config.listen.header_timeout_s}
    )


def run(app: Any, config: ServerConfig) -> None:
    """Serve `app` on `listen.host:port` (HTTPS with `listen.tls`) until SIGTERM/SIGINT."""
    tls = config.listen.tls
    uvicorn.run(
        app,
        host=config.listen.host,
        port=config.listen.port,
        log_level="warning",
        access_log=False,
        loop="auto",
        http=protocol_for(config),
        limit_concurrency=config.listen.max_connections,
        timeout_keep_alive=5,
        **(tls.uvicorn_options() if tls is not None else {}),
    )
