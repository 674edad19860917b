"""A dead switch inside a site that is still partly up: one `device_down` alert listing the PCs and
switches behind it (LLDP/CDP for switches, the FDB for the agents' own MACs), none of their own; what is
not behind it alerts as usual; one recovery; a whole site cut is still one site alert. Explicit clocks
over a real store, the polls written as the SNMP poller writes them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from canhgac_agent.snmp.results import DevicePoll, FdbEntry, InterfaceSample, Neighbor
from canhgac_collector.alerting.engine import AlertEngine
from canhgac_collector.alerting.links import LinkSigner
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices import behind
from canhgac_collector.devices.behind import site_maps
from canhgac_collector.devices.store import sync_config_devices
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Alert, Notification
from canhgac_collector.store.secrets import SecretBox
from canhgac_collector.store.sites import sync_sites
from tests.collector.alerting.conftest import OFFICER_A, OFFICER_B, T0, Store, alert_config, province

S = dt.timedelta(seconds=1)
WINDOW = 120  # reconnect window in these tests

# Xã A's office: the router, an uplink switch behind it, two access switches behind that (LLDP), and PCs
# on access ports. pc5 sits on the router's own access port; xa-b-pc1 is in the other commune.
#   rt-xa-a[1] — [1]gw-xa-a[2] — [1]sw-xa-a-1[2,3,4] pc1 pc2 pc3
#                   gw-xa-a[3] — [1]sw-xa-a-2[2] pc4
#   rt-xa-a[2] pc5
LINKS = [("rt-xa-a", 1, "gw-xa-a", 1), ("gw-xa-a", 2, "sw-xa-a-1", 1), ("gw-xa-a", 3, "sw-xa-a-2", 1)]
ROLES = {"rt-xa-a": "router", "gw-xa-a": "distribution", "sw-xa-a-1": "access", "sw-xa-a-2": "access"}
PCS = {f"xa-a-pc{i}": f"02:00:00:00:00:0{i}" for i in (1, 2, 3, 4, 5)}
# Every switch learns every PC: on its access port, or on the port towards it (an uplink, ignored).
FDB: dict[str, dict[str, int]] = {
    "rt-xa-a": {"xa-a-pc1": 1, "xa-a-pc2": 1, "xa-a-pc3": 1, "xa-a-pc4": 1, "xa-a-pc5": 2},
    "gw-xa-a": {"xa-a-pc1": 2, "xa-a-pc2": 2, "xa-a-pc3": 2, "xa-a-pc4": 3, "xa-a-pc5": 1},
    "sw-xa-a-1": {"xa-a-pc1": 2, "xa-a-pc2": 3, "xa-a-pc3": 4, "xa-a-pc4": 1, "xa-a-pc5": 1},
    "sw-xa-a-2": {"xa-a-pc1": 1, "xa-a-pc2": 1, "xa-a-pc3": 1, "xa-a-pc4": 2, "xa-a-pc5": 1},
}
BEHIND_SW1 = ["xa-a-pc1", "xa-a-pc2", "xa-a-pc3"]


def report(mac: str) -> bytes:
    """An agent's newest report as far as the map reads it: its own interfaces."""
    nic = {"name": "eth0", "addresses": [{"family": "mac", "address": mac.upper().replace(":", "-")}]}
    return orjson.dumps({"metrics": {"network": [nic]}})


def switch_poll(name: str, state: str, at: dt.datetime) -> DevicePoll:
    """A poll of an office device with its ports, LLDP neighbours and FDB."""
    neighbors = [
        Neighbor("lldp", mine, f"Gi0/{mine}", peer, f"Gi0/{theirs}")
        for a, a_port, b, b_port in LINKS
        for me, mine, peer, theirs in ((a, a_port, b, b_port), (b, b_port, a, a_port))
        if me == name
    ]
    fdb = [FdbEntry(PCS[pc], 10, port, port, "learned") for pc, port in FDB.get(name, {}).items()]
    ports = [
        InterfaceSample(ifIndex=i, ifName=f"Gi0/{i}", ifAdminStatus="up", ifOperStatus="up")
        for i in (1, 2, 3, 4)
    ]
    return DevicePoll(
        device=name,
        started_at=at.timestamp(),
        duration_s=0.01,
        state=state,  # type: ignore[arg-type]
        reason=None if state == "up" else "timeout",
        interfaces=ports if state == "up" else [],
        neighbors=neighbors if state == "up" else [],
        fdb=fdb if state == "up" else [],
    )


