"""Outbound test (NW-27) against sockets this test opens on 127.0.0.1 only."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from canhgac_agent.config import EgressConfig
from canhgac_agent.facts import FACTS, collect_from
from canhgac_agent.facts.egress import run_egress_test
from canhgac_agent.facts.linux import LinuxHost
from canhgac_api.schemas.report import EgressTest, SecurityFacts


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections: "egress open"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound then released): refused, "blocked"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_reports_which_ports_connect(listening_port: int, closed_port: int) -> None:
    facts = run_egress_test(
        EgressConfig(endpoint="127.0.0.1", ports=(listening_port, closed_port), timeout_s=2.0)
    )
    EgressTest.model_validate(facts)
    assert facts["configured"] is True
    assert facts["open_ports"] == [listening_port]
    assert facts["attempts"] == [
        {"port": listening_port, "open": True, "error": None},
        {"port": closed_port, "open": False, "error": "refused"},
    ]


def test_not_configured_sends_nothing() -> None:
    facts = run_egress_test(EgressConfig())
    assert facts["configured"] is False
    assert facts["open_ports"] is None
    assert facts["attempts"] == []
    assert run_egress_test(None)["configured"] is False


def test_the_host_carries_the_config_into_the_collection(listening_port: int, tmp_path: object) -> None:
    host = LinuxHost(root=str(tmp_path), egress=EgressConfig("127.0.0.1", (listening_port,), 1.0))
    facts, errors = collect_from(host, {"egress": FACTS["egress"]})
    assert not errors
    model = SecurityFacts.model_validate(facts)
    assert model.egress is not None
    assert model.egress.open_ports == [listening_port]
