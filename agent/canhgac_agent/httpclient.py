"""A small HTTP/1.1 client: the sender's POSTs to the server and the http probe's GET.

Why not urllib: `http.client` imports `ssl` (OpenSSL: ~4.5 MB of RSS) and `email` (~1.4 MB) when it is
imported, and `urllib.request` adds hashlib, tempfile, shutil, bz2 and lzma (~2 MB more) and rebuilds
its handler chain on every opener (~0.6 ms of CPU). Here `ssl` is imported only for an https URL.

Scope, deliberately narrow: one request at a time; the request body has a Content-Length; responses are
framed by Content-Length, the chunked transfer coding or the connection's end; 1xx interim responses
are skipped. No redirects (the probe follows them itself), proxies, cookies or compression. Everything
read is bounded (status line and headers ≤ 64 KiB and 100 fields, the body ≤ `max_body`); every socket
operation has the caller's timeout.

Keep-alive: `HttpClient` keeps one connection (the agent talks to one server) and reuses it while it is
idle less than `max_idle_s` and the peer has not closed it. A request that fails on a *reused*
connection before any byte of the response arrived (the server timed the connection out just as it was
reused) is sent once more on a new connection; reports are idempotent on (agent, seq), so a resend is
harmless.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADER_FIELDS = 100
_RECV = 65536
_NO_BODY_STATUS = frozenset({204, 304})


def host_arg(host: str) -> str | bytes:
    """`host` as getaddrinfo should get it: an ASCII name as bytes, so that CPython does not load its
    IDNA codec (encodings.idna, stringprep, unicodedata: ~0.3 MB of RSS) to encode it. The codec's
    checks on an ASCII name are kept: every label but the last 1-63 characters, the last under 64."""
    if not host.isascii():
        return host  # a Unicode name: the codec is needed
    labels = host.split(".")
    if any(not 0 < len(label) < 64 for label in labels[:-1]) or len(labels[-1]) >= 64:
        raise UnicodeError("label empty or too long")
    return host.encode("ascii")


def _hashed_ca_dir(path: str | None) -> bool:
    """`path` is a directory of CA certificates named by subject hash (`5ad8a5d6.0`: c_rehash,
    update-ca-certificates), which OpenSSL can search one certificate at a time."""
    if not path:
        return False
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                name, _, n = entry.name.partition(".")
                if len(name) == 8 and n.isdigit() and all(c in "0123456789abcdef" for c in name):
                    return True
    except OSError:
        return False
    return False


def tls_context(ca_file: str | None = None, *, capath: str | None = None) -> Any:
    """A verifying TLS client context (certificate and host name checked).

    `ca_file` alone is trusted when given (as `ssl.create_default_context(cafile=…)`). Otherwise the
    system's CAs: from OpenSSL's hashed certificate directory (`capath`, default the system's) when it
    has one, so that OpenSSL reads the one CA a chain needs when it needs it, instead of parsing the
    whole bundle up front (~1.3-2 MB of RSS for ~140 certificates); else, or when SSL_CERT_FILE names
    a bundle, exactly as `ssl.create_default_context()` loads them.
    """
    import ssl

    if ca_file is not None or sys.platform == "win32":
        return ssl.create_default_context(cafile=ca_file)
    paths = ssl.get_default_verify_paths()
    directory = capath if capath is not None else paths.capath
    if (capath is None and os.environ.get(paths.openssl_cafile_env)) or not _hashed_ca_dir(directory):
        return ssl.create_default_context()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, as the default
    ctx.load_verify_locations(capath=directory)
    return ctx


class ProtocolError(Exception):
    """The peer answered something that is not a well-formed HTTP/1.x response."""


class ConnectionLost(OSError):
    """The connection ended before a complete response."""


class NoAnswer(ConnectionLost):
    """A new connection ended before any byte of a response (a TLS server refusing the client's
    certificate does this)."""


class Url(NamedTuple):
    scheme: str  # http | https
    host: str  # as for getaddrinfo (no IPv6 brackets)
    port: int
    target: str  # path and query

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def text(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.target}"


def parse_url(url: str) -> Url:
    """Split an http(s) URL; ValueError for another scheme, no host, a bad port or unsafe characters."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme: {url[:100]}")
    host = parts.hostname
    if not host:
        raise ValueError(f"URL has no host: {url[:100]}")
    port = parts.port or (443 if scheme == "https" else 80)  # .port raises ValueError when invalid
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.isascii() or any(c <= " " or c == "\x7f" for c in target):
        raise ValueError(f"URL path must be ASCII without spaces or control characters: {url[:100]}")
    if not host.isascii() and ":" in host:
        raise ValueError(f"invalid host: {host[:100]}")
    return Url(scheme, host, port, target)


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes
    version: str = "HTTP/1.1"


