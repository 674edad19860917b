"""The e-mail channel against a real SMTP server (aiosmtpd, stopped and restarted on the same port)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from canhgac_collector.store.models import Notification
from tests.collector.alerting.conftest import OFFICER_A, OFFICER_B, T0, Store, cut_off_a, dispatcher
from tests.harness.notify import SmtpServer

S = dt.timedelta(seconds=1)


def test_down_smtp_server_delays_never_loses_and_delivers_once(
    make_store: Callable[..., Store], smtp: SmtpServer
) -> None:
    store = make_store(
        smtp={"enabled": True, "port": smtp.port, "sender": "canhgac@example.gov.vn", "timeout_s": 2}
    )
    d = dispatcher(store)
    smtp.stop()  # the mail server is down when the alert fires
    cut_off_a(store, T0)
    now = T0 + 2 * S
    store.engine.evaluate(T0 + S)
    assert d.send_due(now) == 0
    assert d.health["smtp"].up is False
    assert "smtp 127.0.0.1" in (d.health["smtp"].last_error or "")
    assert d.pending == {"smtp": 1}
    with store.sessions() as session:
        [n] = session.scalars(select(Notification)).all()
    assert (n.state, n.attempts) == ("pending", 1)
    assert n.next_attempt_at > now  # backed off
    assert d.send_due(now) == 0  # not due yet: no retry storm
    smtp.start()  # same port
    assert d.send_due(n.next_attempt_at + S) == 1
    assert d.send_due(n.next_attempt_at + 100 * S) == 0
    [mail] = smtp.wait_for(OFFICER_A, 1)
    assert mail.subject.startswith("[Canh Gác] CẢNH BÁO: Xã A mất kết nối")
    assert "2 máy, 1 switch" in mail.body
    assert smtp.to(OFFICER_B) == []
    assert len(smtp.mails) == 1
    assert d.health["smtp"].up is True
    assert d.pending == {}
