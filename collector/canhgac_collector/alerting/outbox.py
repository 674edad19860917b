"""The stored notification queue. The engine enqueues in its own transaction (so an alert and its
messages commit together); the dispatcher sends due rows, retrying failures with doubling backoff.
A down SMTP server delays a message, never loses it; a channel's failures are visible in `health`
(API `/api/v1/alerts/channels` and the `canhgac_alert_channel_up` metric)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.alerting.channels import plugin_of
from canhgac_collector.alerting.channels.base import ChannelError, Outgoing
from canhgac_collector.alerting.settings import AlertingConfig
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Notification

log = logging.getLogger("canhgac.alerting.outbox")

Sender = Callable[[Outgoing], None]


def enqueue(
    session: Session,
    *,
    alert_id: int | None,
    channel: str,
    recipient: str,
    kind: str,
    subject: str,
    body: str,
    now: dt.datetime,
    payload: Any = None,
    recipient_site_id: int | None = None,
) -> Notification:
    n = Notification(
        alert_id=alert_id,
        channel=channel,
        recipient=recipient,
        recipient_site_id=recipient_site_id,
        kind=kind,
        subject=subject,
        body=body,
        payload=payload,
        state="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(n)
    return n


@dataclass
class ChannelHealth:
    up: bool = True
    last_ok_at: dt.datetime | None = None
    last_error_at: dt.datetime | None = None
    last_error: str | None = None
    sent_total: int = 0
    failed_attempts_total: int = 0


@dataclass
class Dispatcher:
    """Sends due notifications. `send_due` is blocking (SMTP, HTTP): run it in a thread."""

    config: AlertingConfig
    sessions: sessionmaker[Session]
    health: dict[str, ChannelHealth] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)  # channel → queued, refreshed per pass
    batch: int = 200
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sender(self, channel: str) -> Sender | None:
        """How to send on an outbox channel ("smtp", "webhook:soc"); None while it is not configured or
        not enabled."""
        plugin = plugin_of(channel)
        if plugin is None:
            return None
        for e in plugin.endpoints(self.config):
            if e.channel == channel and e.enabled:
                return functools.partial(plugin.send, e.config)
        return None

    def backoff_s(self, attempts: int) -> float:
        c = self.config
        return float(min(c.retry_max_s, c.retry_initial_s * 2 ** max(0, attempts - 1)))

    def send_due(self, now: dt.datetime | None = None) -> int:
        """Try every due pending notification once; returns how many were sent."""
        with self._lock:  # one pass at a time: a row is never sent twice concurrently
            return self._send_due(now)

    def _send_due(self, now_: dt.datetime | None) -> int:
        now = now_ or dt.datetime.now(dt.UTC)
        with self.sessions() as session:
            rows = session.scalars(
                select(Notification)
                .where(Notification.state == "pending", Notification.next_attempt_at <= now)
                .order_by(Notification.id)
                .limit(self.batch)
            ).all()
        sent = 0
        down: set[str] = set()  # a channel that failed in this pass is not hammered again in it
        for n in rows:
            if n.channel in down:
                self._reschedule(n, now, "channel failed earlier in this pass", count=False)
                continue
            send = self.sender(n.channel)
            h = self.health.setdefault(n.channel, ChannelHealth())
            out = Outgoing(n.id, n.channel, n.recipient, n.subject, n.body, n.payload)
            try:
                if send is None:
                    raise ChannelError(f"channel {n.channel} is not configured or not enabled")
                send(out)
            except ChannelError as exc:
                h.up, h.last_error_at, h.last_error = False, now, str(exc)
                h.failed_attempts_total += 1
                down.add(n.channel)
                log.warning("notification send failed id=%d channel=%s error=%s", n.id, n.channel, exc)
                self._reschedule(n, now, str(exc), count=True)
                continue
            h.up, h.last_ok_at = True, dt.datetime.now(dt.UTC)
            h.sent_total += 1
            sent += 1
            with self.sessions.begin() as session:
                row = session.get(Notification, n.id)
                if row is not None:
                    row.state, row.sent_at, row.attempts = "sent", dt.datetime.now(dt.UTC), n.attempts + 1
                    row.last_error = None
        self.refresh_pending()
        return sent

    def _reschedule(self, n: Notification, now: dt.datetime, error: str, *, count: bool) -> None:
        with self.sessions.begin() as session:
            row = session.get(Notification, n.id)
            if row is None:
                return
            if count:
                row.attempts = n.attempts + 1
                row.last_error = error[:2000]
            age = (now - row.created_at).total_seconds()
            if age >= self.config.give_up_after_s:
                row.state = "failed"
                record_event(
                    session,
                    kind="notification.failed",
                    subject_type="alert",
                    subject_id=str(row.alert_id),
                    site_id=row.recipient_site_id,
                    from_state="pending",
                    to_state="failed",
                    message=f"Không gửi được thông báo qua {row.channel} tới {row.recipient} sau "
                    f"{row.attempts} lần / notification given up: {error[:300]}",
                    at=now,
                )
                return
            row.next_attempt_at = now + dt.timedelta(seconds=self.backoff_s(max(1, row.attempts)))

    def refresh_pending(self) -> None:
        with self.sessions() as session:
            rows = session.execute(
                select(Notification.channel, func.count())
                .where(Notification.state == "pending")
                .group_by(Notification.channel)
            ).all()
        self.pending = {c: int(n) for c, n in rows}