def devices(roles: dict[str, str]) -> list[dict[str, Any]]:
    office = [
        {"name": n, "address": "127.0.0.1", "port": 9, "site": "XA-A", "role": r, "snmp": {"community": "x"}}
        for n, r in roles.items()
    ]
    return [
        *office,
        {"name": "sw-xa-b", "address": "127.0.0.1", "port": 9, "site": "XA-B", "snmp": {"community": "x"}},
    ]


@pytest.fixture
def office(tmp_path: Path) -> Store:
    """Both communes up at T0 with Xã A's office as drawn above; clear hold 10 s, window 120 s."""
    return make_office(tmp_path, ROLES)


def make_office(tmp_path: Path, roles: dict[str, str]) -> Store:
    tmp_path.mkdir(exist_ok=True)
    url = f"sqlite:///{tmp_path / 'alerts.sqlite'}"
    base = alert_config(tmp_path, url, clear_for_s=10, reconnect_window_s=WINDOW)
    cfg = ServerConfig(
        database_url=url, sites=province(), devices=devices(roles), snmp=base.snmp, alerting=base.alerting
    )
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    tree = resolve_tree(cfg)
    with sessions.begin() as session:
        ids = sync_sites(session, tree)
        sync_config_devices(session, cfg, SecretBox(tmp_path / "secrets.key"))
    signer = LinkSigner(b"k" * 32, cfg.alerting.ack_link_ttl_s)
    store = Store(cfg, sessions, ids, AlertEngine(cfg, sessions, tree, ids, signer), signer)
    pcs(store, "up", T0, *PCS)
    store.host("xa-b-pc1", "XA-B", "up", T0)
    store.host("xa-b-pc2", "XA-B", "up", T0)
    switches(store, "up", T0, *ROLES, "sw-xa-b")
    store.engine.evaluate(T0)
    return store


def pcs(store: Store, state: str, at: dt.datetime, *names: str) -> None:
    for pc in names:
        store.host(pc, "XA-A", state, at, report(PCS[pc]))


def switches(store: Store, state: str, at: dt.datetime, *names: str) -> None:
    store.polls(*(switch_poll(n, state, at) for n in names))


def run(store: Store, start: dt.datetime, end: dt.datetime, step: int = 5) -> dt.datetime:
    t = start
    while t <= end:
        store.engine.evaluate(t)
        t += step * S
    return t


def alerts(store: Store) -> list[Alert]:
    with store.sessions() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def notes(store: Store, recipient: str = OFFICER_A) -> list[Notification]:
    with store.sessions() as session:
        return [
            n
            for n in session.scalars(select(Notification).order_by(Notification.id))
            if n.recipient == recipient
        ]


