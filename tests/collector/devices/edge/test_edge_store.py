"""Edge polling in the store, on a real database: the conversion of a real poll both ways, which devices
the server's poller leaves to the agents, the claim cleared by `poller: server`, the delayed window."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from canhgac_agent.snmp.results import DevicePoll
from canhgac_api.schemas.fast import struct_for
from canhgac_api.schemas.report_snmp import EdgePoll
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.edge.convert import device_poll, edge_fields, poll_json
from canhgac_collector.devices.edge.states import delay_window_s, mark_delayed
from canhgac_collector.devices.store import load_device_targets, record_polls, sync_config_devices
from canhgac_collector.lab.snmpsim import SnmpsimFleet
from canhgac_collector.store.models import Device, Event, Host
from canhgac_collector.store.secrets import SecretBox
from tests.collector.devices.edge.polls import ago, edge_poll, real_polls, start_switch
from tests.collector.devices.test_store import store
from tests.conftest import site_tree


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[DevicePoll]]:
    fleet: SnmpsimFleet = start_switch(tmp_path_factory.mktemp("edge-store"))
    try:
        yield real_polls(fleet)
    finally:
        fleet.stop()


def test_a_real_poll_survives_the_report_and_the_worker_reply_unchanged(polled: list[DevicePoll]) -> None:
    original = polled[1]

    def same(poll: DevicePoll) -> bool:  # ISO timestamps carry microseconds
        close = abs(poll.started_at - original.started_at) <= 1e-6
        return close and dataclasses.replace(poll, started_at=0) == dataclasses.replace(
            original, started_at=0
        )

    wire = json.dumps(edge_poll(original)).encode()
    by_pydantic = EdgePoll.model_validate_json(wire)
    by_msgspec = msgspec.json.decode(wire, type=struct_for(EdgePoll))  # the ingest fast path
    for edge in (by_pydantic, by_msgspec):
        poll = device_poll(edge_fields(edge))
        assert same(poll)
        # the worker's JSON reply to the API process builds the same poll again
        assert device_poll(json.loads(json.dumps(poll_json(poll)))) == poll
    assert dataclasses.asdict(original)["interfaces"][1]["in_bps"] is not None  # rates made it through


def test_edge_fields_refuse_a_time_without_zone(polled: list[DevicePoll]) -> None:
    edge = EdgePoll.model_validate(edge_poll(polled[0])).model_copy(
        update={"started_at": dt.datetime(2026, 12, 7, 12, 0)}  # naive: the point
    )
    with pytest.raises(ValueError, match="started_at"):
        edge_fields(edge)


def _config(
    db_url: str, tmp_path: Path, pollers: dict[str, str], sites: dict[str, str] | None = None
) -> ServerConfig:
    return ServerConfig(
        database_url=db_url,
        sites=site_tree(),
        devices=[
            {
                "name": name,
                "address": "127.0.0.1",
                "site": (sites or {}).get(name, "XA-A"),
                "snmp": {"community": "c"},
                "poller": poller,
            }
            for name, poller in pollers.items()
        ],
        snmp={"secrets_key_file": str(tmp_path / "secrets.key")},
    )


def _host(session: Any, site_id: int) -> Host:
    now = dt.datetime.now(dt.UTC)
    host = Host(
        id="agent-1",
        machine_id="m-1",
        hostname="pc-xa-a",
        site_id=site_id,
        state="up",
        state_changed_at=now,
        enrolled_at=now,
    )
    session.add(host)
    session.flush()
    return host


def test_the_server_polls_what_no_agent_owns_and_takes_a_device_back_on_poller_server(
    db_url: str, tmp_path: Path
) -> None:
    pollers = {"sw-auto": "auto", "sw-owned": "auto", "sw-edge": "edge", "sw-server": "server"}
    cfg = _config(db_url, tmp_path, pollers)
    sessions = store(cfg)
    box = SecretBox.for_config(cfg)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, box)
        owned = session.scalars(select(Device).where(Device.name == "sw-owned")).one()
        owned.edge_host_id = _host(session, owned.site_id).id
    with sessions() as session:
        names = [t.name for t in load_device_targets(session, box, cfg.snmp)]
    assert names == ["sw-auto", "sw-server"]
    back = _config(db_url, tmp_path, {**pollers, "sw-owned": "server"})
    with sessions.begin() as session:
        assert sync_config_devices(session, back, box)["updated"] == 1
    with sessions() as session:
        names = [t.name for t in load_device_targets(session, box, back.snmp)]
        assert session.scalars(select(Device.edge_host_id).where(Device.name == "sw-owned")).one() is None
    assert names == ["sw-auto", "sw-owned", "sw-server"]
    # a device moved to another site loses its owner too: that site's agents may claim it
    with sessions.begin() as session:
        device = session.scalars(select(Device).where(Device.name == "sw-auto")).one()
        device.edge_host_id = "agent-1"
    moved = _config(db_url, tmp_path, {**pollers, "sw-owned": "server"}, {"sw-auto": "XA-B"})
    with sessions.begin() as session:
        assert sync_config_devices(session, moved, box)["updated"] == 1
    with sessions() as session:
        assert session.scalars(select(Device.edge_host_id).where(Device.name == "sw-auto")).one() is None


def test_delayed_after_the_window_and_back_with_the_next_poll(db_url: str, tmp_path: Path) -> None:
    assert delay_window_s(None, 60) == 180  # the floor
    assert delay_window_s(300, 60) == 900  # three intervals
    assert delay_window_s(5, 60, floor_s=10) == 15  # snmp.edge_delay_min_s lowers the floor
    cfg = _config(db_url, tmp_path, {"sw-edge": "edge", "sw-auto": "auto"})
    sessions = store(cfg)
    polled_at = ago(600)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, SecretBox.for_config(cfg))
        for name in ("sw-edge", "sw-auto"):  # sw-auto: the server's own poll, as old
            record_polls(session, [DevicePoll(name, polled_at.timestamp(), 0.1, "up")])
        session.scalars(select(Device).where(Device.name == "sw-edge")).one().edge_polled_at = polled_at
    with sessions.begin() as session:
        # 170 s after the poll: inside the window
        assert mark_delayed(session, 60, now=polled_at + dt.timedelta(seconds=170)) == []
        assert mark_delayed(session, 60) == ["sw-edge"]
        assert mark_delayed(session, 60) == []  # once
    with sessions.begin() as session:
        states = dict(session.execute(select(Device.name, Device.state)).all())
        assert states == {"sw-edge": "delayed", "sw-auto": "up"}
        event = session.scalars(select(Event).where(Event.to_state == "delayed")).one()
        assert (event.subject_id, event.from_state) == ("sw-edge", "up")
        record_polls(session, [DevicePoll("sw-edge", ago(1).timestamp(), 0.1, "down", reason="timeout")])
    with sessions() as session:
        assert session.scalars(select(Device.state).where(Device.name == "sw-edge")).one() == "down"


def test_a_device_is_delayed_as_soon_as_its_agent_is_down(db_url: str, tmp_path: Path) -> None:
    """The agent carries the polls: once its host is down, none can arrive, whatever the window says."""
    cfg = _config(db_url, tmp_path, {"sw-auto": "auto"})
    sessions = store(cfg)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, SecretBox.for_config(cfg))
        device = session.scalars(select(Device).where(Device.name == "sw-auto")).one()
        host = _host(session, device.site_id)
        device.edge_host_id = host.id
        record_polls(session, [DevicePoll("sw-auto", ago(20).timestamp(), 0.1, "up")])
        device.edge_polled_at = ago(20)
    with sessions.begin() as session:
        assert mark_delayed(session, 60) == []  # 20 s: inside the window, its agent up
        session.get(Host, host.id).state = "down"  # type: ignore[union-attr]
    with sessions.begin() as session:
        assert mark_delayed(session, 60) == ["sw-auto"]
