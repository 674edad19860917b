"""The agent's small HTTP/1.1 client against real loopback servers: a scripted raw-socket server for
framing, keep-alive and stale connections, and a TLS server with a throw-away CA (openssl CLI)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from canhgac_agent.httpclient import HttpClient, ProtocolError, host_arg, parse_url, tls_context

Script = Callable[[socket.socket, int], None]  # (accepted connection, its index) -> None


class RawServer:
    """Accepts loopback connections and hands each to `script` (on its own thread)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5.0)
            index = self.connections
            self.connections += 1
            threading.Thread(target=self._run, args=(conn, index), daemon=True).start()

    def _run(self, conn: socket.socket, index: int) -> None:
        with conn, contextlib.suppress(OSError):
            self.script(conn, index)

    def read_request(self, conn: socket.socket) -> bytes | None:
        """One request (head and Content-Length body); None at EOF."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        self.requests.append(head + b"\r\n\r\n" + body)
        return head

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(2)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Script], RawServer]]:
    servers: list[RawServer] = []

    def make(script: Script) -> RawServer:
        servers.append(RawServer(script))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _ok(body: bytes = b'{"ok":true}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def test_keeps_one_connection_alive_across_requests(raw_server: Callable[[Script], RawServer]) -> None:
    def script(conn: socket.socket, _: int) -> None:
        while srv.read_request(conn) is not None:
            conn.sendall(_ok())

    srv = raw_server(script)
    client = HttpClient()
    for i in range(3):
        resp = client.request("POST", f"{srv.url}/api", body=b"x" * i, headers={"X-T": "1"}, timeout_s=5)
        assert (resp.status, resp.body) == (200, b'{"ok":true}')
    assert srv.connections == 1
    assert client.connections_opened == 1
    first = srv.requests[0]
    assert first.startswith(b"POST /api HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{srv.port}\r\n".encode() in first
    assert b"Content-Length: 0\r\n" in first
    assert srv.requests[2].endswith(b"\r\n\r\nxx")
    client.close()


def test_a_connection_closed_by_the_server_is_not_reused(raw_server: Callable[[Script], RawServer]) -> None:
    def script(conn: socket.socket, _: int) -> None:
        srv.read_request(conn)
        conn.sendall(_ok())  # keep-alive by default in HTTP/1.1, but the server closes anyway

    srv = raw_server(script)
    client = HttpClient()
    for _ in range(2):
        assert client.request("GET", srv.url, timeout_s=5).status == 200
        deadline = 50
        while deadline and client._conn is not None and client._conn.idle_and_open():
            threading.Event().wait(0.01)  # let the FIN arrive
            deadline -= 1
    assert srv.connections == 2
    assert len(srv.requests) == 2  # sent once each: the closed connection was noticed before sending


def test_a_request_lost_on_a_stale_connection_is_sent_once_more(
    raw_server: Callable[[Script], RawServer],
) -> None:
    def script(conn: socket.socket, index: int) -> None:
        srv.read_request(conn)
        conn.sendall(_ok(b"first" if index == 0 else b"again"))
        if index == 0:
            srv.read_request(conn)  # the server timed the connection out as the request came in

    srv = raw_server(script)
    client = HttpClient()
    assert client.request("POST", srv.url, body=b"1", timeout_s=5).body == b"first"
    resp = client.request("POST", srv.url, body=b"2", timeout_s=5)
    assert (resp.status, resp.body) == (200, b"again")
    assert srv.connections == 2
    assert [r[-1:] for r in srv.requests] == [b"1", b"2", b"2"]


def test_response_framing(raw_server: Callable[[Script], RawServer]) -> None:
    replies = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n"
        b"X-Trailer: t\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nuntil the end",  # no length: the body ends with the connection
    ]

    def script(conn: socket.socket, index: int) -> None:
        while srv.read_request(conn) is not None:
            conn.sendall(replies[len(srv.requests) - 1])
            if len(srv.requests) == len(replies):
                return

    srv = raw_server(script)
    client = HttpClient()
    got = [client.request("GET", srv.url, timeout_s=5) for _ in replies]
    assert (got[0].status, got[0].body) == (200, b"hello world")
    assert (got[1].status, got[1].body) == (201, b"ok")
    assert (got[2].status, got[2].body) == (204, b"")
    assert got[3].status == 503
    assert got[3].headers["retry-after"] == "7"
    assert got[3].headers["set-cookie"] == "a, b"
    assert (got[4].status, got[4].body, got[4].version) == (200, b"until the end", "HTTP/1.0")
    assert srv.connections == 1  # framed responses kept the connection; the last one ended it
    assert client._conn is None


def test_bounds_and_malformed_replies(raw_server: Callable[[Script], RawServer]) -> None:
    replies = [
        _ok(b"x" * 100),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + b"y" * 100 + b"\r\n0\r\n\r\n",
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"z" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then the connection ends
    ]

    def script(conn: socket.socket, index: int) -> None:
        srv.read_request(conn)
        conn.sendall(replies[index])

    srv = raw_server(script)
    client = HttpClient()
    assert client.request("GET", srv.url, timeout_s=5, max_body=10).body == b"x" * 10
    assert client.request("GET", srv.url, timeout_s=5, max_body=10).body == b"y" * 10
    with pytest.raises(ProtocolError):
        client.request("GET", srv.url, timeout_s=5)
    with pytest.raises(ProtocolError):
        client.request("GET", srv.url, timeout_s=5)
    with pytest.raises(OSError, match="closed before the end"):
        client.request("GET", srv.url, timeout_s=5)
    assert srv.connections == 5  # a cut-short or malformed exchange never leaves its connection for reuse


def test_timeouts_and_refusals(raw_server: Callable[[Script], RawServer]) -> None:
    def silent(conn: socket.socket, _: int) -> None:
        srv.read_request(conn)
        threading.Event().wait(2)

    srv = raw_server(silent)
    with pytest.raises(TimeoutError):
        HttpClient().request("GET", srv.url, timeout_s=0.3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        HttpClient().request("GET", f"http://127.0.0.1:{port}/", timeout_s=2)


def test_urls_and_host_names() -> None:
    url = parse_url("https://[::1]:8443/a/b?x=1")
    assert (url.scheme, url.host, url.port, url.target) == ("https", "::1", 8443, "/a/b?x=1")
    assert url.host_header == "[::1]:8443"
    assert parse_url("http://Example.gov.vn").host_header == "example.gov.vn"
    assert parse_url("http://h/").text == "http://h/"
    for bad in ("ftp://h/", "http:///x", "http://h:99999/", "http://h/a b", "http://h/\r\nX: y"):
        with pytest.raises(ValueError, match=r"scheme|no host|[Pp]ort|ASCII"):
            parse_url(bad)
    with pytest.raises(ValueError, match="invalid header"):
        HttpClient().request("GET", "http://127.0.0.1:1/", headers={"X": "a\r\nInjected: 1"})
    assert host_arg("dichvucong.example.gov.vn") == b"dichvucong.example.gov.vn"
    assert host_arg("localhost.") == b"localhost."
    assert host_arg("bộ.vn") == "bộ.vn"  # Unicode: left to the IDNA codec
    for bad in ("x" * 64 + ".invalid", "a..b", "x" * 64):
        with pytest.raises(UnicodeError):
            host_arg(bad)


# --- TLS ------------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA and a server certificate for the name localhost (not for 127.0.0.1)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=Canh Gac test CA", cwd=d)  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)  # fmt: skip
    hashed = d / "capath"
    hashed.mkdir()
    subject_hash = _openssl("x509", "-subject_hash", "-noout", "-in", "ca.pem", cwd=d).strip()
    (hashed / f"{subject_hash}.0").write_bytes((d / "ca.pem").read_bytes())
    (d / "empty-capath").mkdir()
    (d / "empty-capath" / "00000000.0").write_text("not a certificate\n")
    return d


@pytest.fixture
def tls_server(pki: Path, raw_server: Callable[[Script], RawServer]) -> RawServer:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")

    def script(conn: socket.socket, _: int) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            while srv.read_request(tls) is not None:  # type: ignore[arg-type]
                tls.sendall(_ok(b"secret"))

    srv = raw_server(script)
    return srv


def test_https_verifies_the_server_against_the_configured_ca(pki: Path, tls_server: RawServer) -> None:
    url = f"https://localhost:{tls_server.port}/x"
    client = HttpClient(context_factory=lambda: tls_context(str(pki / "ca.pem")))
    assert client.request("POST", url, body=b"{}", timeout_s=5).body == b"secret"
    assert client.request("POST", url, body=b"{}", timeout_s=5).body == b"secret"
    assert client.connections_opened == 1  # kept alive over TLS too
    client.close()
    with pytest.raises(ssl.SSLCertVerificationError):  # the system store does not know this CA
        HttpClient(context_factory=lambda: tls_context(capath=str(pki / "empty-capath"))).request(
            "GET", url, timeout_s=5
        )


def test_system_store_is_searched_lazily_from_a_hashed_directory(pki: Path, tls_server: RawServer) -> None:
    ctx = tls_context(capath=str(pki / "capath"))
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0  # nothing parsed up front
    client = HttpClient(context_factory=lambda: ctx)
    assert client.request("GET", f"https://localhost:{tls_server.port}/", timeout_s=5).status == 200
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match"):
        HttpClient(context_factory=lambda: ctx).request(
            "GET", f"https://127.0.0.1:{tls_server.port}/", timeout_s=5
        )  # the certificate names localhost only


def test_http_probe_follows_redirects_on_new_connections(raw_server: Callable[[Script], RawServer]) -> None:
    from canhgac_agent.probes import probe_http

    def script(conn: socket.socket, _: int) -> None:
        head = srv.read_request(conn) or b""
        if head.startswith(b"GET / "):
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n")
        else:
            conn.sendall(_ok(b"x" * 100_000))  # the body is never read

    srv = raw_server(script)
    r = probe_http("portal", f"{srv.url}/", timeout_s=5)
    assert (r["ok"], r["status_code"], r["received"]) == (True, 200, 1)
    assert [req.split(b"\r\n")[0] for req in srv.requests] == [b"GET / HTTP/1.1", b"GET /final HTTP/1.1"]
    assert all(b"Connection: close\r\n" in req for req in srv.requests)
    assert srv.connections == 2


def test_https_probe_verifies_the_certificate(tls_server: RawServer) -> None:
    from canhgac_agent.probes import probe_http

    r = probe_http("portal", f"https://localhost:{tls_server.port}/", timeout_s=5)
    assert not r["ok"]
    assert "certificate verify failed" in r["error"].lower()  # the test CA is not a system CA
