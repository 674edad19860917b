"""One alert and one recovery per site outage, however long: PCs coming back one by one after a cut
stay "reconnecting" (no alert of their own) for the reconnect window, the recovery names who is still
missing, and a server restarted mid-outage carries on. Explicit clocks over a real store."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from canhgac_collector.alerting.engine import AlertEngine
from canhgac_collector.config import ServerConfig
from canhgac_collector.metrics.telemetry import Telemetry
from canhgac_collector.sitelink.prober import SiteLinkProber
from canhgac_collector.sitelink.settings import SiteLinkSettings
from canhgac_collector.sitelink.state import LinkReading, SiteLinks
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.models import Alert, Notification
from tests.collector.alerting.conftest import OFFICER_A, OFFICER_B, T0, Store, poll

S = dt.timedelta(seconds=1)
PCS = [f"xa-a-pc{i}" for i in (1, 2, 3, 4)]
WINDOW = 360  # the default: agent backoff cap 300 s + 60 s


def alerts(store: Store) -> list[Alert]:
    with store.sessions() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def notes(store: Store, recipient: str = OFFICER_A) -> list[Notification]:
    with store.sessions() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [n for n in rows if n.recipient == recipient]


def commune_up(store: Store, at: dt.datetime) -> None:
    for pc in PCS:
        store.host(pc, "XA-A", "up", at)
    store.host("xa-b-pc1", "XA-B", "up", at)
    store.host("xa-b-pc2", "XA-B", "up", at)
    store.polls(poll("sw-xa-a", "up", at), poll("sw-xa-b", "up", at))


def cut(store: Store, at: dt.datetime) -> None:
    """Xã A's line is cut: its four PCs stop reporting, its switch stops answering."""
    for pc in PCS:
        store.host(pc, "XA-A", "down", at)
    store.polls(poll("sw-xa-a", "down", at))


def run(store: Store, start: dt.datetime, end: dt.datetime, step: int = 5) -> dt.datetime:
    t = start
    while t <= end:
        store.engine.evaluate(t)
        t += step * S
    return t


@pytest.fixture
def outage(make_store: Callable[..., Store]) -> Store:
    """Commune A cut off for an hour, its site alert sent; host_down `for` 20 s, clear hold 10 s."""
    store = make_store(clear_for_s=10, rules={"host_down": {"for_s": 20}})
    commune_up(store, T0)
    store.engine.evaluate(T0)
    cut(store, T0 + 10 * S)
    run(store, T0 + 20 * S, T0 + 3600 * S, step=600)
    assert [(a.rule, a.state) for a in alerts(store)] == [("site_unreachable", "firing")]
    return store


def test_pcs_returning_one_by_one_make_one_recovery_naming_the_one_still_missing(outage: Store) -> None:
    back = T0 + 3600 * S
    store = outage
    store.host("xa-a-pc1", "XA-A", "up", back)  # the first PC back: the site is heard again
    store.polls(poll("sw-xa-a", "up", back + 5 * S))
    t = run(store, back + S, back + 100 * S)
    store.host("xa-a-pc2", "XA-A", "up", t)  # after its retry delay
    t = run(store, t + S, t + 150 * S)
    store.host("xa-a-pc3", "XA-A", "up", t)  # the longest retry delay; pc4 was switched off meanwhile
    run(store, t + S, back + (WINDOW - 5) * S)
    assert [(a.rule, a.state) for a in alerts(store)] == [("site_unreachable", "firing")]
    [site] = alerts(store)
    assert site.data is not None
    assert site.data["reconnecting"] == ["xa-a-pc4"]
    assert [n.kind for n in notes(store)] == ["firing"]  # no per-PC mail while they reconnect

    run(store, back + WINDOW * S, back + (WINDOW + 60) * S)
    kinds = [(n.kind, n.subject) for n in notes(store)]
    assert kinds[:2] == [
        ("firing", kinds[0][1]),
        ("resolved", kinds[1][1]),
    ]
    assert "mất kết nối" in kinds[0][1]
    recovery = notes(store)[1]
    assert "Chưa kết nối lại sau thời gian chờ: xa-a-pc4" in recovery.body
    assert "Not reconnected within the wait: xa-a-pc4" in recovery.body
    # The one still missing after the window raises its own, ordinary alert (after its `for`).
    assert [(a.rule, a.subject_name, a.state) for a in alerts(store)] == [
        ("site_unreachable", "Xã A", "resolved"),
        ("host_down", "xa-a-pc4", "firing"),
    ]
    assert [n.kind for n in notes(store)] == ["firing", "resolved", "firing"]
    assert notes(store, OFFICER_B) == []


