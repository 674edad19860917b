"""Telegram Bot API `sendMessage` to the contacts' `telegram_chat_id`; the base URL is configurable so
tests use a local server."""

from __future__ import annotations

from typing import Annotated

import orjson
from pydantic import Field, SecretStr, model_validator

from canhgac_collector.alerting.channels.base import (
    ChannelConfig,
    ChannelError,
    ChannelPlugin,
    Destination,
    Outgoing,
    Style,
    TextStyle,
    post_json,
)


class TelegramChannel(ChannelConfig):
    """`alerting.telegram`."""

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


def style(cfg: TelegramChannel | None) -> Style:
    return cfg.text if cfg is not None else TelegramChannel().text


PLUGIN = ChannelPlugin(
    name="telegram",
    section="telegram",
    config=TelegramChannel,
    many=False,
    destination=lambda cfg: Destination(enabled=cfg.enabled),
    send=send,
    style=style,
    contact_field="telegram_chat_id",
)
