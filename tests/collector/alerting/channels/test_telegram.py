"""Telegram against a local HTTP server standing in for api.telegram.org (the Bot API base URL is
configurable)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.collector.alerting.conftest import T0, Store, cut_off_a, dispatcher
from tests.harness.notify import HttpReceiver

S = dt.timedelta(seconds=1)


def test_telegram_receives_its_message_beside_a_webhook(
    make_store: Callable[..., Store], receiver: HttpReceiver
) -> None:
    """Telegram and a webhook in one pass; the webhook's side is in test_webhook.py."""
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


def test_unreachable_bot_api_is_retried_and_its_error_hides_the_token(
    make_store: Callable[..., Store],
) -> None:
    from tests.harness.postgres import free_port

    store = make_store(
        smtp={"enabled": False},
        telegram={"enabled": True, "base_url": f"http://127.0.0.1:{free_port()}", "bot_token": "123:ABC"},
    )
    cut_off_a(store, T0)
    store.engine.evaluate(T0 + S)
    d = dispatcher(store)
    assert d.send_due(T0 + 2 * S) == 0
    assert d.health["telegram"].up is False
    assert "/bot***/sendMessage" in (d.health["telegram"].last_error or "")
    assert "123:ABC" not in (d.health["telegram"].last_error or "")
    assert d.pending == {"telegram": 1}