class _Conn:
    """A socket with its own read buffer (so leftover bytes are visible, unlike a BufferedReader's)."""

    __slots__ = ("buf", "key", "last_used", "received", "sock")

    def __init__(self, sock: socket.socket, key: tuple[str, str, int]) -> None:
        self.sock = sock
        self.key = key
        self.buf = bytearray()
        self.last_used = time.monotonic()
        self.received = 0  # bytes read from the socket so far

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _fill(self) -> bool:
        data = self.sock.recv(_RECV)
        if not data:
            return False
        self.received += len(data)
        self.buf += data
        return True

    def line(self, limit: int) -> bytes:
        """One line with its line ending; raises past `limit` bytes, ConnectionLost at EOF."""
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                out = bytes(self.buf[: end + 1])
                del self.buf[: end + 1]
                return out
            if len(self.buf) > limit:
                raise ProtocolError("header line too long")
            start = len(self.buf)
            if not self._fill():
                raise ConnectionLost("connection closed by the server")

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionLost("connection closed before the end of the response body")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def until_close(self, limit: int) -> tuple[bytes, bool]:
        """Everything up to EOF, at most `limit` bytes; (data, complete)."""
        while len(self.buf) <= limit and self._fill():
            pass
        complete = len(self.buf) <= limit
        out = bytes(self.buf[:limit])
        self.buf.clear()
        return out, complete

    def first_bytes(self) -> None:
        """Wait for the first bytes of the response; ConnectionLost if the peer closed instead."""
        if not self.buf and not self._fill():
            raise ConnectionLost("connection closed by the server")

    def idle_and_open(self) -> bool:
        """Nothing unread and nothing arriving on an idle connection: the peer has not closed it."""
        if self.buf:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable  # an idle connection turning readable means EOF, a reset or junk


def _read_head(conn: _Conn) -> tuple[str, int, dict[str, str]]:
    """Status line and header fields of the final (non-1xx) response."""
    while True:
        budget = MAX_HEAD_BYTES
        line = conn.line(budget)
        budget -= len(line)
        try:
            version, status_text, *_ = line.decode("latin-1").split(None, 2)
            status = int(status_text)
        except ValueError:
            raise ProtocolError(f"bad status line: {line[:80]!r}") from None
        if not version.startswith("HTTP/1.") or not 100 <= status <= 999 or len(status_text) != 3:
            raise ProtocolError(f"bad status line: {line[:80]!r}")
        headers: dict[str, str] = {}
        fields = 0
        while True:
            raw = conn.line(budget)
            budget -= len(raw)
            if budget < 0:
                raise ProtocolError("response header too large")
            if raw in (b"\r\n", b"\n"):
                break
            fields += 1
            if fields > MAX_HEADER_FIELDS:
                raise ProtocolError("too many response header fields")
            name, sep, value = raw.decode("latin-1").partition(":")
            name = name.strip().lower()
            if not sep or not name:
                raise ProtocolError(f"bad header line: {raw[:80]!r}")
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if status >= 200 or status == 101:
            return version, status, headers
        # 100 Continue, 103 Early Hints …: the real response follows.


def _read_chunked(conn: _Conn, max_body: int) -> tuple[bytes, bool]:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = conn.line(4096).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size: {size_line[:40]!r}") from None
        if size < 0:
            raise ProtocolError("bad chunk size")
        if size == 0:
            break
        if total + size > max_body:
            parts.append(conn.exact(max_body - total) if total < max_body else b"")
            return b"".join(parts), False
        parts.append(conn.exact(size))
        total += size
        if conn.line(16).strip():
            raise ProtocolError("chunk not followed by CRLF")
    budget = MAX_HEAD_BYTES
    while True:  # trailer fields, ignored
        raw = conn.line(budget)
        budget -= len(raw)
        if raw in (b"\r\n", b"\n"):
            return b"".join(parts), True
        if budget < 0:
            raise ProtocolError("trailer too large")


def _tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in value.split(",")} if value else set()


