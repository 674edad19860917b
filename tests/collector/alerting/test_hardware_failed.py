"""`hardware_failed`: a device's fan or power supply reported failed (by its profile) raises one alert per
part, named in Vietnamese, and resolves once the part is ok again; warning/absent parts stay quiet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from canhgac_agent.snmp.results import HardwareState, Resources
from canhgac_collector.alerting.rules import DEFAULTS
from canhgac_collector.store.models import Alert, Notification
from tests.collector.alerting.conftest import OFFICER_B, T0, Store, poll

S = dt.timedelta(seconds=1)


def set_parts(store: Store, at: dt.datetime, fan2: str, psu2: str) -> None:
    for site in ("XA-A", "XA-B"):
        p = poll(f"sw-{site.lower()}", "up", at)
        if site == "XA-B":
            p.resources = Resources(
                cpu_percent=5.0,
                fans=[HardwareState("Fan 1", "ok"), HardwareState("Fan 2", fan2)],  # type: ignore[arg-type]
                power_supplies=[HardwareState("PSU 1", "ok"), HardwareState("PSU 2", psu2)],  # type: ignore[arg-type]
            )
        store.polls(p)


def alerts(store: Store) -> list[Alert]:
    with store.sessions() as session:
        return list(session.scalars(select(Alert).where(Alert.rule == "hardware_failed").order_by(Alert.id)))


def test_failed_fan_and_psu_alert_each_and_resolve(make_store: Callable[..., Store]) -> None:
    store = make_store()
    for_s = DEFAULTS["hardware_failed"].for_s
    set_parts(store, T0, fan2="warning", psu2="absent")
    store.engine.evaluate(T0 + S)
    store.engine.evaluate(T0 + S + 2 * for_s * S)
    assert alerts(store) == []  # a fan at full speed or an empty PSU bay is not a failure
    t_fail = T0 + 10 * for_s * S
    set_parts(store, t_fail, fan2="failed", psu2="failed")
    store.engine.evaluate(t_fail + S)
    store.engine.evaluate(t_fail + S + for_s * S)
    got = {a.subject_id: a for a in alerts(store)}
    assert set(got) == {"sw-xa-b/fans/Fan 2", "sw-xa-b/power_supplies/PSU 2"}
    fan = got["sw-xa-b/fans/Fan 2"]
    assert (fan.state, fan.severity) == ("firing", "critical")
    local = (t_fail + S).astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert fan.summary == f"sw-xa-b Fan 2 (Xã B) báo hỏng từ {local.strftime('%H:%M %d/%m')}"
    with store.sessions() as session:
        notes = list(session.scalars(select(Notification).order_by(Notification.id)))
    assert sorted((n.recipient, n.kind) for n in notes) == [(OFFICER_B, "firing")] * 2
    t_fixed = t_fail + 4 * for_s * S
    set_parts(store, t_fixed, fan2="ok", psu2="ok")
    store.engine.evaluate(t_fixed + S)
    store.engine.evaluate(t_fixed + S + store.config.alerting.clear_for_s * S)
    assert {a.state for a in alerts(store)} == {"resolved"}
