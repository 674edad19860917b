"""Acceptance: a running `canhgac serve` takes a new site, its enrollment key and a device from its config
file on SIGHUP (`canhgac reload`) while agents report; nothing they send is lost or refused, the ingest
worker is not restarted; a broken config on SIGHUP leaves the server serving on the old one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import AgentProcess, ServerProcess
from tests.harness.postgres import free_port

NEW_KEY = "e2e-new-commune-key-0123456789"


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError:
            last = None
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def _hosts(server: ServerProcess) -> dict[str, dict[str, Any]]:
    return {h["hostname"]: h for h in server.get("/api/v1/hosts")["hosts"]}


def _reloads(server: ServerProcess) -> dict[str, float]:
    with urllib.request.urlopen(f"{server.base}/metrics", timeout=5) as r:
        text = r.read().decode()
    found = re.findall(r'^canhgac_config_reloads_total\{outcome="(\w+)"\} (\S+)$', text, re.M)
    return {outcome: float(n) for outcome, n in found}


def _children(pid: int) -> set[int]:
    """The server's child processes (the ingest worker)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out |= {int(p) for p in (task / "children").read_text().split()}
    return out


def _canhgac(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _new_site_agent(tmp_path: Path, server: ServerProcess) -> AgentProcess:
    state = tmp_path / "pc-moi"
    state.mkdir()
    cfg = state / "agent.toml"
    cfg.write_text(
        f'server_url = "{server.base}"\nenrollment_key = "{NEW_KEY}"\nstate_dir = "{state}"\n'
        'interval_s = 1\n[identity]\nmachine_id = "e2e-pc-moi"\nhostname = "pc-moi"\n'
        "[probes]\ngateway = false\n",
        encoding="utf-8",
    )
    return AgentProcess(cfg, state / "agent.log")


def test_sighup_adds_a_site_while_agents_report(
    tmp_path: Path, server: ServerProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    assert server.proc is not None
    old_agents = [make_agent("pc-01"), make_agent("pc-02")]
    for agent in old_agents:
        agent.start()
    _wait(
        lambda: all(h["last_seq"] >= 2 for h in _hosts(server).values()) and len(_hosts(server)) == 2,
        60,
        "the existing agents' first reports",
    )
    worker = _children(server.proc.pid)
    assert worker, "the ingest worker runs as a child process"
    assert _reloads(server) == {"applied": 0, "failed": 0, "invalid": 0}

    # An enrollment key the running server does not know yet is refused.
    newcomer = _new_site_agent(tmp_path, server)
    refused = subprocess.run(
        [sys.executable, "-m", "canhgac_agent", "enroll", "--config", str(newcomer.config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 3, refused.stderr

    config = yaml.safe_load(server.config_path.read_text(encoding="utf-8"))
    config["sites"][0]["children"].append(
        {
            "code": "XA-MOI",
            "name": "Xã Mới Thành Lập",
            "kind": "commune",
            "contacts": [{"name": "Cán bộ xã mới", "email": "xamoi@example.gov.vn"}],
            "enrollment_keys": [NEW_KEY],
        }
    )
    silent_port = free_port()  # nothing answers SNMP there: the poller marks the device down
    config["devices"] = [
        {
            "name": "sw-xa-moi",
            "address": "127.0.0.1",
            "port": silent_port,
            "site": "XA-MOI",
            "snmp": {"version": "2c", "community": "cong-dong-xa-moi"},
            "poll_interval_s": 5,
            "timeout_s": 0.5,
            "retries": 0,
        }
    ]
    server.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    done = _canhgac("reload", "--config", str(server.config_path))
    assert done.returncode == 0, done.stderr
    assert f"pid {server.proc.pid}" in done.stdout
    _wait(lambda: _reloads(server)["applied"] == 1, 30, "the reload to be applied")

    newcomer.start()
    try:
        moi = _wait(
            lambda: (h := _hosts(server).get("pc-moi")) and h["last_seq"] >= 2 and h,
            60,
            "the new site's agent to report",
        )
        assert moi["site"] == "XA-MOI"
        province = server.get("/api/v1/sites")["sites"][0]
        assert sorted(c["code"] for c in province["children"]) == ["XA", "XA-MOI"]
        # The SNMP poller has the new device among its targets: it polls it (and finds nothing there).
        device = _wait(
            lambda: next(
                (d for d in server.get("/api/v1/devices")["devices"] if d["last_poll_at"] is not None),
                None,
            ),
            30,
            "the new device to be polled",
        )
        assert device["name"] == "sw-xa-moi"
        assert device["state"] != "up"

        # A broken file on SIGHUP: counted, logged in both languages, the server goes on serving.
        seq_before = {name: h["last_seq"] for name, h in _hosts(server).items()}
        broken = dict(config, devices=[dict(config["devices"][0], site="NO-SUCH-SITE")])
        server.config_path.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
        os.kill(server.proc.pid, signal.SIGHUP)
        _wait(lambda: _reloads(server)["invalid"] == 1, 30, "the broken config to be counted")
        log = server.log.read_text(encoding="utf-8")
        assert "cấu hình mới không hợp lệ" in log
        assert "NO-SUCH-SITE" in log
        _wait(
            lambda: all(h["last_seq"] > seq_before[name] + 1 for name, h in _hosts(server).items()),
            30,
            "every agent, old and new, to keep reporting",
        )
        # `canhgac reload` checks the file itself and does not send a broken one.
        refused_reload = _canhgac("reload", "--config", str(server.config_path))
        assert refused_reload.returncode == 2
        assert "NO-SUCH-SITE" in refused_reload.stderr
        assert _reloads(server) == {"applied": 1, "failed": 0, "invalid": 1}
    finally:
        newcomer.stop()
        for agent in old_agents:
            agent.stop()

    assert _children(server.proc.pid) == worker, "the ingest worker was not restarted"
    hosts = _hosts(server)
    for agent, name in zip(old_agents, ("pc-01", "pc-02"), strict=True):
        status = agent.status()
        assert status["rejected_total"] == 0
        assert status["spool_dropped_total"] == 0
        assert hosts[name]["reports_total"] == hosts[name]["last_seq"]  # none lost, none twice
        assert hosts[name]["last_seq"] + status["spool_backlog"] == status["next_seq"] - 1