def test_all_back_within_the_window_resolves_at_once_without_a_missing_list(outage: Store) -> None:
    back = T0 + 3600 * S
    store = outage
    store.host("xa-a-pc1", "XA-A", "up", back)
    store.polls(poll("sw-xa-a", "up", back))
    run(store, back + S, back + 40 * S)
    for pc in PCS[1:]:
        store.host(pc, "XA-A", "up", back + 45 * S)
    run(store, back + 46 * S, back + 60 * S)
    assert [(a.rule, a.state) for a in alerts(store)] == [("site_unreachable", "resolved")]
    firing, resolved = notes(store)
    assert (firing.kind, resolved.kind) == ("firing", "resolved")
    assert "Chưa kết nối lại" not in resolved.body


def test_a_server_restarted_mid_outage_keeps_the_tail(outage: Store) -> None:
    back = T0 + 3600 * S
    store = outage
    store.host("xa-a-pc1", "XA-A", "up", back)
    store.polls(poll("sw-xa-a", "up", back))
    run(store, back + S, back + 30 * S)
    # A new process: a fresh engine over the same database, no memory of the old one.
    store.engine = AlertEngine(store.config, store.sessions, store.engine.tree, store.site_ids, store.signer)
    run(store, back + 31 * S, back + 200 * S)
    assert [a.rule for a in alerts(store)] == ["site_unreachable"]
    for pc in PCS[1:]:
        store.host(pc, "XA-A", "up", back + 201 * S)
    run(store, back + 202 * S, back + 220 * S)
    assert [(a.rule, a.state) for a in alerts(store)] == [("site_unreachable", "resolved")]
    assert [n.kind for n in notes(store)] == ["firing", "resolved"]


def test_cut_again_during_the_tail_is_a_flap_of_the_same_alert(outage: Store) -> None:
    back = T0 + 3600 * S
    store = outage
    store.host("xa-a-pc1", "XA-A", "up", back)
    run(store, back + S, back + 30 * S)
    store.host("xa-a-pc1", "XA-A", "down", back + 40 * S)  # the line drops again
    run(store, back + 41 * S, back + 120 * S)
    [site] = alerts(store)
    assert (site.state, site.flap_count) == ("firing", 1)
    assert site.data is not None
    assert "reconnecting" not in site.data
    assert [n.kind for n in notes(store)] == ["firing"]


def reading(ok: bool, at: dt.datetime) -> LinkReading:
    return LinkReading(
        ok=ok, method="icmp", loss_ratio=0.0 if ok else 1.0, rtt_avg_ms=1.0, jitter_ms=0.1, at=at
    )


