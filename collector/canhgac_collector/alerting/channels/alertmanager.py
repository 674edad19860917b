"""Forwarding to a Prometheus Alertmanager: `POST /api/v2/alerts` with a list of alerts (labels carry the
site code and path, so Alertmanager routes and silences by site)."""

from __future__ import annotations

from canhgac_collector.alerting.channels import Outgoing, post_json
from canhgac_collector.alerting.settings import AlertmanagerChannel


def send(cfg: AlertmanagerChannel, out: Outgoing) -> None:
    post_json(f"{cfg.url.rstrip('/')}/api/v2/alerts", out.payload, cfg.timeout_s)
