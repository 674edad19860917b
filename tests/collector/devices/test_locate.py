"""Locating a MAC or IP in scope: ARP pairs and FDB sightings, the likely access port first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.devices.locate import FRESH, arp_pairs, mac_sightings
from canhgac_collector.store.models import ArpEntry, DeviceNeighbor, MacLocation
from tests.collector.seed import SCOPE_A, SCOPE_B, T0, device, open_store

MAC = "aa:bb:cc:dd:ee:01"


def seen(device_id: int, if_index: int, mac: str = MAC, at: dt.datetime = T0) -> MacLocation:
    return MacLocation(
        device_id=device_id,
        mac=mac,
        vlan=1,
        if_index=if_index,
        port_name=f"Gi0/{if_index}",
        first_seen=T0,
        last_seen=at,
    )


@pytest.fixture
def store(make_config: Callable[..., Any]) -> tuple[sessionmaker[Session], dict[str, int]]:
    """In commune A, the MAC sits on access port 1 of sw-a, learned too on agg's uplink 9 to core (P)
    and on dist's port 2, which holds more MACs; commune B's sw-b saw it long ago."""
    sessions, ids = open_store(make_config())
    with sessions.begin() as session:
        sw_a, dist, agg = (device(ids["XA-A"], name) for name in ("sw-a", "dist", "agg"))
        sw_b, core = device(ids["XA-B"], "sw-b"), device(ids["P"], "core")
        session.add_all([sw_a, dist, agg, sw_b, core])
        session.flush()
        session.add_all(
            [
                seen(sw_a.id, 1),
                seen(agg.id, 9),
                seen(agg.id, 9, mac="aa:bb:cc:dd:ee:02"),
                seen(dist.id, 2),
                seen(dist.id, 2, mac="aa:bb:cc:dd:ee:03"),
                seen(sw_b.id, 4, at=T0 - FRESH - dt.timedelta(minutes=1)),
                DeviceNeighbor(
                    device_id=agg.id, protocol="lldp", local_if_index=9, remote_name="CORE", last_seen=T0
                ),
                ArpEntry(device_id=sw_a.id, ip="192.0.2.10", mac=MAC, first_seen=T0, last_seen=T0),
                ArpEntry(
                    device_id=sw_b.id,
                    ip="192.0.2.10",
                    mac="aa:bb:cc:dd:ee:09",
                    first_seen=T0,
                    last_seen=T0 + dt.timedelta(minutes=1),
                ),
            ]
        )
    return sessions, ids


def test_arp_pairs_are_scoped_and_newest_first(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        assert [(a.mac, name) for a, name in arp_pairs(session, None, ip="192.0.2.10")] == [
            ("aa:bb:cc:dd:ee:09", "sw-b"),
            (MAC, "sw-a"),
        ]
        assert [name for _, name in arp_pairs(session, SCOPE_A, ip="192.0.2.10")] == ["sw-a"]
        assert [name for _, name in arp_pairs(session, None, ip="192.0.2.10", mac=MAC)] == ["sw-a"]
        assert list(arp_pairs(session, SCOPE_B, mac=MAC)) == []


def test_the_access_port_comes_first_then_crowded_ports_uplinks_and_stale_sightings(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        found = mac_sightings(session, None, MAC)
    assert [(s.device, s.location.if_index, s.macs_on_port, s.uplink) for s in found] == [
        ("sw-a", 1, 1, False),
        ("dist", 2, 2, False),
        ("agg", 9, 2, True),  # its neighbour is core, one of our devices
        ("sw-b", 4, 1, False),  # stale
    ]
    assert [s.site for s in found] == ["XA-A", "XA-A", "XA-A", "XA-B"]


def test_sightings_are_scoped(store: Any) -> None:
    sessions, _ids = store
    with sessions() as session:
        assert [s.device for s in mac_sightings(session, SCOPE_B, MAC)] == ["sw-b"]
        # The uplink stays an uplink for a caller who cannot see the device at its other end.
        in_a = mac_sightings(session, SCOPE_A, MAC)
        assert [(s.device, s.uplink) for s in in_a] == [("sw-a", False), ("dist", False), ("agg", True)]
        assert mac_sightings(session, SCOPE_A, "aa:bb:cc:dd:ee:ff") == []
