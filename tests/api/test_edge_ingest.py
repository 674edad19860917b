"""Edge polling through the real ingest path: reports whose `snmp` section holds real polls of an snmpsim
switch, pushed by enrolled agents to the app with its real ingest worker, on a real database; history to
a real InfluxDB-protocol store (VictoriaMetrics); the server's own poller against the same switch."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from canhgac_agent.snmp.results import DevicePoll
from canhgac_api.schemas.report_snmp import EdgePoll
from canhgac_collector.devices.edge.ingest import record_sections
from canhgac_collector.lab.snmpsim import SnmpsimFleet
from canhgac_collector.store.models import DeviceInterface, Event, MacLocation
from tests.api.conftest import Api
from tests.collector.alerting.conftest import province
from tests.collector.devices.edge.polls import COMMUNITY, ago, edge_poll, real_polls, start_switch
from tests.harness.reports import make_report
from tests.harness.timeseries import VictoriaMetrics

KEY_A = "commune-a-key-0123456789"


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimFleet]:
    fleet = start_switch(tmp_path_factory.mktemp("edge-switch"))
    yield fleet
    fleet.stop()


@pytest.fixture(scope="module")
def polls(switch: SnmpsimFleet) -> list[DevicePoll]:
    """Two real polls of the switch (the second with rates), as an agent of XA-A makes them."""
    return real_polls(switch)


def _devices(switch: SnmpsimFleet, interval: float | None = None) -> list[dict[str, Any]]:
    host, port = switch.endpoint(COMMUNITY)
    snmp = {"version": "2c", "community": COMMUNITY}
    extra = {"poll_interval_s": interval} if interval else {}
    return [
        {"name": "sw-a1", "address": host, "port": port, "site": "XA-A", "snmp": snmp, **extra},
        {"name": "sw-a2", "address": host, "port": port, "site": "XA-A", "snmp": snmp, "poller": "server"},
        {"name": "sw-a3", "address": host, "port": port, "site": "XA-A", "snmp": snmp, "poller": "edge"},
        {"name": "sw-b1", "address": host, "port": port, "site": "XA-B", "snmp": snmp},
    ]


def _api(make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, **over: Any) -> Api:
    snmp = over.pop("snmp", {"enabled": False})
    return make_api(
        sites=province(),
        devices=over.pop("devices", _devices(switch)),
        snmp={**snmp, "secrets_key_file": str(tmp_path / "secrets.key")},
        host_state={"check_interval_s": 0.2},
        **over,
    )


class Agent:
    """An enrolled agent of XA-A that sends its edge polls in reports."""

    def __init__(self, api: Api, machine: str = "m-edge-1", hostname: str = "pc-xa-a-edge") -> None:
        self.api = api
        self.hostname = hostname
        self.machine = machine
        enrolled = api.enroll(KEY_A, machine, hostname)
        self.agent_id, self.token = enrolled["agent_id"], enrolled["token"]
        self.seq = 0

    def send(self, *edge_polls: dict[str, Any], dropped: int = 0) -> dict[str, Any]:
        self.seq += 1
        report = make_report(self.agent_id, self.seq, hostname=self.hostname, machine_id=self.machine)
        report["collected_at"] = dt.datetime.now(dt.UTC).isoformat()
        report["snmp"] = {"polls": list(edge_polls), "polls_dropped": dropped}
        r = self.api.push(self.token, [report])
        assert r.status_code == 200, r.text
        ack: dict[str, Any] = r.json()
        return ack


def _device(api: Api, name: str) -> dict[str, Any]:
    admin = api.token("admin")
    r = api.get(f"/api/v1/devices/{name}", admin)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _metric(api: Api, family: str, **labels: str) -> float | None:
    text = api.client.get("/metrics").text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        if name != family and not (not labels and line.startswith(family + " ")):
            continue
        got = ",".join(sorted(re.findall(r'\w+="[^"]*"', rest.rpartition("}")[0]))) if rest else ""
        if got == want:
            return float(line.rpartition(" ")[2])
    return None


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def _iso(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC)


def test_edge_poll_is_stored_at_its_time_and_the_agent_owns_the_device(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    api = _api(make_api, tmp_path, switch)
    agent = Agent(api)
    at = ago(20)
    agent.send(edge_poll(polls[1], at=at))
    dev = _device(api, "sw-a1")
    assert (dev["state"], dev["polled_by"], dev["edge_host"]) == ("up", "edge", "pc-xa-a-edge")
    assert dt.datetime.fromisoformat(dev["data_as_of"]) == at
    ended = at + dt.timedelta(seconds=polls[1].duration_s)  # float seconds: within a microsecond
    assert abs(dt.datetime.fromisoformat(dev["last_poll_at"]) - ended) <= dt.timedelta(microseconds=2)
    assert dev["sys_name"] == "sw-a1"
    assert dev["counts"]["interfaces"] == 8
    assert dev["counts"]["macs"] == 3
    assert dev["counts"]["neighbors"] == 1
    ifs = api.get("/api/v1/devices/sw-a1/interfaces", api.token("admin")).json()["interfaces"]
    assert {i["ifName"] for i in ifs} == {f"GE1/0/{i}" for i in range(1, 9)}
    # /metrics: the device as its poller saw it, the poll counted as stored
    assert _metric(api, "canhgac_device_up", site="XA-A", device="sw-a1") == 1
    assert _metric(api, "canhgac_device_last_poll_timestamp_seconds", site="XA-A", device="sw-a1") == round(
        at.timestamp(), 3
    )
    assert _metric(api, "canhgac_edge_polls_total", outcome="stored") == 1
    age = _metric(api, "canhgac_device_data_age_seconds", site="XA-A", device="sw-a1")
    assert age is not None
    assert 19 <= age < 120
    # the list shows the same; a device nobody claimed stays with the server
    admin = api.token("admin")
    listed = {d["name"]: d for d in api.get("/api/v1/devices", admin).json()["devices"]}
    assert listed["sw-a1"]["polled_by"] == "edge"
    assert listed["sw-a1"]["edge_host"] == "pc-xa-a-edge"
    assert (listed["sw-b1"]["polled_by"], listed["sw-b1"]["edge_host"]) == ("server", None)
    assert listed["sw-a3"]["polled_by"] == "edge"  # poller: edge, though no poll arrived yet


def test_topology_false_keeps_neighbours_fdb_and_arp(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    api = _api(make_api, tmp_path, switch)
    agent = Agent(api)
    agent.send(edge_poll(polls[0], at=ago(120)))
    before = _device(api, "sw-a1")["counts"]
    agent.send(edge_poll(polls[1], at=ago(60), topology=False))
    after = _device(api, "sw-a1")
    assert after["counts"] == before
    assert before["macs"] == 3
    assert before["arp"] == 3
    assert dt.datetime.fromisoformat(after["data_as_of"]) > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90)


def test_refused_polls_are_counted_by_reason_and_not_stored(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    api = _api(make_api, tmp_path, switch)
    owner = Agent(api)
    owner.send(edge_poll(polls[1], at=ago(30)))
    other = Agent(api, "m-edge-2", "pc-xa-a-other")
    ack = other.send(
        edge_poll(polls[1], at=ago(10), device="sw-b1"),  # another site's switch
        edge_poll(polls[1], at=ago(10), device="sw-a2"),  # poller: server
        edge_poll(polls[1], at=ago(10), device="sw-zz"),  # not in the inventory
        edge_poll(polls[1], at=ago(10), state="down", reason="timeout"),  # sw-a1: owner's
        dropped=2,
    )
    assert ack["accepted"] == [1]  # the report itself is stored and acknowledged
    for outcome in ("other_site", "server_polled", "unknown_device", "other_host"):
        assert _metric(api, "canhgac_edge_polls_total", outcome=outcome) == 1, outcome
    assert _metric(api, "canhgac_edge_polls_dropped_total") == 2
    for name in ("sw-b1", "sw-a2"):
        dev = _device(api, name)
        assert (dev["state"], dev["last_poll_at"], dev["polled_by"]) == ("unknown", None, "server")
        assert dev["counts"]["interfaces"] == 0
    owned = _device(api, "sw-a1")
    assert (owned["state"], owned["edge_host"]) == ("up", "pc-xa-a-edge")  # the other host wrote nothing


def test_a_poll_stamped_outside_its_report_is_refused_and_cannot_pin_the_device(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    """A poll dated after its report (a hostile or broken agent: year 2099) or days before it would pin
    the device's newest time; it is refused as bad_time and the real polls after it are stored."""
    api = _api(make_api, tmp_path, switch)
    agent = Agent(api)
    future = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    ack = agent.send(
        edge_poll(polls[1], at=future, state="down", reason="timeout"),
        edge_poll(polls[1], at=ago(3 * 86400), state="down", reason="timeout"),
    )
    assert ack["accepted"] == [1]
    assert _metric(api, "canhgac_edge_polls_total", outcome="bad_time") == 2
    assert _device(api, "sw-a1")["state"] == "unknown"
    now = ago(5)
    agent.send(edge_poll(polls[1], at=now))
    dev = _device(api, "sw-a1")
    assert (dev["state"], dt.datetime.fromisoformat(dev["data_as_of"])) == ("up", now)
    assert _metric(api, "canhgac_edge_polls_total", outcome="stored") == 1


