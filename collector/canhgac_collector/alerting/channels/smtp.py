"""E-mail over SMTP (optionally STARTTLS or implicit TLS, with login) to the contacts' `email`."""

from __future__ import annotations

import smtplib
import ssl
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Annotated, cast

from pydantic import Field, SecretStr

from canhgac_collector.alerting.channels.base import (
    ChannelConfig,
    ChannelError,
    ChannelPlugin,
    Destination,
    Outgoing,
    Style,
    TextStyle,
)


class SmtpChannel(ChannelConfig):
    """`alerting.smtp`."""

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


def send(cfg: SmtpChannel, out: Outgoing) -> None:
    # MIMEText + Header: the default-policy EmailMessage folds long Vietnamese subjects into encoded
    # words that lose the space between them ("kết nối" arrives as "kếtnối"); Header folds correctly.
    msg = MIMEText(out.body, "plain", "utf-8")
    msg["From"] = cfg.sender
    msg["To"] = out.recipient
    msg["Subject"] = cast(str, Header(out.subject, "utf-8"))  # compat32 accepts a Header object
    msg["Date"] = formatdate(localtime=False)
    # Stable per notification: a receiver can drop the duplicate of a send retried after a lost reply.
    msg["Message-ID"] = f"<canhgac-notification-{out.id}@canhgac>"
    try:
        if cfg.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout_s, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        with client:
            if cfg.starttls and not cfg.ssl:
                client.starttls(context=ssl.create_default_context())
            if cfg.username and cfg.password is not None:
                client.login(cfg.username, cfg.password.get_secret_value())
            client.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"smtp {cfg.host}:{cfg.port}: {exc}") from None


def style(cfg: SmtpChannel | None) -> Style:
    return cfg.text if cfg is not None else SmtpChannel().text


PLUGIN = ChannelPlugin(
    name="smtp",
    section="smtp",
    config=SmtpChannel,
    many=False,
    destination=lambda cfg: Destination(enabled=cfg.enabled),
    send=send,
    style=style,
    contact_field="email",
)
