"""What an alert channel is: the shape of its `PLUGIN` object, and what the alerting code hands it.

A channel module (smtp.py, telegram.py, …) holds everything of its channel: its config model (the section
of `alerting:` in server.yaml), its sender, its message style and how it finds its destinations. The rest
of alerting (routing, the engine, the outbox, the settings) looks channels up by name in `CHANNELS` and
never names one. Channel modules import this module only, never the alerting package around them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from canhgac_collector.store.models import Alert

SITE_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

TextStyle = Literal["vi", "vi_ascii", "en", "vi_en"]
# How a notification is written for a channel: a message for people in one of the text styles (vi_ascii:
# no diacritics, for SMS-like channels), or "json": the alert as a JSON document for machines.
Style = Literal["vi", "vi_ascii", "en", "vi_en", "json"]


class ChannelConfig(BaseModel):
    """Base of every channel's config model: unknown keys are errors; secrets are `SecretStr`."""

    model_config = ConfigDict(extra="forbid")


C = TypeVar("C", bound=ChannelConfig)


class ChannelError(Exception):
    """A send that failed; the outbox retries it later."""


@dataclass(frozen=True)
class Outgoing:
    """One queued notification, as a sender gets it."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    payload: Any


@dataclass(frozen=True)
class Destination:
    """Where one config section (or one item of a list section) sends."""

    enabled: bool
    label: str = ""  # an item of a list section: its name; the outbox channel is then "<channel>:<label>"
    address: str = ""  # a fixed destination (a URL); "" when the channel sends to contacts' addresses
    site: str | None = None  # only alerts in this site's subtree (None: every site)


@dataclass(frozen=True)
class Endpoint(Generic[C]):
    """One configured destination of a channel, with the config its sender gets."""

    channel: str  # the outbox's channel column: "smtp", "webhook:soc"
    config: C
    enabled: bool
    label: str
    address: str
    site: str | None


@dataclass(frozen=True)
class FeedItem:
    """One live or just-resolved alert handed to a feed, with where it is."""

    alert: Alert
    site: str  # site code
    site_path: str
    url: str  # the alert in the server's API


@dataclass(frozen=True)
class Feed(Generic[C]):
    """A channel fed every live alert in one batch, re-sent while they last, instead of one message per
    alert and recipient (the Alertmanager API works that way). A resolved alert is sent once more."""

    resend_s: Callable[[C], float]  # an alert is sent again after this long
    item: Callable[[C, FeedItem, dt.datetime], dict[str, Any]]  # one alert in the channel's format


@dataclass(frozen=True)
class ChannelPlugin(Generic[C]):
    """Everything of one channel. Who receives its notifications follows from two fields:
    `contact_field` set: the sites' contacts that have that field (escalating up the tree); `feed` set:
    every live alert in batches; neither: the destination's own address, for alerts in its subtree."""

    name: str  # the outbox channel, or its prefix for list sections
    section: str  # its key under `alerting:` in server.yaml
    config: type[C]
    many: bool  # the section is a list of named destinations (webhooks) instead of one mapping
    destination: Callable[[C], Destination]
    send: Callable[[C, Outgoing], None]  # raises ChannelError on failure
    # The style of its notifications; the config is None for a destination no longer configured (a
    # recovery message to a webhook removed from server.yaml since the alert fired).
    style: Callable[[C | None], Style]
    contact_field: str | None = None  # the `Contact` field holding the address (email, phone, …)
    feed: Feed[C] | None = None

    def configs(self, alerting: BaseModel) -> list[C]:
        """This channel's config sections in the assembled `alerting` config (none in a model without
        the channel's section, such as `AlertingSettings` alone)."""
        value = getattr(alerting, self.section, None)
        items = (value or []) if self.many else [value]
        return [c for c in items if isinstance(c, self.config)]

    def endpoints(self, alerting: BaseModel) -> list[Endpoint[C]]:
        """Every configured destination, enabled or not, in config order."""
        out = []
        for cfg in self.configs(alerting):
            d = self.destination(cfg)
            channel = f"{self.name}:{d.label}" if self.many else self.name
            out.append(Endpoint(channel, cfg, d.enabled, d.label, d.address, d.site))
        return out

    def config_of(self, alerting: BaseModel, channel: str) -> C | None:
        """The config behind an outbox channel ("smtp", "webhook:soc"), enabled or not; None if gone."""
        return next((e.config for e in self.endpoints(alerting) if e.channel == channel), None)


def post_json(url: str, body: Any, timeout_s: float, headers: dict[str, str] | None = None) -> bytes:
    """POST `body` as JSON; the reply body, or ChannelError on any network error or non-2xx status."""
    import urllib.error
    import urllib.request

    import orjson

    data = body if isinstance(body, bytes) else orjson.dumps(body)
    req = urllib.request.Request(  # noqa: S310 (a configured http(s) URL)
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (configured http(s) URL)
            reply: bytes = resp.read()
            return reply
    except urllib.error.HTTPError as exc:
        text = exc.read()[:300].decode("utf-8", "replace")
        raise ChannelError(f"{url}: HTTP {exc.code}: {text}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChannelError(f"{url}: {reason}") from None
