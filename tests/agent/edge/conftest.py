"""Edge poller fixtures: two simulated 48-port switches (snmpsim, counters advancing), a net-snmp snmpd with
v3 users, and helpers to read what the runner spooled."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from canhgac_agent.spool import Spool
from canhgac_api.schemas.report import Report
from canhgac_collector.lab.snmpsim import SnmpsimFleet
from tests.agent.snmp.conftest import snmpd  # noqa: F401  (fixture: net-snmp with the v3 USERS)
from tests.harness.snmp_recordings import Row, switch_rows, write_recording

PORTS = 48
IN_OCTETS_PER_S = 125_000  # 1 Mbit/s on every port, so the second poll has a rate to check
SWITCHES = ("edge/sw-a", "edge/sw-b")


def advancing_switch(name: str) -> list[Row]:
    """A 48-port switch whose ifHCInOctets grow by IN_OCTETS_PER_S while snmpsim runs."""
    rows = switch_rows(name=name, ports=PORTS)
    hc_in = "1.3.6.1.2.1.31.1.1.1.6."
    grows = f"rate={IN_OCTETS_PER_S},initial=5000000,wrap=1"
    return [(row[0], "70:numeric", grows) if row[0].startswith(hc_in) else row for row in rows]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, int]]]:
    """community → (host, port) of the two switches."""
    data = tmp_path_factory.mktemp("recordings")
    recordings = {
        c: write_recording(data / f"{c}.snmprec", advancing_switch(c.split("/")[-1])) for c in SWITCHES
    }
    with SnmpsimFleet(recordings, tmp_path_factory.mktemp("fleet")) as f:
        yield {c: f.endpoint(c) for c in SWITCHES}


def free_udp_port() -> int:
    """A loopback UDP port nothing listens on (the unreachable switch)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def device(name: str, endpoint: tuple[str, int], community: str) -> dict[str, Any]:
    return {"name": name, "address": f"{endpoint[0]}:{endpoint[1]}", "version": "2c", "community": community}


def spooled(spool: Spool) -> list[dict[str, Any]]:
    """Every report in the spool, oldest first, each checked against the wire schema."""
    reports = [json.loads(p.json_bytes()) for p in spool.peek(10_000, max_bytes=1 << 40)]
    for report in reports:
        Report.model_validate(report)
    return reports


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)