def test_dead_access_switch_is_one_alert_listing_the_pcs_behind_it(office: Store) -> None:
    store = office
    switches(store, "down", T0 + 10 * S, "sw-xa-a-1")
    pcs(store, "down", T0 + 10 * S, *BEHIND_SW1)
    run(store, T0 + 15 * S, T0 + 120 * S)
    [alert] = alerts(store)
    assert (alert.rule, alert.subject_name, alert.state) == ("device_down", "sw-xa-a-1", "firing")
    assert alert.data is not None
    assert alert.data["affected"] == {"hosts": BEHIND_SW1, "devices": []}
    assert alert.data["behind_up"] == []
    [mail] = notes(store)
    assert mail.subject.startswith("[Canh Gác] CẢNH BÁO: Switch sw-xa-a-1 (Xã A) mất kết nối từ ")
    assert "3 máy/thiết bị phía sau bị ảnh hưởng: xa-a-pc1, xa-a-pc2, xa-a-pc3" in mail.subject
    assert "Kiểm tra trước: Nguồn điện và cáp uplink của chính switch này" in mail.body
    assert "3 hosts/devices behind it are affected" in mail.body
    assert notes(store, OFFICER_B) == []

    # A PC elsewhere in the office (another switch) going down is news of its own.
    pcs(store, "down", T0 + 130 * S, "xa-a-pc4")
    run(store, T0 + 135 * S, T0 + 150 * S)
    assert [(a.rule, a.subject_name, a.state) for a in alerts(store)] == [
        ("device_down", "sw-xa-a-1", "firing"),
        ("host_down", "xa-a-pc4", "firing"),
    ]

    # The switch is back and its PCs with it: one recovery for the switch's alert.
    switches(store, "up", T0 + 160 * S, "sw-xa-a-1")
    pcs(store, "up", T0 + 162 * S, *BEHIND_SW1)
    run(store, T0 + 165 * S, T0 + 200 * S)
    assert [(a.rule, a.state) for a in alerts(store)] == [
        ("device_down", "resolved"),
        ("host_down", "firing"),
    ]
    assert [(n.kind, n.subject.split(":")[0]) for n in notes(store)] == [
        ("firing", "[Canh Gác] CẢNH BÁO"),
        ("firing", "[Canh Gác] CẢNH BÁO"),
        ("resolved", "[Canh Gác] ĐÃ KHẮC PHỤC"),
    ]
    assert "sw-xa-a-1" in notes(store)[2].subject


def test_pcs_still_down_after_the_switch_is_back_alert_on_their_own_after_the_wait(office: Store) -> None:
    store = office
    switches(store, "down", T0 + 10 * S, "sw-xa-a-1")
    pcs(store, "down", T0 + 10 * S, *BEHIND_SW1)
    run(store, T0 + 15 * S, T0 + 120 * S)
    back = T0 + 130 * S
    switches(store, "up", back, "sw-xa-a-1")
    pcs(store, "up", back + 5 * S, "xa-a-pc1", "xa-a-pc2")  # pc3 was switched off meanwhile
    run(store, back + 10 * S, back + (WINDOW - 5) * S)
    [alert] = alerts(store)
    assert alert.state == "firing"
    assert alert.data is not None
    assert alert.data["reconnecting"] == ["xa-a-pc3"]
    run(store, back + WINDOW * S, back + (WINDOW + 30) * S)
    assert [(a.rule, a.subject_name, a.state) for a in alerts(store)] == [
        ("device_down", "sw-xa-a-1", "resolved"),
        ("host_down", "xa-a-pc3", "firing"),
    ]
    firing, recovery, pc3 = notes(store)
    assert (firing.kind, recovery.kind, pc3.kind) == ("firing", "resolved", "firing")
    assert "Chưa kết nối lại sau thời gian chờ: xa-a-pc3" in recovery.body


def test_a_pc_behind_the_switch_still_reporting_is_not_grouped(office: Store) -> None:
    store = office
    switches(store, "down", T0 + 10 * S, "sw-xa-a-1")
    pcs(store, "down", T0 + 10 * S, "xa-a-pc1", "xa-a-pc2")
    run(store, T0 + 15 * S, T0 + 120 * S)
    [alert] = alerts(store)
    assert alert.data is not None
    assert alert.data["affected"] == {"hosts": ["xa-a-pc1", "xa-a-pc2"], "devices": []}
    assert alert.data["behind_up"] == ["xa-a-pc3"]  # the map may be wrong: it reports through something


def test_dead_uplink_switch_carries_the_switches_and_pcs_behind_it(office: Store) -> None:
    store = office
    switches(store, "down", T0 + 10 * S, "gw-xa-a", "sw-xa-a-1", "sw-xa-a-2")
    pcs(store, "down", T0 + 10 * S, "xa-a-pc1", "xa-a-pc2", "xa-a-pc3", "xa-a-pc4")
    run(store, T0 + 15 * S, T0 + 120 * S)
    [alert] = alerts(store)  # the router and pc5 still answer: not a site outage
    assert (alert.rule, alert.subject_name, alert.state) == ("device_down", "gw-xa-a", "firing")
    assert alert.data is not None
    assert alert.data["affected"] == {
        "hosts": ["xa-a-pc1", "xa-a-pc2", "xa-a-pc3", "xa-a-pc4"],
        "devices": ["sw-xa-a-1", "sw-xa-a-2"],
    }
    [mail] = notes(store)
    assert "6 máy/thiết bị phía sau bị ảnh hưởng" in mail.subject


