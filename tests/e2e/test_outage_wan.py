"""Acceptance over a real cut line: `canhgac serve` in a "dc" network namespace, real `canhgac-agent`
processes in a "commune" namespace behind a veth pair (tests/harness/wan.py), and the commune's line
taken down. Intervals are compressed (agent backoff cap 6 s, host_down `for` 2 s, reconnect window
8 s). Counted in the server's outbox: exactly one site alert and one recovery per cut for the commune's
officer, whatever the cut's length; nothing for the other commune; and with the line up but the agents
stopped, `site_silent_link_up` rather than `site_unreachable`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.wan import COMMUNE_IP, DC_IP, Wan, missing_reason, wait, wan

KEY_A = "wan-commune-a-key-0123456789"
KEY_B = "wan-commune-b-key-0123456789"
OFFICER_A = "can-bo-xa-a@example.gov.vn"
OFFICER_B = "can-bo-xa-b@example.gov.vn"
PORT = 8471


@dataclass
class Province:
    wan: Wan
    dir: Path
    server: subprocess.Popen[bytes] | None = None
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.dir / "canhgac.sqlite"

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return list(con.execute(sql, args))
        finally:
            con.close()

    def hosts(self, site: str) -> dict[str, str]:
        rows = self.query(
            "SELECT h.hostname, h.state FROM hosts h JOIN sites s ON s.id = h.site_id WHERE s.code = ?", site
        )
        return {str(name): str(state) for name, state in rows}

    def notes(self, recipient: str) -> list[tuple[str, str, int]]:
        """(alert rule, notification kind, alert id) of every message queued for `recipient`."""
        rows = self.query(
            "SELECT a.rule, n.kind, a.id FROM notifications n JOIN alerts a ON a.id = n.alert_id "
            "WHERE n.recipient = ? ORDER BY n.id",
            recipient,
        )
        return [(str(r), str(k), int(i)) for r, k, i in rows]

    def start_agent(self, name: str, namespace: str, server_ip: str, key: str) -> None:
        state = self.dir / name
        state.mkdir(exist_ok=True)
        cfg = state / "agent.toml"
        cfg.write_text(
            f'server_url = "http://{server_ip}:{PORT}"\nenrollment_key = "{key}"\n'
            f'state_dir = "{state}"\ninterval_s = 1\n'
            f'[identity]\nmachine_id = "wan-{name}"\nhostname = "{name}"\n[probes]\ngateway = false\n'
            "[retry]\nmax_delay_s = 6.0\nlink_check_s = 1.0\nresume_jitter_s = 1.0\n",
            encoding="utf-8",
        )
        with (state / "agent.log").open("ab") as log:
            self.agents[name] = subprocess.Popen(
                [
                    *self.wan.run_in(namespace),
                    sys.executable,
                    "-m",
                    "canhgac_agent",
                    "run",
                    "--config",
                    str(cfg),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, procs: list[subprocess.Popen[bytes]]) -> None:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def server_config(tmp: Path) -> dict[str, Any]:
    return {
        "listen": {"host": "0.0.0.0", "port": PORT},
        "database_url": f"sqlite:///{tmp / 'canhgac.sqlite'}",
        "host_state": {"stale_after_s": 2, "down_after_s": 4, "check_interval_s": 0.5},
        "agent_defaults": {
            "interval_s": 1,
            "security_interval_s": 3600,
            "probe_gateway": False,
            "probe_count": 1,
            "probe_timeout_s": 0.5,
        },
        "snmp": {"enabled": False, "secrets_key_file": str(tmp / "secrets.key")},
        "alerting": {
            "evaluate_interval_s": 0.5,
            "clear_for_s": 1,
            "reconnect_window_s": 8,
            "link_key_file": str(tmp / "alerts.key"),
            "rules": {"host_down": {"for_s": 2}},
            "smtp": {"enabled": True, "host": "127.0.0.1", "port": 9, "sender": "canhgac@example.gov.vn"},
        },
        "site_links": {"interval_s": 1, "count": 2, "timeout_s": 0.5, "fresh_intervals": 2},
        "sites": [
            {
                "code": "P",
                "name": "Tỉnh Thử Nghiệm",
                "kind": "province",
                "children": [
                    {
                        "code": "XA-A",
                        "name": "Xã A",
                        "kind": "commune",
                        "enrollment_keys": [KEY_A],
                        "contacts": [{"name": "Cán bộ xã A", "email": OFFICER_A}],
                        "link_probe": {"address": COMMUNE_IP},  # ICMP echo (root here)
                    },
                    {
                        "code": "XA-B",
                        "name": "Xã B",
                        "kind": "commune",
                        "enrollment_keys": [KEY_B],
                        "contacts": [{"name": "Cán bộ xã B", "email": OFFICER_B}],
                    },
                ],
            }
        ],
    }


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    reason = missing_reason()
    if reason:
        pytest.fail(f"the WAN cut tests need network namespaces: {reason}")
    tmp = tmp_path_factory.mktemp("wan")
    config = tmp / "server.yaml"
    config.write_text(yaml.safe_dump(server_config(tmp), allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with wan("o") as w:
        p = Province(w, tmp)
        log = (tmp / "server.log").open("ab")
        subprocess.run(
            [sys.executable, "-m", "canhgac_collector.cli", "db", "upgrade", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            check=True,
            timeout=120,
        )
        p.server = subprocess.Popen(
            [
                *w.run_in(w.dc),
                sys.executable,
                "-m",
                "canhgac_collector.cli",
                "serve",
                "--config",
                str(config),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            for i in (1, 2):
                p.start_agent(f"xa-a-pc{i}", w.commune, DC_IP, KEY_A)
                p.start_agent(f"xa-b-pc{i}", w.dc, "127.0.0.1", KEY_B)
            wait(
                lambda: (
                    p.hosts("XA-A") == {"xa-a-pc1": "up", "xa-a-pc2": "up"}
                    and p.hosts("XA-B") == {"xa-b-pc1": "up", "xa-b-pc2": "up"}
                ),
                60,
                "four agents enrolled and up",
            )
            yield p
        finally:
            p.stop(list(p.agents.values()))
            p.stop([p.server])
            log.close()


def site_alerts(p: Province, rule: str) -> list[tuple[int, str]]:
    return [
        (int(i), str(s)) for i, s in p.query("SELECT id, state FROM alerts WHERE rule = ? ORDER BY id", rule)
    ]


def cut_and_restore(p: Province, seconds: float) -> int:
    """Cut commune A's line for `seconds` (at least until its site alert fired); returns that alert's id."""
    before = {i for i, _ in site_alerts(p, "site_unreachable")}
    started = time.monotonic()
    p.wan.cut()
    try:
        fired = wait(
            lambda: [i for i, s in site_alerts(p, "site_unreachable") if i not in before and s == "firing"],
            30,
            "the site alert",
        )
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    finally:
        p.wan.restore()
    alert_id = int(fired[0])
    wait(
        lambda: p.query("SELECT 1 FROM alerts WHERE id = ? AND state = 'resolved'", alert_id), 40, "recovery"
    )
    wait(lambda: p.hosts("XA-A") == {"xa-a-pc1": "up", "xa-a-pc2": "up"}, 20, "both PCs back")
    return alert_id


@pytest.mark.parametrize("seconds", [8, 25], ids=["short-cut", "long-cut"])
def test_a_cut_is_one_site_alert_and_one_recovery(province: Province, seconds: float) -> None:
    before = len(province.notes(OFFICER_A))
    alert_id = cut_and_restore(province, seconds)
    time.sleep(3)  # past host_down's `for`: a straggler would have alerted by now
    got = province.notes(OFFICER_A)[before:]
    assert got == [("site_unreachable", "firing", alert_id), ("site_unreachable", "resolved", alert_id)]
    assert province.notes(OFFICER_B) == []
    # A PC that went silent a moment before the others may open a pending host_down, which the site
    # alert then supersedes silently; none may ever fire.
    assert province.query("SELECT id FROM alerts WHERE rule = 'host_down' AND firing_at IS NOT NULL") == []


def test_agents_silent_with_the_line_up_is_not_a_cut(province: Province) -> None:
    commune = [province.agents[f"xa-a-pc{i}"] for i in (1, 2)]
    province.stop(commune)  # the office's power or switch, not the line: the data centre still reaches it
    wait(lambda: site_alerts(province, "site_silent_link_up"), 20, "the silent-site alert")
    [(alert_id, state)] = site_alerts(province, "site_silent_link_up")
    assert state == "firing"
    assert all(s == "resolved" for _, s in site_alerts(province, "site_unreachable"))
    assert province.notes(OFFICER_A)[-1] == ("site_silent_link_up", "firing", alert_id)
    (summary,) = province.query("SELECT summary FROM alerts WHERE id = ?", alert_id)[0]
    assert "đường truyền tới điểm vẫn thông" in summary
