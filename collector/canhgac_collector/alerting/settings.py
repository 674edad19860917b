"""The `alerting:` section of server.yaml: rules and thresholds (overridable per site subtree), timers,
maintenance windows, channels.

Kept apart from `config.py` (which imports it) so the alerting package owns its settings; it imports only
pydantic, so there is no import cycle.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SITE_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DATE = re.compile(r"^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")

RuleName = Literal[
    "site_unreachable",
    "host_down",
    "device_down",
    "link_down",
    "probe_loss",
    "probe_latency",
    "interface_errors",
    "interface_utilisation",
    "disk_usage",
    "memory_usage",
    "temperature",
    "spool_backlog",
    "config_changed",
    "compliance_drift",
]
Severity = Literal["info", "warning", "critical"]
TextStyle = Literal["vi", "vi_ascii", "en", "vi_en"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleOverride(_Strict):
    """Partial settings of one rule; unset fields inherit from the parent subtree or the defaults."""

    enabled: bool | None = None
    threshold: float | None = None  # the rule's unit: ratio, ms, errors/s, °C, reports, …
    for_s: Annotated[float, Field(ge=0)] | None = None  # the condition must hold this long to fire
    severity: Severity | None = None


class SubtreeOverride(_Strict):
    """Rule settings for one site and everything under it (deeper overrides win)."""

    site: Annotated[str, Field(pattern=SITE_CODE)]
    rules: dict[RuleName, RuleOverride] = {}


class WeeklyWindow(_Strict):
    """Every week on `days` (0 = Monday … 6 = Sunday) from `start` to `end` local time; an `end` before
    `start` runs past midnight."""

    days: Annotated[list[Annotated[int, Field(ge=0, le=6)]], Field(min_length=1, max_length=7)]
    start: Annotated[str, Field(pattern=HHMM.pattern)]  # HH:MM
    end: Annotated[str, Field(pattern=HHMM.pattern)]


class DateRange(_Strict):
    """Whole local days from `start` to `end` inclusive: YYYY-MM-DD (e.g. Tết 2027) or MM-DD (every
    year; a range may wrap the new year: 12-30 → 01-02)."""

    start: str
    end: str

    @model_validator(mode="after")
    def _dates(self) -> DateRange:
        for v in (self.start, self.end):
            if not DATE.match(v):
                raise ValueError(f"{v!r} is not a date YYYY-MM-DD or MM-DD")
        if (len(self.start) == 10) != (len(self.end) == 10):
            raise ValueError(f"date range {self.start}…{self.end}: both ends need a year, or neither")
        if len(self.start) == 10 and dt.date.fromisoformat(self.end) < dt.date.fromisoformat(self.start):
            raise ValueError(f"date range {self.start}…{self.end}: end is before start")
        return self


class MaintenanceWindow(_Strict):
    """No notifications for alerts in `site`'s subtree (optionally only some rules) during the window:
    one-off (`starts_at`/`ends_at`), weekly, or on dates. Alerts are still recorded."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    site: Annotated[str, Field(pattern=SITE_CODE)]
    rules: list[RuleName] = []  # empty: every rule
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    weekly: WeeklyWindow | None = None
    dates: list[DateRange] = []

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        kinds = [
            k for k, v in (("once", self.starts_at), ("weekly", self.weekly), ("dates", self.dates)) if v
        ]
        if len(kinds) != 1:
            raise ValueError(
                f"maintenance window {self.name!r}: give exactly one of starts_at/ends_at, weekly, dates"
            )
        if self.starts_at is not None:
            if self.ends_at is None:
                raise ValueError(f"maintenance window {self.name!r}: starts_at needs ends_at")
            if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
                raise ValueError(f"maintenance window {self.name!r}: give times with an offset (+07:00)")
            if self.ends_at <= self.starts_at:
                raise ValueError(f"maintenance window {self.name!r}: ends_at must be after starts_at")
        return self