class HttpClient:
    """HTTP/1.1 requests over at most one kept-alive connection. Not thread-safe.

    `context_factory` makes the TLS context on the first https request (so `ssl` is imported only
    then); the context is kept for the client's life. Raises OSError (refused, reset, timeouts as
    TimeoutError, TLS errors as ssl.SSLError), ProtocolError, or ValueError for an unusable URL.
    """

    def __init__(
        self,
        *,
        context_factory: Callable[[], Any] | None = None,
        keep_alive: bool = True,
        max_idle_s: float = 15.0,
    ) -> None:
        self._context_factory = context_factory
        self._context: Any = None
        self.keep_alive = keep_alive
        self.max_idle_s = max_idle_s
        self._conn: _Conn | None = None
        self.connections_opened = 0  # for tests and diagnostics

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _tls_context(self) -> Any:
        if self._context is None:
            factory = self._context_factory or tls_context
            self._context = factory()
        return self._context

    def _connect(self, url: Url, timeout_s: float) -> _Conn:
        # getaddrinfo (inside) takes a bytes host too; typeshed only says str.
        address: Any = (host_arg(url.host), url.port)
        sock = socket.create_connection(address, timeout=timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if url.scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=url.host)
        except BaseException:
            sock.close()
            raise
        self.connections_opened += 1
        return _Conn(sock, url.key)

    def _reusable(self, url: Url) -> _Conn | None:
        conn, self._conn = self._conn, None
        if conn is None:
            return None
        if (
            conn.key == url.key
            and time.monotonic() - conn.last_used <= self.max_idle_s
            and conn.idle_and_open()
        ):
            return conn
        conn.close()
        return None

    def request(
        self,
        method: str,
        url: str | Url,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        read_body: bool = True,
        max_body: int = 1 << 20,
    ) -> Response:
        """Send one request and return the response; the body is cut at `max_body` bytes.

        `read_body=False` returns right after the response head (the body is left unread and the
        connection closed): what a latency probe needs.
        """
        target = url if isinstance(url, Url) else parse_url(url)
        lines = [f"{method} {target.target} HTTP/1.1", f"Host: {target.host_header}"]
        for name, value in (headers or {}).items():
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
                raise ValueError(f"invalid header {name!r}")
            lines.append(f"{name}: {value}")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        if not (self.keep_alive and read_body):
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

        conn = self._reusable(target) if self.keep_alive else None
        if conn is not None:
            try:
                conn.sock.settimeout(timeout_s)
                conn.sock.sendall(data)
                conn.first_bytes()
            except (ConnectionLost, ConnectionResetError, BrokenPipeError):
                # The server closed the idle connection as it was reused, before answering anything:
                # send once more on a new connection.
                conn.close()
            except BaseException:
                conn.close()
                raise
            else:
                return self._response(conn, method, read_body, max_body)
        conn = self._connect(target, timeout_s)
        try:
            conn.sock.sendall(data)
        except BaseException:
            conn.close()
            raise
        return self._response(conn, method, read_body, max_body)

    def _response(self, conn: _Conn, method: str, read_body: bool, max_body: int) -> Response:
        """Read the response on `conn`, then keep the connection for the next request or close it."""
        keep = False
        try:
            try:
                version, status, headers = _read_head(conn)
            except ConnectionLost as exc:
                if conn.received == 0:
                    raise NoAnswer(str(exc)) from None
                raise
            if not read_body:
                return Response(status, headers, b"", version)
            body, complete, framed = self._body(conn, method, status, headers, max_body)
            tokens = _tokens(headers.get("connection"))
            persistent = "close" not in tokens and (version != "HTTP/1.0" or "keep-alive" in tokens)
            keep = self.keep_alive and complete and framed and persistent and not conn.buf
            return Response(status, headers, body, version)
        finally:
            if keep:
                conn.last_used = time.monotonic()
                self._conn = conn
            else:
                conn.close()

    @staticmethod
    def _body(
        conn: _Conn, method: str, status: int, headers: dict[str, str], max_body: int
    ) -> tuple[bytes, bool, bool]:
        """(body, complete, framed): framed when the connection may carry another response."""
        if method == "HEAD" or status < 200 or status in _NO_BODY_STATUS:
            return b"", True, True
        if "chunked" in _tokens(headers.get("transfer-encoding")):
            body, complete = _read_chunked(conn, max_body)
            return body, complete, True
        if "transfer-encoding" in headers:  # another coding without chunked: framed by the close
            body, complete = conn.until_close(max_body)
            return body, complete, False
        length_text = headers.get("content-length")
        if length_text is not None:
            try:
                length = int(length_text.split(",")[0].strip())
            except ValueError:
                raise ProtocolError(f"bad Content-Length: {length_text[:40]!r}") from None
            if length < 0:
                raise ProtocolError("negative Content-Length")
            if length > max_body:
                return conn.exact(max_body), False, False
            return conn.exact(length), True, True
        body, complete = conn.until_close(max_body)
        return body, complete, False
