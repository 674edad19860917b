"""The alert lifecycle: pending → firing → acknowledged → resolved, evaluated over the stored state.

One `evaluate(now)` is one transaction: conditions from rules.py are matched to open alerts by key; a
condition must hold `for_s` before it fires; a cleared condition resolves only after `clear_for_s`, and
if it returns sooner the alert counts a flap instead of starting over (one alert for a bouncing link).
Firing alerts outside maintenance windows are routed to contacts (outbox rows in the same transaction),
escalated to the parent site's contacts when nobody acknowledges, and resolved with one recovery message
to everyone who was told. Every state change is an Event (kind `alert.state`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.alerting import maintenance, outage, routing, templates
from canhgac_collector.alerting.channels import CHANNELS, plugin_of
from canhgac_collector.alerting.channels.base import FeedItem, Style
from canhgac_collector.alerting.links import LinkSigner
from canhgac_collector.alerting.outbox import enqueue
from canhgac_collector.alerting.rules import Condition, RuleBook, collect_conditions
from canhgac_collector.alerting.settings import check_site_references
from canhgac_collector.config import ServerConfig
from canhgac_collector.sitelink.state import SiteLinks
from canhgac_collector.sitetree import SiteNode
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Alert

log = logging.getLogger("canhgac.alerting")

OPEN = ("pending", "firing", "acknowledged")
STATE_VI = {
    "pending": "chờ xác định",
    "firing": "đang cảnh báo",
    "acknowledged": "đã xác nhận",
    "resolved": "đã khắc phục",
}


class AckError(Exception):
    """An acknowledgement that cannot be applied (unknown or resolved alert)."""


def transition(
    session: Session, alert: Alert, to: str, now: dt.datetime, why: str, actor: str = "system"
) -> None:
    """Change the alert's state and store the event."""
    record_event(
        session,
        kind="alert.state",
        subject_type="alert",
        subject_id=str(alert.id),
        site_id=alert.site_id,
        from_state=alert.state,
        to_state=to,
        actor=actor,
        at=now,
        message=f"Cảnh báo #{alert.id} {alert.rule} {alert.subject_name}: "
        f"{STATE_VI.get(alert.state, alert.state)} → {STATE_VI[to]} ({why})",
        data={"rule": alert.rule, "key": alert.key, "flap_count": alert.flap_count},
    )
    alert.state = to


