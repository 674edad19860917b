"""Telegram Bot API `sendMessage`; the base URL is configurable so tests use a local server."""

from __future__ import annotations

import orjson

from canhgac_collector.alerting.channels import ChannelError, Outgoing, post_json
from canhgac_collector.alerting.settings import TelegramChannel


def send(cfg: TelegramChannel, out: Outgoing) -> None:
    assert cfg.bot_token is not None  # validated with `enabled`
    url = f"{cfg.base_url.rstrip('/')}/bot{cfg.bot_token.get_secret_value()}/sendMessage"
    text = f"{out.subject}\n\n{out.body}"[:4096]  # the Bot API's message limit
    try:
        reply = post_json(url, {"chat_id": out.recipient, "text": text}, cfg.timeout_s)
    except ChannelError as exc:  # never log the bot token that is part of the URL
        raise ChannelError(str(exc).replace(cfg.bot_token.get_secret_value(), "***")) from None
    try:
        ok = orjson.loads(reply).get("ok") is True
    except (orjson.JSONDecodeError, AttributeError):
        ok = False
    if not ok:
        raise ChannelError(f"telegram: the Bot API did not accept the message: {reply[:200]!r}")
