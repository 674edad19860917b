"""Edge polling across a real cut line: `canhgac serve` and an InfluxDB-protocol store (VictoriaMetrics) in
a "dc" network namespace; in a "commune" namespace behind a veth pair (tests/harness/wan.py), a simulated
switch (snmpsim) and a real `canhgac-agent run` polling it (`[snmp]`). Intervals are compressed (agent
polls every 10 s, the server's delayed window 15 s, host_down `for` 2 s).

- The server never polls the switch (`poller: edge`); the agent's polls are stored as the switch's state.
- During a cut the switch is "delayed", not down: no device-down alert; the commune's officer gets one
  site alert and one recovery.
- After the restore the polls taken during the cut arrive from the agent's spool and land in history with
  the times they were taken.
- With the line up, a dead switch (the agent's polls say "down") is its own device-down alert.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from canhgac_collector.lab.snmpsim import responder_executable
from tests.harness.snmp_recordings import switch_rows, write_recording
from tests.harness.wan import DC_IP, Wan, missing_reason, wan
from tests.harness.wan import wait as wait_in

KEY = "edge-commune-key-0123456789"
OFFICER = "can-bo-xa-e@example.gov.vn"
PORT = 8473
VM_PORT = 8474
SNMP_PORT = 16161
SWITCH = "xa-e-sw1"
POLL_S = 10  # the agent's [snmp] interval_s (its smallest)


def ns_get(namespace: str, url: str, timeout: float = 10) -> bytes:
    """GET `url` from inside `namespace` (the test process stays in the root namespace)."""
    code = (
        "import sys, urllib.request as u; sys.stdout.buffer.write(u.urlopen(sys.argv[1], timeout=5).read())"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", code, url],
        capture_output=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


@dataclass
class Commune:
    wan: Wan
    dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.dir / "canhgac.sqlite"

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return list(con.execute(sql, args))
        finally:
            con.close()

    def switch(self) -> tuple[str, str | None, str | None]:
        """(state, edge_polled_at, owning host's name) of the switch."""
        rows = self.query(
            "SELECT d.state, d.edge_polled_at, h.hostname FROM devices d LEFT JOIN hosts h "
            "ON h.id = d.edge_host_id WHERE d.name = ?",
            SWITCH,
        )
        return rows[0] if rows else ("missing", None, None)

    def notes(self) -> list[tuple[str, str]]:
        rows = self.query(
            "SELECT a.rule, n.kind FROM notifications n JOIN alerts a ON a.id = n.alert_id "
            "WHERE n.recipient = ? ORDER BY n.id",
            OFFICER,
        )
        return [(str(r), str(k)) for r, k in rows]

    def start(self, name: str, argv: list[str], namespace: str) -> None:
        log = (self.dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [*self.wan.run_in(namespace), *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "SNMPSIM_ALLOW_ROOT": "true"},
        )
        log.close()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def start_switch(self) -> None:
        data = self.dir / "snmp-data"
        cache = self.dir / "snmp-cache"
        cache.mkdir(exist_ok=True)
        write_recording(data / f"{SWITCH}.snmprec", switch_rows(name=SWITCH, ports=8))
        argv = [
            str(responder_executable()),
            f"--data-dir={data}",
            f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint=127.0.0.1:{SNMP_PORT}",
            "--logging-method=stderr",
            "--log-level=error",
        ]
        self.start("switch", argv, self.wan.commune)
        get = [*self.wan.run_in(self.wan.commune), "snmpget", "-v2c", "-c", SWITCH, "-t", "0.5", "-r", "0"]
        wait(
            lambda: (
                subprocess.run(
                    [*get, f"127.0.0.1:{SNMP_PORT}", "1.3.6.1.2.1.1.3.0"],
                    check=False,
                    capture_output=True,
                    timeout=10,
                ).returncode
                == 0
            ),
            60,
            "the simulated switch answering",
        )

    def history(self, measurement_field: str) -> list[tuple[float, float]]:
        """(unix time, value) of every stored sample of the switch's `measurement_field` series."""
        base = f"http://127.0.0.1:{VM_PORT}"
        ns_get(self.wan.dc, f"{base}/internal/force_flush")
        query = f'{measurement_field}{{device="{SWITCH}"}}'
        body = ns_get(self.wan.dc, f"{base}/api/v1/export?match[]={query}&start=0")
        rows = [json.loads(line) for line in body.splitlines() if line.strip()]
        return sorted(
            (t / 1000, v) for row in rows for t, v in zip(row["timestamps"], row["values"], strict=True)
        )


def server_config(tmp: Path) -> dict[str, Any]:
    return {
        "listen": {"host": "0.0.0.0", "port": PORT},
        "database_url": f"sqlite:///{tmp / 'canhgac.sqlite'}",
        "host_state": {"stale_after_s": 2, "down_after_s": 4, "check_interval_s": 0.5},
        "agent_defaults": {"interval_s": 1, "security_interval_s": 3600, "probe_gateway": False},
        "snmp": {
            "enabled": True,
            "poll_interval_s": 5,
            "edge_delay_min_s": 5,  # with 3 × 5 s: delayed after 15 s without an edge poll
            "secrets_key_file": str(tmp / "secrets.key"),
        },
        "influx": {
            "enabled": True,
            "url": f"http://127.0.0.1:{VM_PORT}",
            "token": "edge-test-token",
            "flush_interval_s": 0.5,
            "buffer_dir": str(tmp / "influx-buffer"),
        },
        "alerting": {
            "evaluate_interval_s": 0.5,
            "clear_for_s": 1,
            "reconnect_window_s": 8,
            "link_key_file": str(tmp / "alerts.key"),
            "rules": {"host_down": {"for_s": 2}, "device_down": {"for_s": 2}},
            "smtp": {"enabled": True, "host": "127.0.0.1", "port": 9, "sender": "canhgac@example.gov.vn"},
        },
        "sites": [
            {
                "code": "P",
                "name": "Tỉnh Thử Nghiệm",
                "kind": "province",
                "children": [
                    {
                        "code": "XA-E",
                        "name": "Xã E",
                        "kind": "commune",
                        "enrollment_keys": [KEY],
                        "contacts": [{"name": "Cán bộ xã E", "email": OFFICER}],
                    }
                ],
            }
        ],
        "devices": [
            {
                "name": SWITCH,
                "address": "127.0.0.1",  # the commune's own view; the server never polls it
                "port": SNMP_PORT,
                "site": "XA-E",
                "poller": "edge",
                "snmp": {"version": "2c", "community": SWITCH},
            }
        ],
    }


def agent_config(tmp: Path) -> Path:
    state = tmp / "agent"
    state.mkdir(exist_ok=True)
    cfg = state / "agent.toml"
    cfg.write_text(
        f'server_url = "http://{DC_IP}:{PORT}"\nenrollment_key = "{KEY}"\n'
        f'state_dir = "{state}"\ninterval_s = 1\n'
        '[identity]\nmachine_id = "edge-xa-e-srv"\nhostname = "xa-e-srv"\n[probes]\ngateway = false\n'
        "[retry]\nmax_delay_s = 6.0\nlink_check_s = 1.0\nresume_jitter_s = 1.0\n"
        f"[snmp]\nenabled = true\ninterval_s = {POLL_S}\ntimeout_s = 1.0\nretries = 0\n"
        f'[[snmp.devices]]\nname = "{SWITCH}"\naddress = "127.0.0.1:{SNMP_PORT}"\n'
        f'version = "2c"\ncommunity = "{SWITCH}"\n',
        encoding="utf-8",
    )
    return cfg


def wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """`tests.harness.wan.wait`, also retrying while a command run in a namespace fails (not up yet)."""
    return wait_in(check, timeout, what, (sqlite3.Error, subprocess.CalledProcessError))


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Commune]:
    reason = missing_reason()
    if reason:
        pytest.fail(f"the edge polling tests need network namespaces: {reason}")
    vm_binary = shutil.which("victoria-metrics")
    if vm_binary is None:
        pytest.fail("victoria-metrics not found: run scripts/install-system-deps")
    tmp = tmp_path_factory.mktemp("edge")
    config = tmp / "server.yaml"
    config.write_text(yaml.safe_dump(server_config(tmp), allow_unicode=True), encoding="utf-8")
    with wan("e") as w:
        c = Commune(w, tmp)
        try:
            subprocess.run(
                [sys.executable, "-m", "canhgac_collector.cli", "db", "upgrade", "--config", str(config)],
                capture_output=True,
                check=True,
                timeout=120,
            )
            c.start(
                "vm",
                [
                    vm_binary,
                    f"-httpListenAddr=127.0.0.1:{VM_PORT}",
                    f"-storageDataPath={tmp / 'vm'}",
                    "-search.latencyOffset=0s",
                    "-retentionPeriod=100y",
                    "-loggerLevel=ERROR",
                ],
                w.dc,
            )
            wait(lambda: ns_get(w.dc, f"http://127.0.0.1:{VM_PORT}/health"), 30, "VictoriaMetrics")
            serve = [sys.executable, "-m", "canhgac_collector.cli", "serve", "--config", str(config)]
            c.start("server", serve, w.dc)
            c.start_switch()
            c.start(
                "agent",
                [sys.executable, "-m", "canhgac_agent", "run", "--config", str(agent_config(tmp))],
                w.commune,
            )
            wait(
                lambda: c.switch()[0] == "up" and c.switch()[2] == "xa-e-srv", 90, "the agent's polls stored"
            )
            yield c
        finally:
            for name in ("agent", "switch", "server", "vm"):
                c.stop(name)


