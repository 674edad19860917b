"""HTTPS served by a real `canhgac serve` (`listen.tls`), with a CA made in the test, and real agent
processes: a verified server gets reports; a certificate from another CA, an expired one or one for
another name is refused with a reason the officer can act on, and the refused reports stay spooled;
with mutual TLS a client without a certificate is refused."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import AgentProcess, ServerProcess
from tests.harness.pki import Issued, TestCa
from tests.harness.postgres import free_port

KEY = "tls-commune-key-0123456789"
HEADER_TIMEOUT_S = 2


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path / "pki")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start `canhgac serve` over TLS (one database per test; the same port on every restart)."""
    started: list[ServerProcess] = []
    port = free_port()

    def start(cert: Issued, trust: TestCa | None, *, client_ca: TestCa | None = None) -> ServerProcess:
        """`trust`: the CA the test's own requests trust (None: they check nothing, for a bad cert)."""
        tls: dict[str, str] = {"cert_file": str(cert.cert), "key_file": str(cert.key)}
        if client_ca is not None:
            tls["client_ca_file"] = str(client_ca.pem)
        config = {
            "listen": {"host": "127.0.0.1", "port": port, "header_timeout_s": HEADER_TIMEOUT_S, "tls": tls},
            "database_url": "sqlite:///canhgac.sqlite",
            "agent_defaults": {"interval_s": 1, "probe_gateway": False, "probe_count": 1},
            "snmp": {"enabled": False},
            "sites": [{"code": "XA", "name": "Xã Thử Nghiệm", "kind": "commune", "enrollment_keys": [KEY]}],
        }
        path = tmp_path / "server.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        context = ssl.create_default_context(cafile=str(trust.pem) if trust else None)
        if trust is None:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if client_ca is not None:  # the test's own requests present a client certificate
            own = client_ca.issue("test-client", ("test-client",), client=True)
            context.load_cert_chain(own.cert, own.key)
        srv = ServerProcess(path, port, tmp_path / "server.log", tls=context)
        if started:
            srv.admin_token = started[-1].admin_token
        started.append(srv)
        srv.start()
        return srv

    yield start
    for srv in started:
        srv.stop()


