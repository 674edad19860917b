"""Scoped reads of devices: listings, one device and its tallies, interfaces, neighbours, topology rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.devices import queries
from canhgac_collector.store.models import ArpEntry, DeviceInterface, DeviceNeighbor, MacLocation
from tests.collector.seed import SCOPE_A, SCOPE_B, T0, device, host, open_store


def interface(device_id: int, if_index: int, oper: str, admin: str = "up") -> DeviceInterface:
    return DeviceInterface(
        device_id=device_id, if_index=if_index, admin_status=admin, oper_status=oper, updated_at=T0
    )


def neighbor(device_id: int, if_index: int, remote: str) -> DeviceNeighbor:
    return DeviceNeighbor(
        device_id=device_id, protocol="lldp", local_if_index=if_index, remote_name=remote, last_seen=T0
    )


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    """sw-a (XA-A) links to sw-b (XA-B) and to pc-a1; sw-mc (XA-B-MC) is down; core (P) links nowhere."""
    sessions, ids = open_store(make_config())
    with sessions.begin() as session:
        sw_a = device(ids["XA-A"], "sw-a", sys_name="SW-A.xa-a.gov.vn")
        sw_b = device(ids["XA-B"], "sw-b", sys_name="SW-B.xa-b.gov.vn")
        sw_mc = device(ids["XA-B-MC"], "sw-mc", state="down")
        core = device(ids["P"], "core")
        session.add_all([sw_a, sw_b, sw_mc, core, host(ids["XA-A"], "a1", "pc-a1")])
        session.flush()
        session.add_all(
            [
                interface(sw_a.id, 2, "up"),
                interface(sw_a.id, 1, "up"),
                interface(sw_a.id, 3, "down"),  # enabled but down
                interface(sw_a.id, 4, "down", admin="down"),  # shut: not counted as down
                neighbor(sw_a.id, 2, "sw-b.xa-b.gov.vn"),
                neighbor(sw_a.id, 1, "PC-A1"),
                neighbor(sw_b.id, 5, "SW-A"),
                MacLocation(device_id=sw_a.id, mac="aa:bb:cc:dd:ee:01", vlan=1, first_seen=T0, last_seen=T0),
                ArpEntry(
                    device_id=sw_a.id, ip="192.0.2.10", mac="aa:bb:cc:dd:ee:01", first_seen=T0, last_seen=T0
                ),
            ]
        )
    return sessions, ids


def test_a_scoped_listing_never_shows_another_subtree(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        assert [(d.name, s.code) for d, s in queries.list_devices(session, SCOPE_B).rows] == [
            ("sw-b", "XA-B"),
            ("sw-mc", "XA-B-MC"),
        ]
        assert [d.name for d, _ in queries.list_devices(session, SCOPE_A).rows] == ["sw-a"]
        assert queries.list_devices(session, SCOPE_A, subtree=SCOPE_B).total == 0


def test_listing_order_filters_and_paging(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        everything = queries.list_devices(session, None)
        assert [d.name for d, _ in everything.rows] == ["core", "sw-a", "sw-b", "sw-mc"]  # by site path
        assert [d.name for d, _ in queries.list_devices(session, None, state="down").rows] == ["sw-mc"]
        page = queries.list_devices(session, None, subtree=SCOPE_B, limit=1, offset=1)
        assert (page.total, [d.name for d, _ in page.rows]) == (2, ["sw-mc"])


def test_one_device_out_of_scope_is_like_absent_but_its_name_is_taken(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        row = queries.find_device(session, SCOPE_A, "sw-a")
        assert row is not None
        assert row[1].code == "XA-A"
        assert queries.find_device(session, SCOPE_A, "sw-b") is None
        assert queries.find_device(session, None, "sw-b") is not None
        assert queries.find_device(session, None, "nope") is None
        assert queries.device_name_taken(session, "sw-b")  # unique province-wide, whoever asks
        assert not queries.device_name_taken(session, "nope")


def test_tallies_and_interfaces(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        found = queries.find_device(session, None, "sw-a")
        assert found is not None
        sw_a = found[0]
        assert queries.device_tallies(session, sw_a.id) == queries.DeviceTallies(
            interfaces=4, interfaces_up=2, interfaces_down=1, neighbors=2, macs=1, arp=1
        )
        assert [i.if_index for i in queries.device_interfaces(session, sw_a.id)] == [1, 2, 3, 4]
        core = queries.find_device(session, None, "core")
        assert core is not None
        assert queries.device_tallies(session, core[0].id) == queries.DeviceTallies(0, 0, 0, 0, 0, 0)


def test_neighbours_are_named_only_when_the_device_is_in_scope(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        found = queries.find_device(session, None, "sw-a")
        assert found is not None
        sw_a = found[0]
        whole = queries.device_neighbors(session, None, sw_a.id)
        assert [(n.local_if_index, known) for n, known in whole] == [(1, None), (2, "sw-b")]
        scoped = queries.device_neighbors(session, SCOPE_A, sw_a.id)
        assert [(n.local_if_index, known) for n, known in scoped] == [(1, None), (2, None)]
        assert queries.known_device_names(session, SCOPE_A) == {"sw-a": "sw-a", "sw-a.xa-a.gov.vn": "sw-a"}


def test_name_keys() -> None:
    assert queries.name_keys("SW-A1.xa-a.gov.vn") == ["sw-a1.xa-a.gov.vn", "sw-a1"]
    assert queries.name_keys("10.0.0.1") == ["10.0.0.1"]
    assert queries.name_keys("  ") == []


def test_topology_rows_in_scope(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        rows = queries.topology_rows(session, SCOPE_A)
        assert [(d.name, code) for d, code in rows.devices] == [("sw-a", "XA-A")]
        assert sorted(n.remote_name or "" for n in rows.neighbors) == ["PC-A1", "sw-b.xa-b.gov.vn"]
        assert list(rows.hosts) == [("a1", "pc-a1", "up", "XA-A")]
        everything = queries.topology_rows(session, None)
        assert [d.name for d, _ in everything.devices] == ["core", "sw-a", "sw-b", "sw-mc"]
        assert len(everything.neighbors) == 3
        only_mc = queries.topology_rows(session, SCOPE_B, "/P/XA-B/XA-B-MC/")
        assert [d.name for d, _ in only_mc.devices] == ["sw-mc"]
        assert (list(only_mc.neighbors), list(only_mc.hosts)) == ([], [])  # no neighbours: hosts unread
        assert queries.topology_rows(session, SCOPE_A, SCOPE_B).devices == []
