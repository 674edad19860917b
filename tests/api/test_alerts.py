"""Alerts and silences through the HTTP API: role scoping, acknowledgement by API and by signed link
(expired or altered links refused), silence CRUD. Alerts are raised by the real engine over the store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from canhgac_collector.alerting.links import LinkSigner
from canhgac_collector.alerting.service import AlertService
from canhgac_collector.store.models import Host
from tests.api.conftest import Api
from tests.collector.alerting.conftest import devices, province


def _api(make_api: Callable[..., Api], tmp_path: Path) -> Api:
    return make_api(
        sites=province(),
        devices=devices(),
        snmp={"enabled": False, "secrets_key_file": str(tmp_path / "secrets.key")},
        alerting={"enabled": False, "rules": {"host_down": {"for_s": 0}}, "public_url": "https://cg.example"},
    )


def _raise(api: Api, *hosts: tuple[str, str]) -> dict[str, int]:
    """Hosts down in the store, one engine evaluation; returns alert ids by host."""
    sessions = api.sessions
    now = dt.datetime.now(dt.UTC)
    # Each commune also has a PC that still reports, so no site is wholly cut off (no grouping).
    states = [(h, site, "down") for h, site in hosts] + [(f"ok-{c}", c, "up") for c in ("XA-A", "XA-B")]
    with sessions.begin() as session:
        for host_id, site, state in states:
            session.add(
                Host(
                    id=host_id,
                    machine_id=f"m-{host_id}",
                    hostname=host_id,
                    site_id=_svc(api).engine.site_ids[site],
                    state=state,
                    state_changed_at=now,
                    enrolled_at=now,
                    last_report_at=now - dt.timedelta(minutes=20 if state == "down" else 0),
                    last_seq=0,
                    reports_total=0,
                )
            )
    _svc(api).engine.evaluate(now)
    admin = api.token("admin")
    return {a["subject_id"]: a["id"] for a in api.get("/api/v1/alerts", admin).json()["alerts"]}


def _svc(api: Api) -> AlertService:
    svc: AlertService = api.client.app.state.alerting  # type: ignore[attr-defined]
    return svc


@pytest.fixture
def api(make_api: Callable[..., Api], tmp_path: Path) -> Api:
    return _api(make_api, tmp_path)


def test_list_and_filter_are_scoped_by_role(api: Api) -> None:
    ids = _raise(api, ("pc-a", "XA-A"), ("pc-b", "XA-B"))
    officer_a, operator = api.token("officer", "XA-A"), api.token("operator")
    assert [a["subject_id"] for a in api.get("/api/v1/alerts", officer_a).json()["alerts"]] == ["pc-a"]
    assert api.get("/api/v1/alerts", operator).json()["total"] == 2
    d1 = api.get("/api/v1/alerts", operator, site="D1").json()["alerts"]
    assert [a["subject_id"] for a in d1] == ["pc-a"]  # subtree of the district
    assert api.get("/api/v1/alerts", operator, state="resolved").json()["total"] == 0
    assert api.get("/api/v1/alerts", operator, state="firing").json()["total"] == 2
    assert api.get("/api/v1/alerts", officer_a, site="XA-B").status_code == 404
    assert api.get(f"/api/v1/alerts/{ids['pc-b']}", officer_a).status_code == 404
    one = api.get(f"/api/v1/alerts/{ids['pc-a']}", officer_a).json()
    assert one["summary"].startswith("Máy pc-a (Xã A) không gửi báo cáo từ")
    assert one["summary_en"].startswith("Host pc-a (Xã A) has not reported since")
    assert api.get("/api/v1/alerts", "nope").status_code == 401


def test_acknowledge_with_comment_scoped(api: Api) -> None:
    ids = _raise(api, ("pc-a", "XA-A"), ("pc-b", "XA-B"))
    officer_a, operator = api.token("officer", "XA-A"), api.token("operator")
    r = api.client.post(f"/api/v1/alerts/{ids['pc-b']}/ack", json={}, headers=api.auth(officer_a))
    assert r.status_code == 404  # another commune's alert looks absent
    r = api.client.post(f"/api/v1/alerts/{ids['pc-a']}/ack", json={}, headers=api.auth(operator))
    assert r.status_code == 403  # operators watch, officers and admins acknowledge
    r = api.client.post(
        f"/api/v1/alerts/{ids['pc-a']}/ack", json={"comment": "Đã gọi nhà mạng"}, headers=api.auth(officer_a)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["ack_comment"]) == ("acknowledged", "Đã gọi nhà mạng")
    events = api.get("/api/v1/events", officer_a, kind="alert.state", subject_id=str(ids["pc-a"])).json()
    assert events["events"][0]["to_state"] == "acknowledged"
    r = api.client.post(f"/api/v1/alerts/{ids['pc-a']}/ack", json={"bogus": 1}, headers=api.auth(officer_a))
    assert r.status_code == 422


def _link_token(api: Api, alert_id: int, ttl: float = 3600, now: float | None = None) -> str:
    signer: LinkSigner = _svc(api).signer
    return LinkSigner(signer._key, ttl).sign(alert_id, "can-bo-xa-a@example.gov.vn", now)


def test_signed_link_acknowledges_expired_or_altered_is_refused(api: Api) -> None:
    ids = _raise(api, ("pc-a", "XA-A"))
    good = _link_token(api, ids["pc-a"])
    page = api.client.get("/api/v1/alerts/ack", params={"token": good})
    assert page.status_code == 200
    assert "Máy pc-a" in page.text
    assert "method='post'" in page.text
    admin = api.token("admin")
    assert api.get(f"/api/v1/alerts/{ids['pc-a']}", admin).json()["state"] == "firing"  # GET changed nothing

    expired = _link_token(api, ids["pc-a"], ttl=10, now=time.time() - 60)
    other = _link_token(api, ids["pc-a"] + 1)
    parts = good.split(".")
    altered = ".".join([parts[0], str(ids["pc-a"] + 1), *parts[2:]])  # someone else's alert, same MAC
    for bad, kind in (
        (expired, "expired"),
        (altered, "invalid"),
        ("v1.x", "invalid"),
        (good + "x", "invalid"),
    ):
        for r in (
            api.client.get("/api/v1/alerts/ack", params={"token": bad}),
            api.client.post("/api/v1/alerts/ack", data={"token": bad}),
        ):
            assert r.status_code == 403, (bad, r.text)
            assert r.json()["type"].endswith(f"ack-link-{kind}")
    assert api.client.post("/api/v1/alerts/ack", data={"token": other}).status_code == 409  # no such alert
    r = api.client.post("/api/v1/alerts/ack", data={"token": good, "comment": "Đang xử lý"})
    assert r.status_code == 200, r.text
    alert = api.get(f"/api/v1/alerts/{ids['pc-a']}", admin).json()
    assert (alert["state"], alert["ack_comment"]) == ("acknowledged", "Đang xử lý")
    assert alert["acknowledged_by"] == "link:can-bo-xa-a@example.gov.vn"


def _silence(**over: Any) -> dict[str, Any]:
    weekend = {"kind": "weekly", "days": [5, 6], "start": "00:00", "end": "23:59"}
    return {"name": "Cắt điện theo lịch", "site": "XA-A", "window": weekend} | over


def test_silences_crud_scoped(api: Api) -> None:
    officer_a, officer_b, operator = (
        api.token("officer", "XA-A"),
        api.token("officer", "XA-B"),
        api.token("operator"),
    )
    r = api.client.post("/api/v1/silences", json=_silence(), headers=api.auth(officer_b))
    assert r.status_code == 404
    r = api.client.post("/api/v1/silences", json=_silence(), headers=api.auth(operator))
    assert r.status_code == 403
    r = api.client.post(
        "/api/v1/silences",
        json=_silence(name="Tết", window={"kind": "dates", "ranges": [{"start": "2027-02-05", "days": 7}]}),
        headers=api.auth(officer_a),
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["kind"] == "dates"
    assert r.json()["dates"] == [{"start": "2027-02-05", "end": "2027-02-11"}]
    r = api.client.post(
        "/api/v1/silences",
        json=_silence(name="Giao thừa", window={"kind": "yearly", "month": 12, "day": 31, "days": 2}),
        headers=api.auth(officer_a),
    )
    assert r.json()["dates"] == [{"start": "12-31", "end": "01-01"}]
    api.client.delete(f"/api/v1/silences/{r.json()['id']}", headers=api.auth(officer_a))
    bad = api.client.post(
        "/api/v1/silences",
        json=_silence(window={"kind": "weekly", "days": [7], "start": "25:00", "end": "x"}),
        headers=api.auth(officer_a),
    )
    assert bad.status_code == 422
    assert "window.weekly.days.0" in bad.text
    assert [s["id"] for s in api.get("/api/v1/silences", operator).json()["silences"]] == [sid]
    assert api.get("/api/v1/silences", officer_b).json()["silences"] == []
    assert api.client.delete(f"/api/v1/silences/{sid}", headers=api.auth(officer_b)).status_code == 404
    assert api.client.delete(f"/api/v1/silences/{sid}", headers=api.auth(officer_a)).status_code == 204
    assert api.get("/api/v1/silences", operator).json()["silences"] == []


def test_api_silence_suppresses_notifications(api: Api) -> None:
    officer_a = api.token("officer", "XA-A")
    now = dt.datetime.now(dt.UTC)
    start = (now - dt.timedelta(hours=1)).isoformat()
    body = _silence(window={"kind": "once", "starts_at": start, "duration_s": 7200})
    assert api.client.post("/api/v1/silences", json=body, headers=api.auth(officer_a)).status_code == 201
    ids = _raise(api, ("pc-a", "XA-A"), ("pc-b", "XA-B"))
    admin = api.token("admin")
    silenced = {a["subject_id"]: a["silenced"] for a in api.get("/api/v1/alerts", admin).json()["alerts"]}
    assert silenced == {"pc-a": True, "pc-b": False}
    assert set(ids) == {"pc-a", "pc-b"}


def test_channel_health_listed(api: Api) -> None:
    r = api.get("/api/v1/alerts/channels", api.token("operator"))
    assert r.status_code == 200
    assert r.json() == {"channels": []}


def test_a_site_outage_lists_the_pcs_still_reconnecting(api: Api) -> None:
    now = dt.datetime.now(dt.UTC)
    engine = _svc(api).engine
    with api.sessions.begin() as session:
        for host_id in ("pc-a1", "pc-a2"):
            session.add(
                Host(
                    id=host_id,
                    machine_id=f"m-{host_id}",
                    hostname=host_id,
                    site_id=engine.site_ids["XA-A"],
                    state="down",
                    state_changed_at=now,
                    enrolled_at=now,
                    last_report_at=now - dt.timedelta(minutes=20),
                    last_seq=0,
                    reports_total=0,
                )
            )
    engine.evaluate(now)
    with api.sessions.begin() as session:
        back = session.get(Host, "pc-a1")
        assert back is not None
        back.state, back.last_report_at = "up", now  # the first PC of the commune reports again
    engine.evaluate(now + dt.timedelta(seconds=10))
    officer = api.token("officer", "XA-A")
    [site] = api.get("/api/v1/alerts", officer).json()["alerts"]
    assert (site["rule"], site["state"]) == ("site_unreachable", "firing")
    assert site["reconnecting"] == ["pc-a2"]
    assert site["missing"] is None
