"""Channels against real receivers: aiosmtpd (stopped and restarted on the same port), a local HTTP server
standing in for a webhook and for api.telegram.org, and Debian's Alertmanager."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable

import orjson
from sqlalchemy import select

from canhgac_collector.store.models import Notification
from tests.collector.alerting.conftest import OFFICER_A, OFFICER_B, T0, Store, dispatcher, poll, wait_until
from tests.harness.notify import Alertmanager, HttpReceiver, SmtpServer

S = dt.timedelta(seconds=1)


def cut_off_a(store: Store, at: dt.datetime) -> None:
    for site in ("XA-A", "XA-B"):
        store.host(f"{site.lower()}-pc1", site, "up", at)
    store.host("xa-a-pc1", "XA-A", "down", at)
    store.host("xa-a-pc2", "XA-A", "down", at)
    store.polls(poll("sw-xa-a", "down", at), poll("sw-xa-b", "up", at))


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


def test_webhook_and_telegram_receive_theirs(
    make_store: Callable[..., Store], receiver: HttpReceiver
) -> None:
    store = make_store(
        smtp={"enabled": False},
        telegram={"enabled": True, "base_url": receiver.url, "bot_token": "123:ABC", "text": "vi_ascii"},
        webhooks=[{"name": "soc", "url": f"{receiver.url}/hook", "site": "D1", "secret": "webhook-secret"}],
    )
    cut_off_a(store, T0)
    store.engine.evaluate(T0 + S)
    assert dispatcher(store).send_due(T0 + 2 * S) == 2
    [tg] = receiver.posts("/bot123:ABC/sendMessage")
    assert tg.body["chat_id"] == "1001"
    assert tg.body["text"].startswith("[Canh Gac] CANH BAO: Xa A mat ket noi toi Trung tam du lieu tinh")
    [hook] = receiver.posts("/hook")
    assert hook.body["kind"] == "firing"
    assert (hook.body["alert"]["rule"], hook.body["alert"]["site"]) == ("site_unreachable", "XA-A")
    assert hook.body["alert"]["site_path"] == "/P/D1/XA-A/"
    assert hook.body["summary"]["en"].startswith("Xã A lost its connection")
    assert hook.body["ack_url"].startswith("http://127.0.0.1:8080/api/v1/alerts/ack?token=v1.")
    mac = hmac.new(b"webhook-secret", orjson.dumps(hook.body), hashlib.sha256).hexdigest()
    assert hook.headers["X-Canhgac-Signature"] == f"sha256={mac}"


def test_unreachable_webhook_is_retried_and_shown_as_down(make_store: Callable[..., Store]) -> None:
    from tests.harness.postgres import free_port

    store = make_store(
        smtp={"enabled": False},
        webhooks=[{"name": "soc", "url": f"http://127.0.0.1:{free_port()}/x", "timeout_s": 1}],
    )
    cut_off_a(store, T0)
    store.engine.evaluate(T0 + S)
    d = dispatcher(store)
    assert d.send_due(T0 + 2 * S) == 0
    assert d.health["webhook:soc"].up is False
    assert d.pending == {"webhook:soc": 1}


def test_alertmanager_receives_alerts_with_site_labels(
    make_store: Callable[..., Store], alertmanager: Alertmanager
) -> None:
    store = make_store(
        smtp={"enabled": False}, clear_for_s=0, alertmanager={"enabled": True, "url": alertmanager.url}
    )
    t = dt.datetime.now(dt.UTC)
    cut_off_a(store, t)
    store.host("xa-b-pc1", "XA-B", "down", t)
    store.engine.evaluate(t)
    assert dispatcher(store).send_due(t + S) == 1

    def mine() -> list[dict[str, object]]:
        return [a for a in alertmanager.alerts() if a["labels"].get("site") in ("XA-A", "XA-B")]  # type: ignore[index, union-attr]

    assert wait_until(lambda: len(mine()) == 2)
    got = {a["labels"]["alertname"]: a for a in mine()}  # type: ignore[index]
    assert got["site_unreachable"]["labels"]["site_path"] == "/P/D1/XA-A/"  # type: ignore[index]
    assert got["host_down"]["labels"]["site"] == "XA-B"  # type: ignore[index]
    assert got["site_unreachable"]["annotations"]["summary"].startswith("Xã A mất kết nối")  # type: ignore[index]
    # resolving sends endsAt: Alertmanager stops listing it as active
    now = dt.datetime.now(dt.UTC)  # Alertmanager compares endsAt with its own clock
    store.host("xa-b-pc1", "XA-B", "up", now)
    store.engine.evaluate(now)
    assert dispatcher(store).send_due(now + S) == 1
    assert wait_until(
        lambda: (
            [a["labels"]["alertname"] for a in mine() if a["status"]["state"] == "active"]
            == ["site_unreachable"]
        )
    )  # type: ignore[index]