def test_a_whole_site_cut_is_still_one_site_alert(office: Store) -> None:
    store = office
    switches(store, "down", T0 + 10 * S, *ROLES)
    pcs(store, "down", T0 + 10 * S, *PCS)
    run(store, T0 + 15 * S, T0 + 120 * S)
    assert [(a.rule, a.subject_id, a.state) for a in alerts(store)] == [
        ("site_unreachable", "XA-A", "firing")
    ]
    [mail] = notes(store)
    assert "Xã A mất kết nối tới Trung tâm dữ liệu tỉnh" in mail.subject


def test_a_dead_switch_with_nothing_down_behind_it_is_a_plain_device_down(office: Store) -> None:
    store = office
    switches(store, "down", T0 + 10 * S, "sw-xa-a-2")
    run(store, T0 + 15 * S, T0 + 120 * S)
    [alert] = alerts(store)
    assert (alert.rule, alert.subject_name) == ("device_down", "sw-xa-a-2")
    assert alert.summary.startswith("Thiết bị sw-xa-a-2 (Xã A) không phản hồi SNMP từ ")
    switches(store, "up", T0 + 130 * S, "sw-xa-a-2")
    run(store, T0 + 135 * S, T0 + 160 * S)  # nothing behind it to wait for: resolved after clear_for_s
    assert [a.state for a in alerts(store)] == ["resolved"]


def test_the_uplink_side_comes_from_roles_then_from_the_most_links(tmp_path: Path) -> None:
    with_roles = make_office(tmp_path / "roles", ROLES)
    with with_roles.sessions() as session:
        [drawn] = site_maps(session, [with_roles.site_ids["XA-A"]]).values()
    assert drawn.parent == {"gw-xa-a": "rt-xa-a", "sw-xa-a-1": "gw-xa-a", "sw-xa-a-2": "gw-xa-a"}
    assert drawn.hosts == {
        "rt-xa-a": ["xa-a-pc5"],
        "sw-xa-a-1": ["xa-a-pc1", "xa-a-pc2", "xa-a-pc3"],
        "sw-xa-a-2": ["xa-a-pc4"],
    }
    # Every role left at its default "access": the switch with the most links is taken as the uplink.
    no_roles = make_office(tmp_path / "no-roles", dict.fromkeys(ROLES, "access"))
    with no_roles.sessions() as session:
        [guessed] = site_maps(session, [no_roles.site_ids["XA-A"]]).values()
    assert guessed.parent == {"rt-xa-a": "gw-xa-a", "sw-xa-a-1": "gw-xa-a", "sw-xa-a-2": "gw-xa-a"}


def test_a_site_over_the_bound_is_not_mapped_and_alerts_one_by_one(
    office: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(behind, "MAX_DEVICES", len(ROLES) - 1)
    store = office
    switches(store, "down", T0 + 10 * S, "sw-xa-a-1")
    pcs(store, "down", T0 + 10 * S, *BEHIND_SW1)
    run(store, T0 + 15 * S, T0 + 120 * S)
    assert sorted((a.rule, a.subject_name) for a in alerts(store)) == [
        ("device_down", "sw-xa-a-1"),
        *(("host_down", pc) for pc in BEHIND_SW1),
    ]


def test_pcs_only_late_when_the_switch_fires_are_listed_and_never_alert_alone(office: Store) -> None:
    store = office
    switches(store, "down", T0 + 10 * S, "sw-xa-a-1")
    pcs(store, "stale", T0 + 10 * S, *BEHIND_SW1)  # late, not yet down: the host-state loop waits longer
    run(store, T0 + 15 * S, T0 + 120 * S)
    [mail] = notes(store)
    assert "3 máy/thiết bị phía sau bị ảnh hưởng: xa-a-pc1, xa-a-pc2, xa-a-pc3" in mail.subject
    pcs(store, "down", T0 + 125 * S, *BEHIND_SW1)
    run(store, T0 + 130 * S, T0 + 300 * S)
    assert [(a.rule, a.subject_name) for a in alerts(store)] == [("device_down", "sw-xa-a-1")]
