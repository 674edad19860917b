"""Threshold rules end to end over a real store, with explicit clocks: probe latency, host memory, host
and device temperature, interface utilisation, device CPU and memory. Each stays quiet below its
threshold and for shorter than its `for`, fires with a Vietnamese message naming the subject and the
value, resolves after clear_for_s, and takes a per-commune override of its threshold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import pytest
from sqlalchemy import select

from canhgac_agent.snmp.results import InterfaceSample, Resources
from canhgac_collector.alerting.rules import DEFAULTS
from canhgac_collector.store.models import Alert, Notification
from tests.collector.alerting.conftest import OFFICER_A, OFFICER_B, T0, Store, poll
from tests.harness.reports import make_report

S = dt.timedelta(seconds=1)
SITE_NAME = {"XA-A": "Xã A", "XA-B": "Xã B"}
OFFICER = {"XA-A": OFFICER_A, "XA-B": OFFICER_B}


def pc(site: str) -> str:
    return f"{site.lower()}-pc1"


def switch(site: str) -> str:
    return f"sw-{site.lower()}"


def _host(store: Store, site: str, at: dt.datetime, report: dict[str, object]) -> None:
    store.host(pc(site), site, "up", at, orjson.dumps(report))


def set_latency(store: Store, site: str, value: float, at: dt.datetime) -> None:
    report = make_report(pc(site), 1, hostname=pc(site))
    report["probes"] = [
        {
            "name": "provincial-dc",
            "kind": "tcp",
            "target": "10.10.0.10:443",
            "method": "tcp",
            "sent": 4,
            "received": 4,
            "loss_ratio": 0.0,
            "rtt_avg_ms": value,
            "ok": True,
        }
    ]
    _host(store, site, at, report)


def set_memory(store: Store, site: str, value: float, at: dt.datetime) -> None:
    report = make_report(pc(site), 1, hostname=pc(site))
    report["metrics"]["memory"]["percent"] = value * 100  # the agent reports percent, the rule a ratio
    _host(store, site, at, report)


def set_host_temperature(store: Store, site: str, value: float, at: dt.datetime) -> None:
    report = make_report(pc(site), 1, hostname=pc(site))
    report["metrics"]["sensors"]["temperatures"][2]["current_c"] = value  # the hottest of four cores
    _host(store, site, at, report)


def set_device_temperature(store: Store, site: str, value: float, at: dt.datetime) -> None:
    p = poll(switch(site), "up", at)
    p.resources = Resources(cpu_percent=5.0, temperatures_c={"chassis": 41.0, "psu": value})
    store.polls(p)


def set_device_cpu(store: Store, site: str, value: float, at: dt.datetime) -> None:
    p = poll(switch(site), "up", at)
    p.resources = Resources(cpu_percent=value * 100, memory_percent=20.0)  # the profile's device value
    store.polls(p)


def set_device_memory(store: Store, site: str, value: float, at: dt.datetime) -> None:
    p = poll(switch(site), "up", at)
    p.resources = Resources(cpu_percent=5.0, memory_percent=value * 100)  # e.g. Huawei: a percent only
    store.polls(p)


def set_utilisation(store: Store, site: str, value: float, at: dt.datetime) -> None:
    p = poll(switch(site), "up", at)
    p.interfaces = [
        InterfaceSample(
            ifIndex=1,
            ifName="Gi0/1",
            ifAlias="uplink",
            ifAdminStatus="up",
            ifOperStatus="up",
            ifHighSpeed=100,
            in_bps=value * 100e6,
            out_bps=1e6,
            utilisation=value,
        ),
        # a quiet port of the same switch never alerts
        InterfaceSample(ifIndex=2, ifName="Gi0/2", ifAdminStatus="up", ifOperStatus="up", utilisation=0.01),
    ]
    store.polls(p)


@dataclass(frozen=True)
class Case:
    rule: str
    set: Callable[[Store, str, float, dt.datetime], None]
    subject_id: Callable[[str], str]
    below: float
    above: float
    #: Vietnamese summary up to " từ <since>", for a site and the value/threshold as shown
    summary: Callable[[str, float, float], str]
    #: for the override test: between the commune's lowered threshold and the default one
    override: float
    middle: float


CASES = [
    Case(
        "probe_latency",
        set_latency,
        lambda site: f"{pc(site)}/provincial-dc",
        120.0,
        450.0,
        lambda site, v, t: (
            f"{pc(site)} → provincial-dc ({SITE_NAME[site]}): độ trễ {v:.0f} ms (ngưỡng {t:.0f} ms)"
        ),
        150.0,
        200.0,
    ),
    Case(
        "memory_usage",
        set_memory,
        pc,
        0.60,
        0.97,
        lambda site, v, t: f"Máy {pc(site)} ({SITE_NAME[site]}): bộ nhớ dùng {v:.0%} (ngưỡng {t:.0%})",
        0.80,
        0.90,
    ),
    Case(
        "temperature",  # a PC's CPU sensors
        set_host_temperature,
        pc,
        60.0,
        88.0,
        lambda site, v, t: f"{pc(site)} ({SITE_NAME[site]}): nhiệt độ {v:.0f} °C (ngưỡng {t:.0f} °C)",
        60.0,
        70.0,
    ),
    Case(
        "temperature",  # a switch's ENTITY-SENSOR readings
        set_device_temperature,
        switch,
        55.0,
        82.0,
        lambda site, v, t: f"{switch(site)} ({SITE_NAME[site]}): nhiệt độ {v:.0f} °C (ngưỡng {t:.0f} °C)",
        60.0,
        70.0,
    ),
    Case(
        "interface_utilisation",
        set_utilisation,
        lambda site: f"{switch(site)}/1",
        0.40,
        0.97,
        lambda site, v, t: (
            f"Cổng {switch(site)} Gi0/1 ({SITE_NAME[site]}) dùng {v:.0%} băng thông (ngưỡng {t:.0%})"
        ),
        0.70,
        0.80,
    ),
    Case(
        "cpu_usage",
        set_device_cpu,
        switch,
        0.30,
        0.98,
        lambda site, v, t: f"{switch(site)} ({SITE_NAME[site]}): CPU dùng {v:.0%} (ngưỡng {t:.0%})",
        0.70,
        0.80,
    ),
    Case(
        "memory_usage",
        set_device_memory,
        switch,
        0.50,
        0.97,
        lambda site, v, t: f"Máy {switch(site)} ({SITE_NAME[site]}): bộ nhớ dùng {v:.0%} (ngưỡng {t:.0%})",
        0.80,
        0.90,
    ),
]
IDS = [
    "probe_latency",
    "memory_usage",
    "host_temperature",
    "device_temperature",
    "interface_utilisation",
    "device_cpu_usage",
    "device_memory_usage",
]


def rule_alerts(store: Store, rule: str) -> list[Alert]:
    with store.sessions() as session:
        return list(session.scalars(select(Alert).where(Alert.rule == rule).order_by(Alert.id)))


def notes(store: Store) -> list[Notification]:
    with store.sessions() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def healthy(store: Store, at: dt.datetime) -> None:
    """Both communes up: one PC each (the PC under test gets its report from the case) and a switch."""
    for site in ("XA-A", "XA-B"):
        store.host(f"{site.lower()}-pc2", site, "up", at)
    store.polls(poll("sw-xa-a", "up", at), poll("sw-xa-b", "up", at))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_threshold_rule_lifecycle(make_store: Callable[..., Store], case: Case) -> None:
    store = make_store()
    for_s = DEFAULTS[case.rule].for_s
    threshold = DEFAULTS[case.rule].threshold
    assert for_s > 0  # the out-of-the-box `for` is what is exercised here
    healthy(store, T0)
    store.host(pc("XA-A"), "XA-A", "up", T0)
    # Below the threshold: nothing, however long it lasts.
    case.set(store, "XA-B", case.below, T0)
    store.engine.evaluate(T0 + S)
    store.engine.evaluate(T0 + S + for_s * 2 * S)
    assert rule_alerts(store, case.rule) == []
    # Above, but for less than `for`: pending at most, nobody told.
    t_up = T0 + 3 * for_s * S
    case.set(store, "XA-B", case.above, t_up)
    store.engine.evaluate(t_up + S)
    store.engine.evaluate(t_up + S + (for_s - 1) * S)
    [alert] = rule_alerts(store, case.rule)
    assert (alert.state, alert.subject_id) == ("pending", case.subject_id("XA-B"))
    assert notes(store) == []
    # Above for longer than `for`: firing, with the subject, value and threshold in Vietnamese.
    store.engine.evaluate(t_up + S + for_s * S)
    [alert] = rule_alerts(store, case.rule)
    assert alert.state == "firing"
    assert alert.value == pytest.approx(case.above)
    assert alert.severity == DEFAULTS[case.rule].severity
    local = (t_up + S).astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert alert.summary == (
        f"{case.summary('XA-B', case.above, threshold)} từ {local.strftime('%H:%M %d/%m')}"
    )
    assert [(n.recipient, n.kind) for n in notes(store)] == [(OFFICER_B, "firing")]
    assert alert.summary in notes(store)[0].body
    # Back below: still firing during the clear hold, then resolved with one recovery message.
    t_down = t_up + 2 * for_s * S
    case.set(store, "XA-B", case.below, t_down)
    store.engine.evaluate(t_down + S)
    assert rule_alerts(store, case.rule)[0].state == "firing"
    store.engine.evaluate(t_down + S + store.config.alerting.clear_for_s * S)
    [alert] = rule_alerts(store, case.rule)
    assert alert.state == "resolved"
    assert [(n.recipient, n.kind) for n in notes(store)] == [(OFFICER_B, "firing"), (OFFICER_B, "resolved")]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_override_lowers_the_threshold_for_one_commune_only(
    make_store: Callable[..., Store], case: Case
) -> None:
    store = make_store(overrides=[{"site": "XA-A", "rules": {case.rule: {"threshold": case.override}}}])
    for_s = DEFAULTS[case.rule].for_s
    healthy(store, T0)
    # The same reading in both communes: above XA-A's own threshold, below the province default.
    assert case.override <= case.middle < DEFAULTS[case.rule].threshold
    for site in ("XA-A", "XA-B"):
        case.set(store, site, case.middle, T0)
    store.engine.evaluate(T0 + S)
    store.engine.evaluate(T0 + S + for_s * S)
    [alert] = rule_alerts(store, case.rule)
    assert (alert.subject_id, alert.state) == (case.subject_id("XA-A"), "firing")
    assert alert.summary.startswith(case.summary("XA-A", case.middle, case.override))
    assert [n.recipient for n in notes(store)] == [OFFICER_A]