def _agent_config(directory: Path, url: str, **tls: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / "agent.toml"
    tls_lines = "".join(f'{key} = "{value}"\n' for key, value in tls.items())
    path.write_text(
        f'server_url = "{url}"\nenrollment_key = "{KEY}"\nstate_dir = "{directory}"\ninterval_s = 1\n'
        f'[identity]\nmachine_id = "tls-{directory.name}"\nhostname = "{directory.name}"\n'
        f"[probes]\ngateway = false\n[tls]\n{tls_lines}",
        encoding="utf-8",
    )
    return path


def _enroll(config: Path, server: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--server", server] if server else []
    return subprocess.run(
        [sys.executable, "-m", "canhgac_agent", "enroll", "--config", str(config), *extra],
        check=False,  # the tests read the exit code
        capture_output=True,
        text=True,
        timeout=60,
    )


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError:
            last = None
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def _host(server: ServerProcess) -> dict[str, Any] | None:
    hosts = server.get("/api/v1/hosts")["hosts"]
    return server.get(f"/api/v1/hosts/{hosts[0]['id']}") if hosts else None


def test_agent_reports_over_verified_https_and_keeps_reports_when_the_ca_is_wrong(
    tmp_path: Path, ca: TestCa, servers: Callable[..., ServerProcess]
) -> None:
    good = ca.issue("server", ("127.0.0.1",))
    other_ca = TestCa(tmp_path / "other-pki", "Other CA")
    server = servers(good, ca)
    agent = AgentProcess(
        _agent_config(tmp_path / "pc-01", server.base, ca_file=str(ca.pem)), tmp_path / "a.log"
    )
    agent.start()
    try:
        first = _wait(lambda: (h := _host(server)) and h["last_seq"] >= 2 and h, 60, "reports over https")
        assert first["state"] == "up"
        assert "config warning: " in server.log.read_text()  # serve logs: no notification channel

        # The server's certificate is replaced by one from a CA the agent does not trust.
        server.stop()
        server = servers(other_ca.issue("server", ("127.0.0.1",)), other_ca)
        status = _wait(
            lambda: (s := agent.status())["spool_backlog"] >= 3 and "unknown CA" in str(s["last_send"]) and s,
            60,
            "sends refused for the unknown CA, reports spooled",
        )
        error = status["last_send"]["error"]
        assert "CA tin cậy" in error  # Vietnamese first
        assert str(ca.pem) in error  # which CA the agent trusts
        assert "send failed; reports kept" in agent.log.read_text()

        server.stop()
        server = servers(good, ca)  # the right certificate again: the backlog drains
        # The agent backs off (jittered, doubling) while refused: its next try may be a minute away.
        _wait(lambda: agent.status()["spool_backlog"] == 0, 150, "the spool to drain")
    finally:
        agent.stop()
    status = agent.status()
    host = _host(server)
    assert host is not None
    assert status["spool_dropped_total"] == 0
    assert status["rejected_total"] == 0
    assert host["last_seq"] + status["spool_backlog"] == status["next_seq"] - 1  # nothing lost
    assert host["reports_total"] == host["last_seq"]  # each once


def test_a_certificate_for_another_name_is_refused_with_the_reason(
    tmp_path: Path, ca: TestCa, servers: Callable[..., ServerProcess]
) -> None:
    server = servers(ca.issue("server", ("127.0.0.1",)), ca)
    config = _agent_config(tmp_path / "pc", server.base, ca_file=str(ca.pem))
    result = _enroll(config, server=f"https://localhost:{server.port}")
    assert result.returncode != 0
    assert "không mang tên localhost" in result.stderr
    assert "host name mismatch" in result.stderr
    assert _enroll(config).returncode == 0  # the name in the certificate works


def test_an_expired_server_certificate_is_refused_with_the_reason(
    tmp_path: Path, ca: TestCa, servers: Callable[..., ServerProcess]
) -> None:
    server = servers(ca.expired("expired"), None)
    result = _enroll(_agent_config(tmp_path / "pc", server.base, ca_file=str(ca.pem)))
    assert result.returncode != 0
    assert "đã hết hạn" in result.stderr
    assert "certificate has expired" in result.stderr
    assert KEY not in result.stderr


def test_header_timeout_closes_a_silent_tls_connection(
    ca: TestCa, servers: Callable[..., ServerProcess]
) -> None:
    server = servers(ca.issue("server", ("127.0.0.1",)), ca)
    context = ssl.create_default_context(cafile=str(ca.pem))
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        started = time.monotonic()
        assert tls.recv(1) == b""  # closed by the server without a byte of reply
        elapsed = time.monotonic() - started
    assert HEADER_TIMEOUT_S - 0.5 < elapsed < HEADER_TIMEOUT_S + 3


def test_mutual_tls_refuses_an_agent_without_a_client_certificate(
    tmp_path: Path, ca: TestCa, servers: Callable[..., ServerProcess]
) -> None:
    server = servers(ca.issue("server", ("127.0.0.1",)), ca, client_ca=ca)
    bare = _enroll(_agent_config(tmp_path / "no-cert", server.base, ca_file=str(ca.pem)))
    assert bare.returncode != 0
    assert "chứng chỉ máy khách" in bare.stderr
    assert "tls.cert_file and tls.key_file" in bare.stderr

    foreign = TestCa(tmp_path / "foreign", "Foreign CA").issue("pc", ("pc",), client=True)
    stranger = _agent_config(
        tmp_path / "stranger",
        server.base,
        ca_file=str(ca.pem),
        cert_file=str(foreign.cert),
        key_file=str(foreign.key),
    )
    assert _enroll(stranger).returncode != 0

    own = ca.issue("pc-01", ("pc-01",), client=True)
    agent = _agent_config(
        tmp_path / "pc-01", server.base, ca_file=str(ca.pem), cert_file=str(own.cert), key_file=str(own.key)
    )
    enrolled = _enroll(agent)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "enrolled: agent_id=" in enrolled.stdout