def test_agents_silent_with_the_line_up_is_a_different_alert(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.engine.site_links.max_age_s = 90
    commune_up(store, T0)
    cut(store, T0 + 10 * S)
    store.engine.site_links.record("XA-A", reading(True, T0 + 15 * S))
    store.engine.evaluate(T0 + 20 * S)
    [alert] = alerts(store)
    assert (alert.rule, alert.subject_id, alert.severity) == ("site_silent_link_up", "XA-A", "warning")
    assert alert.summary.startswith("Xã A: 4 máy không gửi báo cáo từ")
    assert alert.summary.endswith("nhưng đường truyền tới điểm vẫn thông")
    [n] = notes(store)
    assert "không cần gọi nhà mạng" in n.body
    assert "no need to call the carrier" in n.body


def test_line_down_or_no_fresh_reading_is_site_unreachable(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.engine.site_links.max_age_s = 90
    commune_up(store, T0)
    cut(store, T0 + 10 * S)
    store.engine.site_links.record("XA-A", reading(True, T0 - 200 * S))  # stale: says nothing
    store.engine.evaluate(T0 + 20 * S)
    store.engine.site_links.record("XA-A", reading(False, T0 + 25 * S))
    store.engine.evaluate(T0 + 30 * S)
    assert [a.rule for a in alerts(store)] == ["site_unreachable"]


@pytest.fixture
def listening() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def test_prober_reaches_declared_addresses_only(tmp_path: object, listening: int) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    config = ServerConfig(
        sites=[
            {
                "code": "P",
                "name": "Tỉnh",
                "kind": "province",
                "children": [
                    {"code": "UP", "name": "Xã Thông", "link_probe": {"address": "127.0.0.2"}},
                    {
                        "code": "TCP",
                        "name": "Xã TCP",
                        "link_probe": {"address": "127.0.0.1", "method": "tcp", "port": listening},
                    },
                    {
                        "code": "SHUT",
                        "name": "Xã Đóng",
                        "link_probe": {"address": "127.0.0.1", "method": "tcp", "port": closed_port},
                    },
                    {"code": "NONE", "name": "Xã Không Khai Báo"},
                ],
            }
        ]
    )
    links = SiteLinks()
    prober = SiteLinkProber(SiteLinkSettings(count=2, timeout_s=0.5), resolve_tree(config), links)
    assert prober.probe_once() == 2
    got = links.readings()
    assert sorted(got) == ["SHUT", "TCP", "UP"]  # the site without an address is never probed
    assert (got["UP"].ok, got["TCP"].ok, got["SHUT"].ok) == (True, True, False)
    assert got["TCP"].method == "tcp"
    assert got["TCP"].rtt_avg_ms is not None
    assert got["SHUT"].loss_ratio == 1.0
    now = dt.datetime.now(dt.UTC)
    assert links.reachable(now) == {"UP": True, "TCP": True, "SHUT": False}
    assert links.reachable(now + dt.timedelta(seconds=links.max_age_s + 1)) == {}
    telemetry = Telemetry()
    prober.register_metrics(telemetry.registry)
    text = telemetry.render()
    assert 'canhgac_site_link_up{site="SHUT"} 0' in text
    assert 'canhgac_site_link_up{site="UP"} 1' in text
    assert 'canhgac_site_link_loss_ratio{site="SHUT"} 1' in text
    assert 'canhgac_site_link_rtt_ms{site="TCP"}' in text
    assert 'canhgac_site_link_rtt_ms{site="SHUT"}' not in text  # no reply: no latency to show
    # A reload that drops a site's address: it is no longer probed, its reading is forgotten.
    config.sites[0].children = [c for c in config.sites[0].children if c.code != "UP"]
    prober.configure(SiteLinkSettings(count=1, timeout_s=0.5), resolve_tree(config))
    assert sorted(t["name"] for t in prober.targets) == ["SHUT", "TCP"]
    assert sorted(links.readings()) == ["SHUT", "TCP"]


def test_tcp_link_probe_needs_a_port() -> None:
    with pytest.raises(ValueError, match="method tcp needs a port"):
        ServerConfig(
            sites=[{"code": "P", "name": "T", "link_probe": {"address": "127.0.0.1", "method": "tcp"}}]
        )


def test_the_line_back_before_the_agents_is_still_the_same_cut(outage: Store) -> None:
    back = T0 + 3600 * S
    store = outage
    store.engine.site_links.max_age_s = 90
    store.engine.site_links.record("XA-A", reading(True, back))  # the line answers again, no PC yet
    run(store, back + S, back + 30 * S)
    assert [(a.rule, a.state) for a in alerts(store)] == [("site_unreachable", "firing")]
    for pc in PCS:
        store.host(pc, "XA-A", "up", back + 31 * S)
    store.polls(poll("sw-xa-a", "up", back + 31 * S))
    run(store, back + 32 * S, back + 60 * S)
    assert [(a.rule, a.state) for a in alerts(store)] == [("site_unreachable", "resolved")]
    assert [n.kind for n in notes(store)] == ["firing", "resolved"]
