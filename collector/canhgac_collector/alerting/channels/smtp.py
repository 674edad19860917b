"""E-mail over SMTP (optionally STARTTLS or implicit TLS, with login)."""

from __future__ import annotations

import smtplib
import ssl
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import cast

from canhgac_collector.alerting.channels import ChannelError, Outgoing
from canhgac_collector.alerting.settings import SmtpChannel


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
