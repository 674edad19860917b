"""The alert lifecycle over a real store, with explicit clocks (no sleeping): root-cause grouping, `for`
durations, flap suppression, maintenance windows, escalation and acknowledgement, events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from canhgac_collector.alerting.engine import acknowledge
from canhgac_collector.store.models import Alert, Event, Notification
from tests.collector.alerting.conftest import DISTRICT, OFFICER_A, OFFICER_B, PROVINCE, T0, Store, poll

S = dt.timedelta(seconds=1)


def alerts(store: Store) -> list[Alert]:
    with store.sessions() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def notes(store: Store) -> list[Notification]:
    with store.sessions() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def healthy(store: Store, at: dt.datetime) -> None:
    for site in ("XA-A", "XA-B"):
        for i in (1, 2):
            store.host(f"{site.lower()}-pc{i}", site, "up", at)
    store.polls(poll("sw-xa-a", "up", at), poll("sw-xa-b", "up", at))


def test_commune_cut_off_is_one_site_alert_to_its_officer_only(
    make_store: Callable[..., Store], db_url: str
) -> None:
    store = make_store(db_url)
    healthy(store, T0)
    assert store.engine.evaluate(T0 + S).conditions == 0
    # Commune A's uplink fails: its two PCs stop reporting and its switch stops answering.
    for i in (1, 2):
        store.host(f"xa-a-pc{i}", "XA-A", "down", T0)
    store.polls(poll("sw-xa-a", "down", T0 + 5 * S))
    store.host("xa-b-pc1", "XA-B", "up", T0 + 9 * S)
    res = store.engine.evaluate(T0 + 10 * S)
    assert (res.conditions, res.opened, res.fired) == (1, 1, 1)
    [alert] = alerts(store)
    assert (alert.rule, alert.subject_id, alert.state) == ("site_unreachable", "XA-A", "firing")
    assert (
        alert.summary
        == "Xã A mất kết nối tới Trung tâm dữ liệu tỉnh từ 07:40 01/03; 2 máy, 1 switch không liên lạc được"
    )
    assert alert.data is not None
    assert alert.data["affected"] == {"hosts": ["xa-a-pc1", "xa-a-pc2"], "devices": ["sw-xa-a"]}
    [n] = notes(store)
    assert (n.channel, n.recipient, n.kind) == ("smtp", OFFICER_A, "firing")
    assert "Kiểm tra trước" in n.body
    assert "Check first" in n.body
    assert "/api/v1/alerts/ack?token=v1." in n.body
    # Evaluating again changes nothing and sends nothing.
    store.engine.evaluate(T0 + 20 * S)
    assert len(notes(store)) == 1
    assert len(alerts(store)) == 1
    # Back up: resolved after clear_for_s, one recovery message to the same officer.
    healthy(store, T0 + 30 * S)
    store.engine.evaluate(T0 + 31 * S)
    assert alerts(store)[0].state == "firing"  # still inside the clear hold
    store.engine.evaluate(T0 + 31 * S + 300 * S)
    [alert] = alerts(store)
    assert alert.state == "resolved"
    resolved = [n for n in notes(store) if n.kind == "resolved"]
    assert [(n.recipient, n.subject.split(":")[0]) for n in resolved] == [
        (OFFICER_A, "[Canh Gác] ĐÃ KHẮC PHỤC")
    ]
    assert not any(n.recipient == OFFICER_B for n in notes(store))
    with store.sessions() as session:
        steps = [
            (e.from_state, e.to_state)
            for e in session.scalars(select(Event).where(Event.kind == "alert.state").order_by(Event.id))
        ]
    assert steps == [(None, "pending"), ("pending", "firing"), ("firing", "resolved")]


def test_one_pc_down_alerts_that_pc_not_the_site(make_store: Callable[..., Store]) -> None:
    store = make_store()
    healthy(store, T0)
    store.host("xa-b-pc2", "XA-B", "down", T0)
    store.engine.evaluate(T0 + 10 * S)
    assert [(a.rule, a.subject_id) for a in alerts(store)] == [("host_down", "xa-b-pc2")]
    assert [n.recipient for n in notes(store)] == [OFFICER_B]


def test_for_duration_keeps_a_short_blip_pending_and_silent(make_store: Callable[..., Store]) -> None:
    store = make_store(rules={"device_down": {"for_s": 60}})
    healthy(store, T0)
    store.polls(poll("sw-xa-b", "down", T0 + S))
    store.engine.evaluate(T0 + 2 * S)
    assert [(a.rule, a.state) for a in alerts(store)] == [("device_down", "pending")]
    store.polls(poll("sw-xa-b", "up", T0 + 30 * S))
    store.engine.evaluate(T0 + 31 * S)
    assert [a.state for a in alerts(store)] == ["resolved"]
    assert notes(store) == []  # never fired: nobody told, no recovery either


def test_flapping_link_is_one_alert_with_a_flap_count(make_store: Callable[..., Store], db_url: str) -> None:
    store = make_store(db_url, rules={"link_down": {"for_s": 0}})
    healthy(store, T0)
    store.polls(poll("sw-xa-b", "up", T0, {1: "up"}))
    store.engine.evaluate(T0 + S)
    t = T0
    for _ in range(6):  # the uplink bounces every minute for six minutes
        t += 30 * S
        store.polls(poll("sw-xa-b", "up", t, {1: "down"}))
        store.engine.evaluate(t + S)
        t += 30 * S
        store.polls(poll("sw-xa-b", "up", t, {1: "up"}))
        store.engine.evaluate(t + S)
    [alert] = alerts(store)
    assert (alert.rule, alert.subject_id, alert.state, alert.flap_count) == (
        "link_down",
        "sw-xa-b/1",
        "firing",
        5,
    )
    assert [(n.recipient, n.kind) for n in notes(store)] == [(OFFICER_B, "firing")]
    store.engine.evaluate(t + 400 * S)  # stable for longer than clear_for_s
    assert alerts(store)[0].state == "resolved"
    assert [n.kind for n in notes(store)] == ["firing", "resolved"]
    assert "Chập chờn: 5 lần" in notes(store)[1].body
    with store.sessions() as session:
        flaps = session.scalars(select(Event).where(Event.kind == "alert.flap")).all()
    assert len(flaps) == 5


def test_unacknowledged_alert_escalates_up_the_tree_acknowledged_does_not(
    make_store: Callable[..., Store],
) -> None:
    store = make_store(escalate_after_s=600, max_escalations=2)
    healthy(store, T0)
    store.host("xa-a-pc1", "XA-A", "down", T0)
    store.host("xb", "XA-B", "down", T0)
    store.host("xa-b-pc1", "XA-B", "down", T0)
    store.engine.evaluate(T0 + S)
    by_subject = {a.subject_id: a for a in alerts(store)}
    assert set(by_subject) == {"xa-a-pc1", "xb", "xa-b-pc1"}
    with store.sessions.begin() as session:
        acknowledge(session, by_subject["xb"].id, "tok-officer-b", "đang xử lý", T0 + 2 * S)
    store.engine.evaluate(T0 + 599 * S)
    assert {n.recipient for n in notes(store)} == {OFFICER_A, OFFICER_B}
    store.engine.evaluate(T0 + 601 * S)
    esc = [(n.recipient, n.kind) for n in notes(store) if n.kind == "escalation"]
    # xa-a-pc1 → district; xa-b-pc1 (unacked) → province (XA-B's parent); xb (acked) → nobody
    assert sorted(esc) == [(DISTRICT, "escalation"), (PROVINCE, "escalation")]
    store.engine.evaluate(T0 + 1202 * S)
    esc = [(n.recipient, a) for n in notes(store) if n.kind == "escalation" for a in [n.alert_id]]
    assert sorted(r for r, _ in esc) == [DISTRICT, PROVINCE, PROVINCE]  # A's second step reaches the province
    store.engine.evaluate(T0 + 5000 * S)  # max_escalations reached / no level above the province
    assert len([n for n in notes(store) if n.kind == "escalation"]) == 3
    acked = next(a for a in alerts(store) if a.subject_id == "xb")
    assert (acked.state, acked.escalation_level, acked.ack_comment) == ("acknowledged", 0, "đang xử lý")
    assert "Chưa ai xác nhận" in next(n.body for n in notes(store) if n.recipient == DISTRICT)


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [
        (  # one-off: a planned power cut 07:00–12:00 local
            {"starts_at": "2027-03-01T07:00:00+07:00", "ends_at": "2027-03-01T12:00:00+07:00"},
            T0,
            T0 + dt.timedelta(hours=5),
        ),
        ({"weekly": {"days": [0], "start": "07:00", "end": "08:00"}}, T0, T0 + dt.timedelta(days=1)),
        # overnight weekly window Sunday 22:00 → Monday 08:00
        ({"weekly": {"days": [6], "start": "22:00", "end": "08:00"}}, T0, T0 + dt.timedelta(hours=2)),
        ({"dates": [{"start": "2027-02-28", "end": "2027-03-02"}]}, T0, T0 + dt.timedelta(days=2)),
        ({"dates": [{"start": "12-30", "end": "03-01"}]}, T0, T0 + dt.timedelta(days=1)),  # wraps new year
    ],
)
def test_maintenance_window_holds_notifications_until_it_ends(
    make_store: Callable[..., Store], window: dict[str, object], inside: dt.datetime, outside: dt.datetime
) -> None:
    store = make_store(maintenance=[{"name": "Cắt điện", "site": "XA-B", **window}])
    healthy(store, inside - S)
    store.host("xa-b-pc1", "XA-B", "down", inside - S)
    store.engine.evaluate(inside)
    [alert] = alerts(store)
    assert (alert.state, alert.silenced) == ("firing", True)
    assert notes(store) == []
    store.host("xa-b-pc1", "XA-B", "down", outside - S)
    store.engine.evaluate(outside)
    assert [n.recipient for n in notes(store)] == [OFFICER_B]
    assert alerts(store)[0].silenced is False


def test_window_for_another_subtree_or_rule_does_not_silence(make_store: Callable[..., Store]) -> None:
    store = make_store(
        maintenance=[
            {"name": "Tết", "site": "XA-A", "dates": [{"start": "2027-02-01", "end": "2027-03-10"}]},
            {
                "name": "SNMP",
                "site": "XA-B",
                "rules": ["device_down"],
                "dates": [{"start": "01-01", "end": "12-31"}],
            },
        ]
    )
    healthy(store, T0)
    store.host("xa-b-pc1", "XA-B", "down", T0)
    store.engine.evaluate(T0 + S)
    assert [n.recipient for n in notes(store)] == [OFFICER_B]


def test_overrides_resolve_per_subtree_and_unknown_sites_are_named(make_store: Callable[..., Store]) -> None:
    store = make_store(
        rules={"probe_loss": {"threshold": 0.3}},
        overrides=[
            {"site": "D1", "rules": {"probe_loss": {"threshold": 0.5, "for_s": 10}}},
            {"site": "XA-A", "rules": {"probe_loss": {"severity": "critical"}}},
        ],
    )
    book = store.engine.book
    assert (book.get("probe_loss", "XA-A").threshold, book.get("probe_loss", "XA-A").for_s) == (0.5, 10)
    assert book.get("probe_loss", "XA-A").severity == "critical"
    assert book.get("probe_loss", "XA-B").threshold == 0.3
    assert book.get("probe_loss", "XA-B").severity == "warning"
    with pytest.raises(
        ValueError, match=r"alerting\.overrides\[0\]\.site: site 'NOPE' is not in the site tree"
    ):
        make_store(overrides=[{"site": "NOPE", "rules": {}}])
    with pytest.raises(ValueError, match=r"alerting\.maintenance\[0\]\.site: site 'NOPE' of window 'x'"):
        make_store(maintenance=[{"name": "x", "site": "NOPE", "dates": [{"start": "01-01", "end": "01-02"}]}])


def test_texts_without_diacritics() -> None:
    from canhgac_collector.alerting.templates import ascii_vi

    assert ascii_vi("Xã Cẩm Xuyên mất kết nối; Đường truyền") == "Xa Cam Xuyen mat ket noi; Duong truyen"


def test_metric_rules_from_the_newest_report_and_interface_rates(make_store: Callable[..., Store]) -> None:
    import orjson

    from canhgac_agent.snmp.results import InterfaceSample
    from canhgac_collector.store.events import record_event
    from tests.harness.reports import make_report

    store = make_store(
        rules={r: {"for_s": 0} for r in ("disk_usage", "probe_loss", "spool_backlog", "interface_errors")}
    )
    healthy(store, T0)
    report = make_report("a", 1)
    report["metrics"]["filesystems"][0]["percent"] = 96.0
    report["probes"] = [
        {
            "name": "provincial-dc",
            "kind": "tcp",
            "target": "10.0.0.1:443",
            "method": "tcp",
            "sent": 4,
            "received": 2,
            "loss_ratio": 0.5,
            "rtt_avg_ms": 20.0,
            "ok": False,
        }
    ]
    report["agent"] = {
        "version": "1",
        "spool_backlog": 700,
        "spool_dropped_total": 0,
        "rejected_total": 0,
        "cycle_cpu_s": 0.01,
    }
    store.host("xa-b-pc1", "XA-B", "up", T0, orjson.dumps(report))
    p = poll("sw-xa-b", "up", T0)
    p.interfaces = [
        InterfaceSample(ifIndex=3, ifName="Gi0/3", ifAdminStatus="up", ifOperStatus="up", in_errors_ps=4.0)
    ]
    store.polls(p)
    with store.sessions.begin() as session:
        record_event(
            session,
            kind="compliance.drift",
            subject_type="host",
            subject_id="xa-a-pc1",
            site_id=store.site_ids["XA-A"],
            message="drift",
            at=T0,
        )
    store.engine.evaluate(T0 + S)
    got = {(a.rule, a.subject_id): a for a in alerts(store)}
    assert set(got) == {
        ("disk_usage", "xa-b-pc1"),
        ("probe_loss", "xa-b-pc1/provincial-dc"),
        ("spool_backlog", "xa-b-pc1"),
        ("interface_errors", "sw-xa-b/3"),
        ("compliance_drift", "xa-a-pc1"),
    }
    assert got[("disk_usage", "xa-b-pc1")].summary.startswith(
        "Máy xa-b-pc1 (Xã B): ổ đĩa đầy 96% (ngưỡng 90%)"
    )
    assert got[("probe_loss", "xa-b-pc1/provincial-dc")].value == 0.5
    assert got[("compliance_drift", "xa-a-pc1")].state == "firing"
