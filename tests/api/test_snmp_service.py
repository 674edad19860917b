"""The SNMP poller inside the running service: lab switches on snmpsim, polled by `SnmpService`, seen
through the API (devices up, interface rates, topology, locate) and /metrics; a dead device is marked
down with its reason while the others keep being polled."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from canhgac_collector.lab.province import LabDevice, generate_province, recordings
from canhgac_collector.lab.snmpsim import SnmpsimFleet
from tests.api.conftest import Api
from tests.harness.postgres import free_port

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the poller, not the backend


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[list[LabDevice], SnmpsimFleet]]:
    devices = generate_province(tmp_path / "rec", sites=["XA-A", "XA-B"], devices=3, ports=24, seed=7)
    fleet = SnmpsimFleet(recordings(devices), tmp_path / "snmpsim").start()
    try:
        yield devices, fleet
    finally:
        fleet.stop()


def _wait(api: Api, token: str, ready: Callable[[list[dict[str, Any]]], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    devices: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        devices = api.get("/api/v1/devices", token).json()["devices"]
        if ready(devices):
            return devices
        time.sleep(0.5)
    pytest.fail(f"devices not ready after {timeout} s: {devices}")


def test_service_polls_lab_switches_and_the_api_shows_them(
    make_api: Callable[..., Api], lab: tuple[list[LabDevice], SnmpsimFleet], tmp_path: Path
) -> None:
    devices, fleet = lab
    dead_port = free_port()  # nothing listens there: a switch that does not answer
    configured = [
        {
            "name": d.name,
            "address": "127.0.0.1",
            "port": fleet.endpoint(d.community)[1],
            "site": d.site,
            "role": d.role,
            "snmp": {"version": "2c", "community": d.community},
        }
        for d in devices
    ]
    configured.append(
        {
            "name": "sw-dead",
            "address": "127.0.0.1",
            "port": dead_port,
            "site": "XA-B",
            "snmp": {"version": "2c", "community": "nobody"},
            "timeout_s": 0.3,
            "retries": 0,
        }
    )
    api = make_api(
        devices=configured,
        snmp={"poll_interval_s": 5, "secrets_key_file": str(tmp_path / "secrets.key")},
    )
    admin = api.token("admin")

    # Every device gets a first poll within one interval (jittered), the dead one with its reason.
    polled = _wait(api, admin, lambda ds: all(d["last_poll_at"] for d in ds), 20)
    states = {d["name"]: (d["state"], d["state_reason"]) for d in polled}
    assert all(states[d.name][0] == "up" for d in devices), states
    assert states["sw-dead"] == ("down", "timeout"), states

    # A second poll gives rates: the lab's counters advance between polls.
    access = next(d for d in devices if d.role == "access" and d.pcs)
    deadline = time.monotonic() + 20
    rates: list[float] = []
    while time.monotonic() < deadline and not rates:
        ifs = api.get(f"/api/v1/devices/{access.name}/interfaces", admin).json()["interfaces"]
        rates = [i["in_bps"] for i in ifs if i["in_bps"]]
        time.sleep(0.5)
    assert rates, ifs
    assert all(r > 0 for r in rates), ifs
    assert len(ifs) >= 24

    # What is plugged into what: LLDP links between the lab switches.
    topo = api.get("/api/v1/topology", admin).json()
    names = {d.name for d in devices}
    device_edges = [e for e in topo["edges"] if e["source"][7:] in names and e["target"][7:] in names]
    assert device_edges, topo

    # Where a simulated PC sits: the access switch and port the lab put it on.
    pc = access.pcs[0]
    found = api.get("/api/v1/locate", admin, mac=pc.mac).json()
    assert found["port"]["device"] == access.name, found
    assert found["port"]["ifName"] == pc.port, found

    # Poll outcomes and device states go to /metrics.
    metrics = api.client.get("/metrics").text
    assert 'canhgac_snmp_polls_total{outcome="ok"}' in metrics
    assert 'canhgac_snmp_polls_total{outcome="timeout"}' in metrics
    assert 'canhgac_devices{site="XA-B",state="down"} 1' in metrics, metrics
