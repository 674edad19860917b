"""Forwarding to Debian's Alertmanager: site labels, and endsAt once resolved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.collector.alerting.conftest import Store, cut_off_a, dispatcher, wait_until
from tests.harness.notify import Alertmanager

S = dt.timedelta(seconds=1)


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
