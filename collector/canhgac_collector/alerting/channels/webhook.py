"""Generic webhooks (`alerting.webhooks`, a list): each a JSON POST of every notification for alerts in
its site's subtree, optionally signed (HMAC-SHA256 of the body)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

import orjson
from pydantic import Field, SecretStr

from canhgac_collector.alerting.channels.base import (
    SITE_CODE,
    ChannelConfig,
    ChannelPlugin,
    Destination,
    Outgoing,
    Style,
    post_json,
)


class WebhookChannel(ChannelConfig):
    """A JSON POST of every notification for alerts in `site`'s subtree (all sites when unset)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    url: Annotated[str, Field(pattern=r"^https?://")]
    site: Annotated[str, Field(pattern=SITE_CODE)] | None = None
    secret: SecretStr | None = None  # when set: X-Canhgac-Signature: sha256=<HMAC of the body>
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10


def send(cfg: WebhookChannel, out: Outgoing) -> None:
    body = orjson.dumps(out.payload)
    headers = {"X-Canhgac-Notification": str(out.id)}
    if cfg.secret is not None:
        mac = hmac.new(cfg.secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        headers["X-Canhgac-Signature"] = f"sha256={mac}"
    post_json(cfg.url, body, cfg.timeout_s, headers)


def style(cfg: WebhookChannel | None) -> Style:
    return "json"


PLUGIN = ChannelPlugin(
    name="webhook",
    section="webhooks",
    config=WebhookChannel,
    many=True,
    destination=lambda cfg: Destination(enabled=True, label=cfg.name, address=cfg.url, site=cfg.site),
    send=send,
    style=style,
)