def unix(stamp: str | None) -> float:
    assert stamp is not None
    moment = datetime.fromisoformat(stamp)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def test_a_cut_delays_the_switch_and_its_polls_arrive_after_with_their_times(commune: Commune) -> None:
    before = len(commune.notes())
    last_alert = max([i for (i,) in commune.query("SELECT id FROM alerts")], default=0)
    cut_at = time.time()
    commune.wan.cut()
    try:
        wait(lambda: commune.switch()[0] == "delayed", 45, "the switch marked delayed")
        time.sleep(2 * POLL_S)  # polls keep being taken in the commune and spooled
    finally:
        commune.wan.restore()
    restored_at = time.time()
    # The server never saw the switch down, so it raised no device alert.
    assert (
        commune.query("SELECT rule FROM alerts WHERE id > ? AND rule != 'site_unreachable'", last_alert) == []
    )
    # Caught up: the newest stored poll was taken after the restore, and the switch is up again.
    wait(
        lambda: commune.switch()[0] == "up" and unix(commune.switch()[1]) > restored_at,
        60,
        "the spooled polls stored and a fresh one after them",
    )
    # History holds the polls taken during the cut, at the times they were taken, POLL_S apart.
    during = wait(
        lambda: [t for t, _ in commune.history("device_up") if cut_at + 1 < t < restored_at - 1],
        30,
        "history points from inside the cut",
    )
    assert len(during) >= 2, during
    gaps = [b - a for a, b in itertools.pairwise(during)]
    assert all(POLL_S - 2 <= g <= POLL_S + 2 for g in gaps), gaps
    assert all(v == 1.0 for t, v in commune.history("device_up") if cut_at < t < restored_at)
    time.sleep(3)  # past device_down's `for`
    got = commune.notes()[before:]
    assert got == [("site_unreachable", "firing"), ("site_unreachable", "resolved")], got


def test_a_dead_switch_with_the_line_up_is_its_own_alert(commune: Commune) -> None:
    before = len(commune.notes())
    commune.stop("switch")
    try:
        wait(lambda: commune.switch()[0] == "down", 3 * POLL_S + 10, "the agent reporting the switch down")
        wait(lambda: ("device_down", "firing") in commune.notes()[before:], 20, "the device-down alert")
        assert commune.switch()[2] == "xa-e-srv"  # still the agent's, never handed to the server
        time.sleep(2)
        assert commune.notes()[before:] == [("device_down", "firing")]  # no site alert: the line is up
    finally:
        commune.start_switch()
    wait(lambda: commune.switch()[0] == "up", 3 * POLL_S + 10, "the switch back")
    wait(lambda: ("device_down", "resolved") in commune.notes()[before:], 20, "the recovery")