def acknowledge(session: Session, alert_id: int, by: str, comment: str | None, now: dt.datetime) -> Alert:
    """Acknowledge an open alert (stops escalation). Acknowledging twice is harmless."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AckError(f"no alert {alert_id}")
    if alert.state == "resolved":
        raise AckError(f"alert {alert_id} is already resolved")
    if alert.state != "acknowledged":
        alert.acknowledged_at, alert.acknowledged_by, alert.ack_comment = now, by[:200], comment
        transition(
            session, alert, "acknowledged", now, f"bởi / by {by}" + (f": {comment}" if comment else ""), by
        )
    return alert


@dataclass
class EvalResult:
    conditions: int = 0
    opened: int = 0
    fired: int = 0
    resolved: int = 0
    notifications: int = 0
    escalated: int = 0


@dataclass
class AlertEngine:
    config: ServerConfig
    sessions: sessionmaker[Session]
    tree: dict[str, SiteNode]
    site_ids: dict[str, int]
    signer: LinkSigner
    # feed channel → alert id → when it was last sent there
    _fed: dict[str, dict[int, dt.datetime]] = field(default_factory=dict)
    # failures confined to one host/device/interface/condition during evaluation, by stage
    confined: Counter[str] = field(default_factory=Counter)
    # what the data centre's probes of the sites' declared addresses last found (sitelink/)
    site_links: SiteLinks = field(default_factory=SiteLinks)

    def __post_init__(self) -> None:
        self.cfg = self.config.alerting
        # the same check as `canhgac config check`: unknown site codes in overrides/windows/webhooks
        check_site_references(self.cfg, self.tree)
        self.book = RuleBook(self.cfg, self.tree)
        self.windows = maintenance.from_config(self.cfg.maintenance, self.tree)
        self.tz = ZoneInfo(self.cfg.timezone)
        self.site_codes = {v: k for k, v in self.site_ids.items()}
        base = (
            self.cfg.public_url
            or self.config.public_url
            or f"http://{self.config.listen.host}:{self.config.listen.port}"
        )
        self.base_url = base.rstrip("/")

    def reconfigured(
        self, config: ServerConfig, tree: dict[str, SiteNode], site_ids: dict[str, int]
    ) -> AlertEngine:
        """An engine over a reloaded configuration that keeps this one's memory (what was forwarded
        when, confined failures); raises ValueError, as at start, for an unknown site code."""
        return AlertEngine(
            config, self.sessions, tree, site_ids, self.signer, self._fed, self.confined, self.site_links
        )

    # -- evaluation --------------------------------------------------------------------------------

    def evaluate(self, now: dt.datetime | None = None) -> EvalResult:
        now = now or dt.datetime.now(dt.UTC)
        res = EvalResult()
        with self.sessions.begin() as session:
            open_alerts = {a.key: a for a in session.scalars(select(Alert).where(Alert.state.in_(OPEN)))}
            conditions = collect_conditions(
                session,
                self.cfg,
                self.book,
                self.tree,
                self.site_codes,
                now,
                self.confined,
                held=outage.held_members(open_alerts.values()),
                link_up=outage.line_view(open_alerts.values(), self.site_links.reachable(now)),
            )
            res.conditions = len(conditions)
            windows = self.windows + maintenance.from_store(session)
            for c in conditions:
                if c.site_code not in self.site_ids:
                    continue
                try:
                    self._apply(session, c, open_alerts, now, res)
                except Exception:  # one odd condition never stops the others
                    self.confined["condition"] += 1
                    log.exception("alert evaluation skipped condition %s", c.key)
            for alert in open_alerts.values():  # conditions no longer true
                if self._clear(session, alert, now):
                    res.resolved += 1
                    res.notifications += self._notify_resolved(session, alert, now)
            session.flush()
            for alert in session.scalars(select(Alert).where(Alert.state.in_(("firing", "acknowledged")))):
                res.notifications += self._route(session, alert, windows, now, res)
            res.notifications += self._forward(session, now)
        return res

    def _apply(
        self, session: Session, c: Condition, open_alerts: dict[str, Alert], now: dt.datetime, res: EvalResult
    ) -> None:
        """Open or update the alert of one condition; pending → firing once it held its `for` time."""
        alert = open_alerts.pop(c.key, None)
        if alert is None:
            alert = self._open(session, c, now)
            res.opened += 1
        else:
            self._update(session, alert, c, now)
        s = self.book.get(c.rule, c.site_code)
        held = (now - alert.started_at).total_seconds() >= s.for_s
        if alert.state == "pending" and (held or c.confirmed):
            alert.firing_at = now
            why = (
                "điều kiện kéo dài / condition held"
                if held
                else "thiết bị tự báo (trap) / reported by the device (trap)"
            )
            transition(session, alert, "firing", now, why)
            res.fired += 1

    def _open(self, session: Session, c: Condition, now: dt.datetime) -> Alert:
        s = self.book.get(c.rule, c.site_code)
        alert = Alert(
            key=c.key,
            rule=c.rule,
            severity=s.severity,
            subject_type=c.subject_type,
            subject_id=c.subject_id[:255],
            subject_name=c.subject_name[:255],
            site_id=self.site_ids[c.site_code],
            state="pending",
            started_at=now,
            since=c.since,
            flap_count=0,
            escalation_level=0,
            silenced=False,
            value=c.value,
            summary="",
            data=dict(c.data),
        )
        self._describe(alert, c)
        session.add(alert)
        session.flush()
        record_event(
            session,
            kind="alert.state",
            subject_type="alert",
            subject_id=str(alert.id),
            site_id=alert.site_id,
            from_state=None,
            to_state="pending",
            at=now,
            message=f"Cảnh báo #{alert.id} mới / new: {alert.summary}",
            data={"rule": alert.rule, "key": alert.key},
        )
        return alert

    def _describe(self, alert: Alert, c: Condition) -> None:
        node = self.tree[c.site_code]
        local = c.since.astimezone(self.tz)
        values: dict[str, Any] = {
            "site": node.config.name,
            "subject": c.subject_name,
            "since": local.strftime("%H:%M %d/%m"),
            "value": c.value if c.value is not None else 0.0,
            "threshold": c.threshold if c.threshold is not None else 0.0,
            "hosts": c.data.get("hosts", 0),
            "devices": c.data.get("devices", 0),
            **templates.behind_values(c.data.get("affected")),
        }
        vi, en = templates.summary(c.rule, values)
        alert.summary = vi
        data = dict(alert.data or {})
        data.update(c.data)
        data["summary_en"] = en
        data["threshold"] = c.threshold
        alert.data = data
        alert.value = c.value

    def _update(self, session: Session, alert: Alert, c: Condition, now: dt.datetime) -> None:
        if alert.cleared_at is not None:  # back before clear_for_s: a flap, not a new alert
            alert.cleared_at = None
            alert.flap_count += 1
            alert.data = {k: v for k, v in (alert.data or {}).items() if k != "reconnecting"}
            record_event(
                session,
                kind="alert.flap",
                subject_type="alert",
                subject_id=str(alert.id),
                site_id=alert.site_id,
                at=now,
                message=f"Cảnh báo #{alert.id} chập chờn lần {alert.flap_count} / flapping "
                f"({alert.flap_count}): {alert.subject_name}",
                data={"flap_count": alert.flap_count},
            )
        self._describe(
            alert,
            Condition(
                c.rule,
                c.subject_type,
                c.subject_id,
                c.subject_name,
                c.site_code,
                alert.since,
                c.value,
                c.threshold,
                c.data,
            ),
        )

    def _clear(self, session: Session, alert: Alert, now: dt.datetime) -> bool:
        """The condition is gone: resolve (after clear_for_s once fired). True when resolved."""
        if alert.state == "pending":
            alert.resolved_at = now
            transition(session, alert, "resolved", now, "hết trước khi cảnh báo / cleared before firing")
            return False  # never told anyone: nothing to send
        if alert.cleared_at is None:
            alert.cleared_at = now
        # A site outage's members still reconnecting keep it open (and are listed) from the first moment.
        waiting = outage.waiting_for_members(session, alert, now, self.cfg.reconnect_window)
        if waiting or (now - alert.cleared_at).total_seconds() < self.cfg.clear_for_s:
            return False
        alert.resolved_at = now
        transition(session, alert, "resolved", now, "điều kiện đã hết / condition cleared")
        return True

    # -- notifications -----------------------------------------------------------------------------

    def _silenced(self, alert: Alert, windows: list[maintenance.Window], now: dt.datetime) -> bool:
        path = self.tree[self.site_codes[alert.site_id]].path
        return any(w.covers(path, alert.rule) and w.active(now, self.tz) for w in windows)

    def _message(
        self, alert: Alert, kind: str, style: str, recipient: str, recipient_site: str | None
    ) -> templates.Message:
        code = self.site_codes[alert.site_id]
        data = alert.data or {}
        ack = None
        if kind != "resolved":
            ack = f"{self.base_url}/api/v1/alerts/ack?token={self.signer.sign(alert.id, recipient)}"
        affected = data.get("affected") or {}
        return templates.render(
            kind=kind,
            rule=alert.rule,
            summary_vi=alert.summary,
            summary_en=str(data.get("summary_en", alert.summary)),
            severity=alert.severity,
            site_path=self.tree[code].path,
            flaps=alert.flap_count,
            affected=len(affected.get("hosts", [])) + len(affected.get("devices", [])),
            ack_url=ack,
            style=style,
            recipient_site=self.tree[recipient_site].config.name if recipient_site else None,
            missing=[str(m) for m in data.get("missing") or []] if kind == "resolved" else None,
        )

    def _style(self, channel: str) -> Style:
        """How a notification on an outbox channel is written (the channel's own choice)."""
        plugin = plugin_of(channel)
        if plugin is None:
            return "vi_en"
        return plugin.style(plugin.config_of(self.cfg, channel))

    def _payload(self, alert: Alert, kind: str, now: dt.datetime, ack_url: str | None) -> dict[str, Any]:
        code = self.site_codes[alert.site_id]
        data = alert.data or {}
        return {
            "kind": kind,
            "alert": {
                "id": alert.id,
                "rule": alert.rule,
                "state": alert.state,
                "severity": alert.severity,
                "site": code,
                "site_path": self.tree[code].path,
                "subject_type": alert.subject_type,
                "subject_id": alert.subject_id,
                "subject_name": alert.subject_name,
                "since": alert.since.isoformat(),
                "flap_count": alert.flap_count,
                "value": alert.value,
                "affected": data.get("affected"),
                "missing": data.get("missing"),
            },
            "summary": {
                "vi": alert.summary,
                "vi_ascii": templates.ascii_vi(alert.summary),
                "en": data.get("summary_en"),
            },
            "check_first": {
                "vi": templates.alert_texts(alert.rule, data).check_vi,
                "en": templates.alert_texts(alert.rule, data).check_en,
            },
            "ack_url": ack_url,
            "at": now.isoformat(),
        }

    def _send(self, session: Session, alert: Alert, kind: str, level: int, now: dt.datetime) -> int:
        """Queue `kind` messages to the contacts of escalation `level` (+ webhooks and other fixed
        addresses at level 0)."""
        code = self.site_codes[alert.site_id]
        rcpts = routing.recipients(code, level, self.cfg, self.tree)
        if level == 0:
            rcpts = rcpts + routing.subscribers(code, self.cfg, self.tree)
        data = dict(alert.data or {})
        told: list[list[Any]] = list(data.get("told", []))
        for r in rcpts:
            ack = None
            if self._style(r.channel) == "json":  # one link for the machine (a message signs per person)
                ack = f"{self.base_url}/api/v1/alerts/ack?token={self.signer.sign(alert.id, r.channel)}"
            self._enqueue(session, alert, kind, r.channel, r.address, r.site_code, r.site_code, ack, now)
            told.append([r.channel, r.address, r.site_code])
        data["told"] = told
        alert.data = data
        return len(rcpts)

    def _enqueue(
        self,
        session: Session,
        alert: Alert,
        kind: str,
        channel: str,
        address: str,
        site_code: str | None,
        message_site: str | None,
        ack: str | None,
        now: dt.datetime,
    ) -> None:
        """One outbox message: JSON for machine channels such as webhooks (the summary, no per-person
        text), a Vietnamese/English message in the channel's style for people (`message_site` names the
        site in it)."""
        payload: dict[str, Any] | None = None
        site_id: int | None = None
        style = self._style(channel)
        if style == "json":
            payload = self._payload(alert, kind, now, ack)
            subject = body = alert.summary
        else:
            msg = self._message(alert, kind, style, address, message_site)
            subject, body, site_id = msg.subject, msg.body, self.site_ids.get(site_code or "")
        enqueue(
            session,
            alert_id=alert.id,
            channel=channel,
            recipient=address,
            kind=kind,
            subject=subject,
            body=body,
            payload=payload,
            now=now,
            recipient_site_id=site_id,
        )

    def _route(
        self,
        session: Session,
        alert: Alert,
        windows: list[maintenance.Window],
        now: dt.datetime,
        res: EvalResult,
    ) -> int:
        silenced = self._silenced(alert, windows, now)
        if silenced != alert.silenced:
            alert.silenced = silenced
            record_event(
                session,
                kind="alert.silenced" if silenced else "alert.unsilenced",
                subject_type="alert",
                subject_id=str(alert.id),
                site_id=alert.site_id,
                at=now,
                message=f"Cảnh báo #{alert.id}: {'trong' if silenced else 'hết'} thời gian bảo trì / "
                f"maintenance window {'began' if silenced else 'ended'}",
            )
        if silenced:
            return 0
        if alert.notified_at is None:
            alert.notified_at = now
            return self._send(session, alert, "firing", 0, now)
        if alert.state != "firing" or alert.escalation_level >= self.cfg.max_escalations:
            return 0
        last = alert.escalated_at or alert.notified_at
        if (now - last).total_seconds() < self.cfg.escalate_after_s:
            return 0
        level = alert.escalation_level + 1
        code = self.site_codes[alert.site_id]
        if not routing.recipients(code, level, self.cfg, self.tree):
            return 0
        alert.escalation_level, alert.escalated_at = level, now
        target = routing.contact_sites(code, self.tree)[level]
        record_event(
            session,
            kind="alert.escalated",
            subject_type="alert",
            subject_id=str(alert.id),
            site_id=alert.site_id,
            at=now,
            data={"level": level, "to_site": target},
            message=f"Cảnh báo #{alert.id} chưa được xác nhận sau {int(self.cfg.escalate_after_s)} s: chuyển "
            f"tới {self.tree[target].config.name} / escalated to {target}",
        )
        res.escalated += 1
        return self._send(session, alert, "escalation", level, now)

    def _notify_resolved(self, session: Session, alert: Alert, now: dt.datetime) -> int:
        """One recovery message to everyone told about the alert."""
        data = alert.data or {}
        seen: set[tuple[str, str]] = set()
        n = 0
        for channel, address, site_code in data.get("told", []):
            if (channel, address) in seen:
                continue
            seen.add((channel, address))
            self._enqueue(session, alert, "resolved", channel, address, site_code, None, None, now)
            n += 1
        return n

    # -- feeds (Alertmanager) ---------------------------------------------------------------------

    def _feed_item(self, alert: Alert) -> FeedItem:
        code = self.site_codes[alert.site_id]
        url = f"{self.base_url}/api/v1/alerts/{alert.id}"
        return FeedItem(alert, code, self.tree[code].path, url)

    def _forward(self, session: Session, now: dt.datetime) -> int:
        """One batch per enabled feed channel: its live alerts not sent for `resend_s`, and those
        resolved since the last batch."""
        feeds = [
            (plugin.feed, e)
            for plugin in CHANNELS.values()
            if plugin.feed is not None
            for e in plugin.endpoints(self.cfg)
            if e.enabled
        ]
        if not feeds:
            return 0
        live = session.scalars(select(Alert).where(Alert.state.in_(("firing", "acknowledged")))).all()
        live_ids = {a.id for a in live}
        queued = 0
        for feed, e in feeds:
            sent = self._fed.setdefault(e.channel, {})
            items = []
            due = now - dt.timedelta(seconds=feed.resend_s(e.config))
            for a in live:
                if a.silenced:
                    continue
                last = sent.get(a.id)
                if last is None or last <= due:
                    items.append(feed.item(e.config, self._feed_item(a), now))
                    sent[a.id] = now
            for alert_id in [i for i in sent if i not in live_ids]:
                gone = session.get(Alert, alert_id)
                if gone is not None and gone.state == "resolved":
                    items.append(feed.item(e.config, self._feed_item(gone), now))
                del sent[alert_id]
            if not items:
                continue
            enqueue(
                session,
                alert_id=None,
                channel=e.channel,
                recipient=e.address,
                kind="refresh",
                subject=f"{len(items)} alerts",
                body="",
                payload=items,
                now=now,
            )
            queued += 1
        return queued
