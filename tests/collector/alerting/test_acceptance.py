"""Issue 6 acceptance, whole system in one process: the real API app (ingest, host-state loop, alert
loops) with reports pushed through HTTP, switch polls written as the poller writes them, and a real
SMTP server. Two communes; one is cut off: one message to its officer only, one recovery message."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from canhgac_collector.devices.store import record_polls
from tests.api.conftest import Api
from tests.collector.alerting.conftest import (
    DISTRICT,
    OFFICER_A,
    OFFICER_B,
    PROVINCE,
    devices,
    poll,
    province,
)
from tests.harness.notify import SmtpServer
from tests.harness.reports import make_report


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # the whole-system run on SQLite; the engine tests cover PostgreSQL
    return f"sqlite:///{tmp_path / 'canhgac.sqlite'}"


class Province:
    """Agents and switches of both communes, driven from the test."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.agents: dict[str, list[dict[str, Any]]] = {}
        self.seq: dict[str, int] = {}
        self.sessions = api.sessions
        for site, key in (("XA-A", "commune-a-key-0123456789"), ("XA-B", "commune-b-key-0123456789")):
            self.agents[site] = [api.enroll(key, f"m-{site}-{i}", f"{site.lower()}-pc{i}") for i in (1, 2)]

    def report(self, site: str) -> None:
        for i, agent in enumerate(self.agents[site], 1):
            aid = agent["agent_id"]
            self.seq[aid] = self.seq.get(aid, 0) + 1
            r = self.api.push(
                agent["token"],
                [
                    make_report(
                        aid, self.seq[aid], hostname=f"{site.lower()}-pc{i}", machine_id=f"m-{site}-{i}"
                    )
                ],
            )
            assert r.status_code == 200, r.text

    def switch(self, site: str, state: str) -> None:
        with self.sessions.begin() as session:
            record_polls(session, [poll(f"sw-{site.lower()}", state, dt.datetime.now(dt.UTC))])

    def run(self, seconds: float, alive: tuple[str, ...], until: Callable[[], bool] | None = None) -> None:
        """Communes in `alive` keep reporting and answering; the others are silent."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for site in alive:
                self.report(site)
                self.switch(site, "up")
            if until is not None and until():
                return
            time.sleep(0.3)


def test_cut_off_commune_alerts_its_officer_once_and_recovers_once(
    make_api: Callable[..., Api], smtp: SmtpServer, tmp_path: Path
) -> None:
    api = make_api(
        sites=province(),
        devices=devices(),
        snmp={"enabled": False, "secrets_key_file": str(tmp_path / "secrets.key")},
        host_state={"stale_after_s": 0.6, "down_after_s": 1.2, "check_interval_s": 0.2},
        alerting={
            "evaluate_interval_s": 0.2,
            "clear_for_s": 0.5,
            "escalate_after_s": 1.5,
            "max_escalations": 2,
            "retry_initial_s": 0.2,
            "rules": {"host_down": {"for_s": 1.0}, "device_down": {"for_s": 1.0}},
            "public_url": "https://canhgac.example.gov.vn",
            "smtp": {"enabled": True, "port": smtp.port, "sender": "canhgac@example.gov.vn"},
        },
    )
    p = Province(api)
    p.run(1.0, alive=("XA-A", "XA-B"))
    assert smtp.mails == []
    started = time.monotonic()
    p.switch("XA-A", "down")  # commune A's uplink fails: its agents stop, its switch stops answering
    p.run(10, alive=("XA-B",), until=lambda: bool(smtp.to(OFFICER_A)))
    took = time.monotonic() - started
    [mail] = smtp.to(OFFICER_A)
    assert mail.subject.startswith("[Canh Gác] CẢNH BÁO: Xã A mất kết nối tới Trung tâm dữ liệu tỉnh từ ")
    assert "2 máy, 1 switch không liên lạc được" in mail.subject
    assert "Kiểm tra trước:" in mail.body
    print(f"cut-off → officer's mailbox: {took:.1f} s")

    # Nobody acknowledges: after escalate_after_s the district (XA-A's parent) is told.
    p.run(6, alive=("XA-B",), until=lambda: bool(smtp.to(DISTRICT)))
    [esc] = smtp.to(DISTRICT)
    assert esc.subject.startswith("[Canh Gác] CHUYỂN CẤP: Xã A mất kết nối")
    assert "chuyển tới Huyện Một" in esc.body
    # The officer acknowledges through the signed link in the e-mail: no escalation to the province.
    link = next(w for w in mail.body.split() if "/api/v1/alerts/ack?token=" in w)
    token = link.split("token=", 1)[1]
    assert link.startswith("https://canhgac.example.gov.vn/api/v1/alerts/ack?token=")
    assert api.client.get("/api/v1/alerts/ack", params={"token": token}).status_code == 200
    r = api.client.post("/api/v1/alerts/ack", data={"token": token, "comment": "Đã gọi nhà mạng"})
    assert r.status_code == 200, r.text
    p.run(3.5, alive=("XA-B",))  # longer than another escalate_after_s
    assert smtp.to(PROVINCE) == []
    assert len(smtp.to(OFFICER_A)) == 1
    assert smtp.to(OFFICER_B) == []

    p.run(
        10, alive=("XA-A", "XA-B"), until=lambda: len(smtp.to(OFFICER_A)) >= 2 and len(smtp.to(DISTRICT)) >= 2
    )
    p.run(1.0, alive=("XA-A", "XA-B"))
    _first, recovery = smtp.to(OFFICER_A)
    assert recovery.subject.startswith("[Canh Gác] ĐÃ KHẮC PHỤC: Xã A mất kết nối")
    assert smtp.to(DISTRICT)[1].subject.startswith("[Canh Gác] ĐÃ KHẮC PHỤC")  # everyone told hears it ended
    assert len(smtp.mails) == 4  # officer A: alert + recovery; district: escalation + recovery
    assert smtp.to(OFFICER_B) == []
    assert smtp.to(PROVINCE) == []
    metrics = api.client.get("/metrics").text
    assert 'canhgac_alert_channel_up{channel="smtp"} 1' in metrics

    officer_a = api.token("officer", "XA-A")
    officer_b = api.token("officer", "XA-B")
    listed = api.get("/api/v1/alerts", officer_a).json()["alerts"]
    # The switch's own alert was still pending when the site alert took over: it never fired.
    others = [a for a in listed if a["rule"] != "site_unreachable"]
    assert all(a["firing_at"] is None and a["state"] == "resolved" for a in others), others
    [alert] = [a for a in listed if a["rule"] == "site_unreachable"]
    assert (alert["rule"], alert["site"], alert["state"]) == ("site_unreachable", "XA-A", "resolved")
    assert (alert["ack_comment"], alert["escalation_level"]) == ("Đã gọi nhà mạng", 1)
    assert alert["affected"] == {"hosts": ["xa-a-pc1", "xa-a-pc2"], "devices": ["sw-xa-a"]}
    assert api.get("/api/v1/alerts", officer_b).json() == {"alerts": [], "total": 0}
    assert api.get(f"/api/v1/alerts/{alert['id']}", officer_b).status_code == 404
    events = api.get("/api/v1/events", officer_a, kind="alert.state", subject_id=str(alert["id"])).json()[
        "events"
    ]
    assert [(e["from_state"], e["to_state"]) for e in reversed(events)] == [
        (None, "pending"),
        ("pending", "firing"),
        ("firing", "acknowledged"),
        ("acknowledged", "resolved"),
    ]
