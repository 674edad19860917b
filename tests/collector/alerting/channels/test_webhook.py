"""Webhooks against a local HTTP receiver: signed JSON, and an unreachable one retried and shown as down."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable

import orjson

from tests.collector.alerting.conftest import T0, Store, cut_off_a, dispatcher
from tests.harness.notify import HttpReceiver

S = dt.timedelta(seconds=1)


def test_webhook_receives_signed_json_beside_telegram(
    make_store: Callable[..., Store], receiver: HttpReceiver
) -> None:
    """A webhook and Telegram in one pass; Telegram's side is in test_telegram.py."""
    store = make_store(
        smtp={"enabled": False},
        telegram={"enabled": True, "base_url": receiver.url, "bot_token": "123:ABC", "text": "vi_ascii"},
        webhooks=[{"name": "soc", "url": f"{receiver.url}/hook", "site": "D1", "secret": "webhook-secret"}],
    )
    cut_off_a(store, T0)
    store.engine.evaluate(T0 + S)
    assert dispatcher(store).send_due(T0 + 2 * S) == 2
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
