"""Forwarding to a Prometheus Alertmanager: `POST /api/v2/alerts` with a list of alerts (labels carry the
site code and path, so Alertmanager routes and silences by site). A feed: every live alert is re-sent
every `resend_s` with an `endsAt` three periods ahead, so alerts end by themselves if this server stops."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field

from canhgac_collector.alerting import templates
from canhgac_collector.alerting.channels.base import (
    ChannelConfig,
    ChannelPlugin,
    Destination,
    Feed,
    FeedItem,
    Outgoing,
    Style,
    post_json,
)


class AlertmanagerChannel(ChannelConfig):
    """Forward alerts to an Alertmanager (`POST /api/v2/alerts`), re-sent while they fire."""

    enabled: bool = False
    url: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:9093"
    resend_s: Annotated[float, Field(gt=0)] = 60
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10


def send(cfg: AlertmanagerChannel, out: Outgoing) -> None:
    post_json(f"{cfg.url.rstrip('/')}/api/v2/alerts", out.payload, cfg.timeout_s)


def alert_item(cfg: AlertmanagerChannel, ref: FeedItem, now: dt.datetime) -> dict[str, Any]:
    """One alert in Alertmanager's API format."""
    alert = ref.alert
    data = alert.data or {}
    item: dict[str, Any] = {
        "labels": {
            "alertname": alert.rule,
            "severity": alert.severity,
            "site": ref.site,
            "site_path": ref.site_path,
            "subject": alert.subject_id,
            "canhgac_alert_id": str(alert.id),
        },
        "annotations": {
            "summary": alert.summary,
            "summary_en": str(data.get("summary_en", "")),
            "check_first": templates.alert_texts(alert.rule, data).check_vi,
            "state": alert.state,
            "flap_count": str(alert.flap_count),
        },
        "startsAt": (alert.firing_at or alert.started_at).isoformat(),
        "generatorURL": ref.url,
    }
    if alert.state == "resolved":
        start = alert.firing_at or alert.started_at  # Alertmanager refuses endsAt before startsAt
        item["endsAt"] = max(alert.resolved_at or now, start).isoformat()
    else:  # kept alive by re-sending every resend_s; ends by itself if this server stops
        item["endsAt"] = (now + dt.timedelta(seconds=cfg.resend_s * 3)).isoformat()
    return item


def style(cfg: AlertmanagerChannel | None) -> Style:
    return "json"


PLUGIN = ChannelPlugin(
    name="alertmanager",
    section="alertmanager",
    config=AlertmanagerChannel,
    many=False,
    destination=lambda cfg: Destination(enabled=cfg.enabled, address=cfg.url),
    send=send,
    style=style,
    feed=Feed(resend_s=lambda cfg: cfg.resend_s, item=alert_item),
)
