"""The tail of a site outage: one alert and one recovery per outage, however long.

When a cut-off site is heard again (its first PC reports), the other members are usually still waiting
out their agents' retry delay. Without a tail each of them would become a `host_down` of its own and a
mail per PC. So a site alert whose condition has cleared stays open while members of the outage are
still silent, at most `reconnect_window` seconds from the moment the site was heard again; those members
are *held* (no alert of their own) meanwhile. The site's single recovery then names whoever is still
missing, and from then on a missing member raises its normal `host_down`/`device_down`. A `device_down`
alert grouping the members behind a dead switch (grouping.py) has the same tail once the switch is back.

Everything lives in the alert row (`cleared_at`, `data.members`), so a server restarted mid-outage
picks the tail up where it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.store.models import Alert, Device, Host

#: Rules whose alert covers a whole site and holds its members.
SITE_RULES = ("site_unreachable", "site_silent_link_up")
#: Rules whose alert may hold members: the site rules, and a down device with members behind it
#: (grouping.py), whose tail works the same way once the device is back.
HOLDING_RULES = (*SITE_RULES, "device_down")


def member_key(kind: str, member_id: str) -> str:
    """How a host or device is named in an outage's member list (`host:<id>`, `device:<name>`)."""
    return f"{kind}:{member_id}"


def held_members(alerts: Iterable[Alert]) -> set[str]:
    """Members (`member_key`) of every open site alert, or device alert with members behind it: they
    raise no alert of their own."""
    held: set[str] = set()
    for alert in alerts:
        if alert.rule in HOLDING_RULES and alert.state != "resolved":
            held.update(str(k) for k in (alert.data or {}).get("members", []))
    return held


def still_silent(session: Session, alert: Alert) -> list[str]:
    """Names of the outage's members that have not been heard again, sorted (hosts, then devices)."""
    keys = [str(k) for k in (alert.data or {}).get("members", [])]
    host_ids = [k.split(":", 1)[1] for k in keys if k.startswith("host:")]
    device_names = [k.split(":", 1)[1] for k in keys if k.startswith("device:")]
    names: list[str] = []
    if host_ids:
        rows = session.execute(select(Host.hostname, Host.state).where(Host.id.in_(host_ids)))
        names += sorted(name for name, state in rows if state == "down")
    if device_names:
        devices = session.execute(
            select(Device.name, Device.state, Device.state_reason).where(Device.name.in_(device_names))
        )
        names += sorted(
            name
            for name, state, reason in devices
            if state == "down" or (state == "error" and reason == "timeout")
        )
    return names


def waiting_for_members(session: Session, alert: Alert, now: dt.datetime, window_s: float) -> bool:
    """True while a cleared site (or grouping device) alert should stay open for members still
    reconnecting. Records who is missing in `data.reconnecting` (then `data.missing` once the wait is
    over) for the API and the recovery message."""
    if alert.rule not in HOLDING_RULES or alert.cleared_at is None:
        return False
    if alert.rule not in SITE_RULES and not (alert.data or {}).get("members"):
        return False  # a device alert with nothing behind it: nothing to wait for
    silent = still_silent(session, alert)
    data: dict[str, Any] = dict(alert.data or {})
    in_window = (now - alert.cleared_at).total_seconds() < window_s
    if silent and in_window:
        data["reconnecting"] = silent
        alert.data = data
        return True
    data.pop("reconnecting", None)
    data["missing"] = silent
    alert.data = data
    return False


def line_view(alerts: Iterable[Alert], reachable: dict[str, bool]) -> dict[str, bool]:
    """Site code → "the line is up", for the rules. An outage keeps the kind it began as: a cut line
    that comes back before the agents do is still that cut (its tail), not a new "silent, line up"
    alert; and a silent site whose line then fails too stays one alert."""
    view = dict(reachable)
    for alert in alerts:
        if alert.rule in SITE_RULES and alert.state != "resolved":
            view[alert.subject_id] = alert.rule == "site_silent_link_up"
    return view
