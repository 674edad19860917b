"""The `alerting:` section of server.yaml: rules and thresholds (overridable per site subtree), timers,
maintenance windows, channels.

Kept apart from `config.py` (which imports it) so the alerting package owns its settings; it imports only
pydantic and the channels, so there is no import cycle. Each channel's section (`smtp:`, `webhooks:`, …)
is that channel's own config model, added to `AlertingConfig` from the `CHANNELS` registry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from canhgac_collector.alerting.channels import CHANNELS, base

SITE_CODE = base.SITE_CODE  # a site code's pattern, shared with the channels and the API's schemas

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DATE = re.compile(r"^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")

#: The agent's longest delay between retries (canhgac_agent.sender.Backoff's default cap) and the slack
#: given on top of it before a silent member of a recovered site counts as down on its own.
AGENT_RETRY_CAP_S = 300.0
RECONNECT_GRACE_S = 60.0

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
    "cpu_usage",
    "hardware_failed",
    "lan_dhcp_rogue",
    "lan_arp_spoof",
    "lan_ip_conflict",
    "lan_mac_flood",
    "lan_device_new",
    "site_silent_link_up",
]
Severity = Literal["info", "warning", "critical"]


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


class AlertingSettings(_Strict):
    """Built-in alerting, without the channel sections (`AlertingConfig` is this plus them)."""

    enabled: bool = True
    evaluate_interval_s: Annotated[float, Field(gt=0, le=3600)] = 10
    timezone: str = "Asia/Ho_Chi_Minh"  # times in messages and maintenance windows
    # An alert whose condition clears is resolved only after it stayed clear this long; a condition that
    # returns sooner counts a flap on the same alert (no new message).
    clear_for_s: Annotated[float, Field(ge=0)] = 300
    # A site whose subtree has at least this many monitored hosts+devices, all unreachable, raises one
    # site alert; its hosts and devices are listed as affected instead of alerting one by one.
    site_min_members: Annotated[int, Field(ge=1)] = 2
    # After a cut-off site is heard again, its members still silent get this long to reconnect (the
    # agents' longest retry delay plus a grace) before raising alerts of their own; null = agent
    # backoff cap (300 s) + 60 s. One alert and one recovery per outage, however long.
    reconnect_window_s: Annotated[float, Field(ge=0, le=86400)] | None = None
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

    @property
    def reconnect_window(self) -> float:
        """Seconds the members of an outage get to reconnect after their site is heard again."""
        if self.reconnect_window_s is not None:
            return self.reconnect_window_s
        return AGENT_RETRY_CAP_S + RECONNECT_GRACE_S

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
    def _retry(self) -> AlertingSettings:
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("alerting.retry_max_s must be at least retry_initial_s")
        for plugin in CHANNELS.values():
            names = [e.channel for e in plugin.endpoints(self)]
            if len(names) != len(set(names)):
                raise ValueError(f"alerting.{plugin.section}: names must be unique")
        return self


def channel_sections() -> dict[str, Any]:
    """The channel sections as pydantic fields: a mapping (default: the model's defaults) or, for a
    channel with many named destinations, a list (default: none)."""
    fields: dict[str, Any] = {}
    for plugin in CHANNELS.values():
        if plugin.many:
            fields[plugin.section] = (list[plugin.config], [])  # type: ignore[name-defined]  # known at run time
        else:
            fields[plugin.section] = (plugin.config, plugin.config())
    return fields


if TYPE_CHECKING:
    # Type checkers see the common fields; code reaches a channel's section through its plugin
    # (`plugin.configs(config)`), typed by the channel's own model.
    AlertingConfig = AlertingSettings
else:
    AlertingConfig = create_model(
        "AlertingConfig",
        __base__=AlertingSettings,
        __module__=__name__,
        __doc__="Built-in alerting: the common settings and one section per registered channel.",
        **channel_sections(),
    )


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
    for plugin in CHANNELS.values():
        for i, e in enumerate(plugin.endpoints(config)):
            key = f"alerting.{plugin.section}[{i}]" if plugin.many else f"alerting.{plugin.section}"
            if e.site is not None and e.site not in site_codes:
                what = f"{plugin.name} {e.label!r}" if e.label else plugin.name
                errors.append(f"{key}.site: site {e.site!r} of {what} is not in the site tree")
    return errors


def check_site_references(config: AlertingConfig, site_codes: Collection[str]) -> None:
    """Raise ValueError naming the first unknown site code (see `site_reference_errors`)."""
    errors = site_reference_errors(config, site_codes)
    if errors:
        raise ValueError(errors[0])