class SmtpChannel(_Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    starttls: bool = False
    ssl: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "canhgac@localhost"  # the From: address
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10
    text: TextStyle = "vi_en"


class TelegramChannel(_Strict):
    enabled: bool = False
    base_url: str = "https://api.telegram.org"  # tests point this at a local server
    bot_token: SecretStr | None = None
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10
    text: TextStyle = "vi"

    @model_validator(mode="after")
    def _token(self) -> TelegramChannel:
        if self.enabled and self.bot_token is None:
            raise ValueError("alerting.telegram: enabled needs bot_token")
        return self


class WebhookChannel(_Strict):
    """A JSON POST of every notification for alerts in `site`'s subtree (all sites when unset)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    url: Annotated[str, Field(pattern=r"^https?://")]
    site: Annotated[str, Field(pattern=SITE_CODE)] | None = None
    secret: SecretStr | None = None  # when set: X-Canhgac-Signature: sha256=<HMAC of the body>
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10


class AlertmanagerChannel(_Strict):
    """Forward alerts to an Alertmanager (`POST /api/v2/alerts`), re-sent while they fire."""

    enabled: bool = False
    url: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:9093"
    resend_s: Annotated[float, Field(gt=0)] = 60
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10


class AlertingConfig(_Strict):
    """Built-in alerting (DESIGN §7)."""

    enabled: bool = True
    evaluate_interval_s: Annotated[float, Field(gt=0, le=3600)] = 10
    timezone: str = "Asia/Ho_Chi_Minh"  # times in messages and maintenance windows
    # An alert whose condition clears is resolved only after it stayed clear this long; a condition that
    # returns sooner counts a flap on the same alert (no new message).
    clear_for_s: Annotated[float, Field(ge=0)] = 300
    # A site whose subtree has at least this many monitored hosts+devices, all unreachable, raises one
    # site alert; its hosts and devices are listed as affected instead of alerting one by one.
    site_min_members: Annotated[int, Field(ge=1)] = 2
    escalate_after_s: Annotated[float, Field(gt=0)] = 1800  # unacknowledged → the parent site's contacts
    max_escalations: Annotated[int, Field(ge=0, le=10)] = 2
    ack_link_ttl_s: Annotated[float, Field(gt=0)] = 86400  # signed acknowledge links in messages expire
    # HMAC key of the acknowledge links; created (0600) when missing; null = beside the database (SQLite)
    # or in $STATE_DIRECTORY, as for the device secrets key.
    link_key_file: str | None = None
    public_url: str | None = None  # base of the links in messages; null = the server's public_url
    retry_initial_s: Annotated[float, Field(gt=0)] = 5  # outbox: first retry of a failed send
    retry_max_s: Annotated[float, Field(gt=0)] = 600  # … doubling up to this
    give_up_after_s: Annotated[float, Field(gt=0)] = 7 * 86400  # then the notification is marked failed
    rules: dict[RuleName, RuleOverride] = {}  # province-wide changes to the defaults (alerting/rules.py)
    overrides: list[SubtreeOverride] = []
    maintenance: list[MaintenanceWindow] = []
    smtp: SmtpChannel = SmtpChannel()
    telegram: TelegramChannel = TelegramChannel()
    webhooks: list[WebhookChannel] = []
    alertmanager: AlertmanagerChannel = AlertmanagerChannel()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _retry(self) -> AlertingConfig:
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("alerting.retry_max_s must be at least retry_initial_s")
        names = [w.name for w in self.webhooks]
        if len(names) != len(set(names)):
            raise ValueError("alerting.webhooks: names must be unique")
        return self


def site_reference_errors(config: AlertingConfig, site_codes: Collection[str]) -> list[str]:
    """Every `alerting` key naming a site code that is not in the site tree, as "key.path: why".

    The config model cannot check this alone (the tree is a sibling key), so the alert engine at start
    and `canhgac config check` both call this: an override or window for a mistyped commune would
    otherwise never apply, silently."""
    errors = [
        f"alerting.overrides[{i}].site: site {o.site!r} is not in the site tree"
        for i, o in enumerate(config.overrides)
        if o.site not in site_codes
    ]
    errors += [
        f"alerting.maintenance[{i}].site: site {w.site!r} of window {w.name!r} is not in the site tree"
        for i, w in enumerate(config.maintenance)
        if w.site not in site_codes
    ]
    errors += [
        f"alerting.webhooks[{i}].site: site {h.site!r} of webhook {h.name!r} is not in the site tree"
        for i, h in enumerate(config.webhooks)
        if h.site is not None and h.site not in site_codes
    ]
    return errors


def check_site_references(config: AlertingConfig, site_codes: Collection[str]) -> None:
    """Raise ValueError naming the first unknown site code (see `site_reference_errors`)."""
    errors = site_reference_errors(config, site_codes)
    if errors:
        raise ValueError(errors[0])