def test_late_and_replayed_polls_do_not_regress_the_current_state(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    api = _api(make_api, tmp_path, switch)
    agent = Agent(api)
    newest = ago(30)
    agent.send(edge_poll(polls[1], at=newest))
    older = edge_poll(polls[0], at=ago(300), state="down", reason="timeout", interfaces=[])
    for late in (older, edge_poll(polls[1], at=newest)):  # older, then the newest again (replayed)
        agent.send(late)
        dev = _device(api, "sw-a1")
        assert (dev["state"], dev["state_reason"]) == ("up", None)
        assert dt.datetime.fromisoformat(dev["data_as_of"]) == newest
        assert dt.datetime.fromisoformat(dev["last_poll_at"]) < dt.datetime.now(dt.UTC) - dt.timedelta(
            seconds=29
        )
        assert dev["counts"]["interfaces"] == 8
    assert _metric(api, "canhgac_device_up", site="XA-A", device="sw-a1") == 1  # the gauge kept the newest
    assert _metric(api, "canhgac_device_last_poll_timestamp_seconds", site="XA-A", device="sw-a1") == round(
        newest.timestamp(), 3
    )
    assert _metric(api, "canhgac_edge_polls_total", outcome="late") == 1


def test_history_points_carry_the_poll_times(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    vm = VictoriaMetrics().start()
    try:
        api = _api(
            make_api,
            tmp_path,
            switch,
            influx={
                "enabled": True,
                "url": vm.url,
                "token": "test-token",
                "flush_interval_s": 0.2,
                "buffer_dir": str(tmp_path / "influx-buffer"),
            },
        )
        agent = Agent(api)
        two_hours = ago(7200).replace(microsecond=0)
        one_hour = ago(3600).replace(microsecond=0)
        agent.send(edge_poll(polls[0], at=two_hours), edge_poll(polls[1], at=one_hour))
        late = ago(5400).replace(microsecond=0)  # delivered after the newer one: history only
        agent.send(edge_poll(polls[1], at=late, state="down", reason="timeout", interfaces=[]))

        def samples() -> dict[int, float]:
            vm.flush()
            rows = vm.export('device_up{device="sw-a1"}')
            return {t: v for row in rows for t, v in zip(row["timestamps"], row["values"], strict=True)}

        want = {int(two_hours.timestamp() * 1000): 1.0, int(late.timestamp() * 1000): 0.0}
        want[int(one_hour.timestamp() * 1000)] = 1.0
        _wait(lambda: samples() == want, 30, f"device_up samples {want}")
        rows = vm.export('interface_oper_up{device="sw-a1",ifName="GE1/0/1"}')
        assert sorted(t for row in rows for t in row["timestamps"]) == sorted(
            [int(two_hours.timestamp() * 1000), int(one_hour.timestamp() * 1000)]
        )
        # /metrics shows the newest poll only
        assert _metric(api, "canhgac_device_up", site="XA-A", device="sw-a1") == 1
    finally:
        vm.cleanup()


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")  # the broken poll's dump
def test_a_poll_that_cannot_be_converted_is_confined(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    """A poll the converter chokes on (a bug, not input the schema lets through) is counted; the
    report's other polls are stored."""
    api = _api(make_api, tmp_path, switch)
    agent = Agent(api)
    good = EdgePoll.model_validate(edge_poll(polls[1], at=ago(30)))
    broken = good.model_copy(update={"device": "sw-a3", "started_at": "never"})  # skips validation
    with api.sessions.begin() as session:
        obs = record_sections(
            session, agent.agent_id, [SimpleNamespace(polls=[broken, good], polls_dropped=0)]
        )
    assert obs.outcomes == {"failed": 1, "stored": 1}
    assert obs.claimed == ["sw-a1"]
    assert _device(api, "sw-a1")["state"] == "up"
    dev3 = _device(api, "sw-a3")
    assert (dev3["state"], dev3["edge_host"]) == ("unknown", None)


def test_schema_bounds_refuse_oversized_polls_naming_the_field(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    api = _api(make_api, tmp_path, switch)
    agent = Agent(api)
    one = edge_poll(polls[1], at=ago(30))
    too_many = {**one, "interfaces": [{**one["interfaces"][0], "ifIndex": i} for i in range(1, 4098)]}
    huge = {**one, "interfaces": [{**one["interfaces"][0], "counters": {"ifHCInOctets": 2**63}}]}
    for poll, where in (
        (too_many, "reports.0.snmp.polls.0.interfaces: List should have at most 4096 items"),
        (
            huge,
            "reports.0.snmp.polls.0.interfaces.0.counters.ifHCInOctets: Input should be less than or equal",
        ),
    ):
        agent.seq += 1
        report = make_report(agent.agent_id, agent.seq, hostname=agent.hostname, machine_id=agent.machine)
        report["collected_at"] = dt.datetime.now(dt.UTC).isoformat()
        report["snmp"] = {"polls": [poll]}
        r = api.push(agent.token, [report])
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith(where), r.text
        agent.seq -= 1  # nothing of it was stored
    with api.sessions() as session:
        assert session.scalar(select(DeviceInterface.if_index).limit(1)) is None
        assert session.scalar(select(MacLocation.mac).limit(1)) is None


def test_delayed_without_device_down_alert_then_back_with_the_next_poll(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    api = _api(
        make_api,
        tmp_path,
        switch,
        alerting={
            "evaluate_interval_s": 0.2,
            "site_min_members": 2,
            "link_key_file": str(tmp_path / "alerts.key"),
            "public_url": "https://canhgac.example.gov.vn",
            "rules": {"device_down": {"for_s": 0}},
        },
    )
    agent = Agent(api)
    agent.send(edge_poll(polls[1], at=ago(600)))  # the newest poll is 10 min old: the site was cut
    _wait(lambda: _device(api, "sw-a1")["state"] == "delayed", 10, "sw-a1 delayed")
    assert _metric(api, "canhgac_device_state", site="XA-A", device="sw-a1", state="delayed") == 1
    assert _metric(api, "canhgac_devices", site="XA-A", state="delayed") == 1
    admin = api.token("admin")

    def down_alerts() -> list[str]:
        alerts = api.get("/api/v1/alerts", admin).json()["alerts"]
        return [a["subject_id"] for a in alerts if a["rule"] == "device_down"]

    time.sleep(1.5)  # several evaluations
    assert down_alerts() == []
    # The link is back and the spool drains: polls still older than the window (180 s) are history and
    # stored data, not news; the switch stays delayed (no flapping, no state event) until it catches up.
    agent.send(
        edge_poll(polls[1], at=ago(400), state="down", reason="timeout", interfaces=[], neighbors=[], fdb=[]),
        edge_poll(polls[1], at=ago(300)),
    )
    assert _device(api, "sw-a1")["state"] == "delayed"
    with api.sessions() as session:
        moves = session.scalars(
            select(Event.to_state).where(Event.kind == "device.state", Event.subject_id == "sw-a1")
        ).all()
    assert moves == ["up", "delayed"]
    assert down_alerts() == []
    agent.send(edge_poll(polls[1], at=ago(1)))  # caught up: the state follows the poll
    assert _device(api, "sw-a1")["state"] == "up"
    # the edge poller itself finds the switch dead while the agent is alive: that is down, and alerts
    agent.send(
        edge_poll(polls[1], at=ago(0), state="down", reason="timeout", interfaces=[], neighbors=[], fdb=[])
    )
    assert _device(api, "sw-a1")["state"] == "down"
    _wait(lambda: down_alerts() == ["sw-a1"], 10, "a device_down alert for sw-a1")


def test_the_server_stops_polling_a_device_an_agent_claims(
    make_api: Callable[..., Api], tmp_path: Path, switch: SnmpsimFleet, polls: list[DevicePoll]
) -> None:
    devices = [d for d in _devices(switch, interval=5) if d["name"] == "sw-a1"]
    api = _api(make_api, tmp_path, switch, devices=devices, snmp={"enabled": True, "poll_interval_s": 5})

    def server_polls() -> float:
        return _metric(api, "canhgac_snmp_polls_total", outcome="ok") or 0.0

    _wait(lambda: server_polls() >= 1, 15, "the server's first poll of sw-a1")
    assert _device(api, "sw-a1")["polled_by"] == "server"
    Agent(api).send(edge_poll(polls[1], at=ago(1)))
    time.sleep(1.0)  # a poll already under way may finish
    settled = server_polls()
    time.sleep(11.0)  # two of the server's intervals
    assert server_polls() == settled
    assert _device(api, "sw-a1")["polled_by"] == "edge"
