"""API shapes of alerts, acknowledgements, maintenance windows (silences) and channel health."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from canhgac_collector.alerting.settings import SITE_CODE, RuleName, WeeklyWindow

AlertState = Literal["pending", "firing", "acknowledged", "resolved"]


class AlertOut(BaseModel):
    id: int
    rule: str
    severity: str
    state: AlertState
    site: str
    subject_type: str
    subject_id: str
    subject_name: str
    summary: str
    summary_en: str | None
    since: dt.datetime
    started_at: dt.datetime
    firing_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    resolved_at: dt.datetime | None
    flap_count: int
    escalation_level: int
    silenced: bool
    value: float | None
    affected: dict[str, Any] | None
    # A site outage's tail: members not heard again yet, and (once resolved) those still missing.
    reconnecting: list[str] | None = None
    missing: list[str] | None = None


class AlertList(BaseModel):
    alerts: list[AlertOut]
    total: int


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(max_length=2000)] | None = None


class OnceIn(BaseModel):
    """A one-off window: from `starts_at` for `duration_s` (e.g. a planned power cut)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["once"]
    starts_at: AwareDatetime
    duration_s: Annotated[float, Field(gt=0, le=366 * 86400)]


class WeeklyIn(WeeklyWindow):
    """Every week on `days` (0 = Monday) from `start` to `end` local time (past midnight allowed)."""

    kind: Literal["weekly"]


class DaySpan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: dt.date
    days: Annotated[int, Field(ge=1, le=366)]


class DatesIn(BaseModel):
    """Whole local days: each range starts on `start` and lasts `days` days (e.g. Tết 2027)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["dates"]
    ranges: Annotated[list[DaySpan], Field(min_length=1, max_length=100)]


class YearlyIn(BaseModel):
    """The same days every year, from `month`/`day` for `days` days (may wrap the new year)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["yearly"]
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]  # past the month's end: its last day
    days: Annotated[int, Field(ge=1, le=366)]


class SilenceIn(BaseModel):
    """A maintenance window over a site subtree."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    site: Annotated[str, Field(pattern=SITE_CODE)]
    rules: list[RuleName] = []
    window: Annotated[OnceIn | WeeklyIn | DatesIn | YearlyIn, Field(discriminator="kind")]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class SilenceOut(BaseModel):
    id: int
    name: str
    site: str
    rules: list[str]
    kind: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    weekly: dict[str, Any] | None
    dates: list[dict[str, Any]]
    comment: str | None
    created_by: str
    created_at: dt.datetime


class SilenceList(BaseModel):
    silences: list[SilenceOut]


class ChannelOut(BaseModel):
    channel: str
    up: bool
    pending: int
    last_ok_at: dt.datetime | None
    last_error_at: dt.datetime | None
    last_error: str | None


class ChannelList(BaseModel):
    channels: list[ChannelOut]
