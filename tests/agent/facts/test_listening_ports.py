"""Listening sockets as psutil sees them."""

from __future__ import annotations

import pytest

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.linux import LinuxHost


def test_linux_provider_listening_ports_sees_our_socket() -> None:
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        ports = FACTS["listening_ports"].linux(LinuxHost())
    mine = [p for p in ports if p["port"] == port]
    if not mine:
        pytest.skip("this environment hides sockets from psutil")
    assert mine[0]["proto"] == "tcp"
    assert mine[0]["address"] == "127.0.0.1"
