"""Generic webhook: the notification as JSON, optionally signed (HMAC-SHA256 of the body)."""

from __future__ import annotations

import hashlib
import hmac

import orjson

from canhgac_collector.alerting.channels import Outgoing, post_json
from canhgac_collector.alerting.settings import WebhookChannel


def send(cfg: WebhookChannel, out: Outgoing) -> None:
    body = orjson.dumps(out.payload)
    headers = {"X-Canhgac-Notification": str(out.id)}
    if cfg.secret is not None:
        mac = hmac.new(cfg.secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        headers["X-Canhgac-Signature"] = f"sha256={mac}"
    post_json(cfg.url, body, cfg.timeout_s, headers)
