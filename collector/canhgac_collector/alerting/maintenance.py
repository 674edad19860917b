"""Maintenance windows: one-off, weekly, or on dates (a Tết date range, or every year's MM-DD range).
Windows come from the config (`alerting.maintenance`) and the API (`silences` table); each covers a site
subtree and optionally only some rules. During a window alerts are still recorded but nobody is told."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.alerting.settings import DateRange, MaintenanceWindow, WeeklyWindow
from canhgac_collector.sitetree import SiteNode
from canhgac_collector.store.models import Silence, Site


@dataclass(frozen=True)
class Window:
    name: str
    site_path: str
    rules: frozenset[str]
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    weekly: WeeklyWindow | None = None
    dates: tuple[DateRange, ...] = ()

    def active(self, now: dt.datetime, tz: ZoneInfo) -> bool:
        if self.starts_at is not None and self.ends_at is not None:
            return self.starts_at <= now < self.ends_at
        local = now.astimezone(tz)
        if self.weekly is not None:
            return weekly_active(self.weekly, local)
        return any(date_active(r, local.date()) for r in self.dates)

    def covers(self, site_path: str, rule: str) -> bool:
        return site_path.startswith(self.site_path) and (not self.rules or rule in self.rules)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def weekly_active(w: WeeklyWindow, local: dt.datetime) -> bool:
    t = local.hour * 60 + local.minute
    start, end = _minutes(w.start), _minutes(w.end)
    day = local.weekday()
    if start < end:
        return day in w.days and start <= t < end
    # past midnight: the evening of a listed day, or the early hours after one
    return (day in w.days and t >= start) or ((day - 1) % 7 in w.days and t < end)


def date_active(r: DateRange, day: dt.date) -> bool:
    if len(r.start) == 10:
        return dt.date.fromisoformat(r.start) <= day <= dt.date.fromisoformat(r.end)
    md = (day.month, day.day)
    a = (int(r.start[:2]), int(r.start[3:]))
    b = (int(r.end[:2]), int(r.end[3:]))
    return a <= md <= b if a <= b else (md >= a or md <= b)


def from_config(windows: list[MaintenanceWindow], tree: dict[str, SiteNode]) -> list[Window]:
    out = []
    for w in windows:
        node = tree.get(w.site)
        if node is None:
            raise ValueError(f"alerting.maintenance {w.name!r}: site {w.site!r} is not in the site tree")
        out.append(
            Window(w.name, node.path, frozenset(w.rules), w.starts_at, w.ends_at, w.weekly, tuple(w.dates))
        )
    return out


def silence_window(s: Silence, path: str) -> Window:
    sched: dict[str, Any] = s.schedule or {}
    weekly = WeeklyWindow.model_validate(sched["weekly"]) if s.kind == "weekly" else None
    dates = tuple(DateRange.model_validate(d) for d in sched.get("dates", [])) if s.kind == "dates" else ()
    return Window(s.name, path, frozenset(s.rules or ()), s.starts_at, s.ends_at, weekly, dates)


def from_store(session: Session) -> list[Window]:
    rows = session.execute(select(Silence, Site.path).join(Site, Silence.site_id == Site.id)).all()
    return [silence_window(s, path) for s, path in rows]
