"""`canhgac-agent` as a real subprocess: once, config errors, enroll, run against the protocol server,
status."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from canhgac_api.schemas.report import Report

from .conftest import ENROLL_KEY, ProtocolServer

AGENT = [sys.executable, "-m", "canhgac_agent"]


def agent(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANHGAC_AGENT_")}
    return subprocess.run(
        [*AGENT, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n{extra}\n[probes]\ngateway = false\n')
    return path


def test_once_prints_a_valid_report_with_no_server_and_no_state(tmp_path: Path) -> None:
    cfg = config_file(tmp_path)
    result = agent("once", "--json", "--config", str(cfg))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    report = Report.model_validate_json(result.stdout)  # the wire contract, strict
    assert report.agent_id == "unenrolled"
    assert report.seq == 1
    assert report.probes == []
    assert report.security is not None  # the first report of a process carries the security facts
    assert report.agent.spool_backlog == 0
    assert not (tmp_path / "state").exists()  # once touches nothing


def test_config_error_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    cfg = config_file(tmp_path, "intervl_s = 10")
    result = agent("once", "--json", "--config", str(cfg))
    assert result.returncode == 2
    assert f"{cfg}: intervl_s: unknown key" in result.stderr
    assert result.stdout == ""
    missing = agent("status", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2
    assert "nope.toml: config file not found" in missing.stderr
    usage = agent("frobnicate")
    assert usage.returncode == 2


def test_enroll_stores_the_token_privately_and_never_prints_it(
    tmp_path: Path, protocol_server: ProtocolServer
) -> None:
    cfg = config_file(tmp_path)
    refused = agent("enroll", "--server", protocol_server.url, "--key", "wrong", "--config", str(cfg))
    assert refused.returncode == 3
    assert "refused" in refused.stderr

    result = agent(
        "enroll", "--server", protocol_server.url, "--key", "-", "--config", str(cfg), stdin=ENROLL_KEY
    )
    assert result.returncode == 0, result.stderr
    state_path = tmp_path / "state" / "state.json"
    state = json.loads(state_path.read_text())
    assert state["token"] in protocol_server.tokens
    assert state["server_url"] == protocol_server.url
    assert state["settings"] == protocol_server.settings
    assert stat.S_IMODE(state_path.stat().st_mode) == 0o600
    assert state["token"] not in result.stdout + result.stderr
    assert f"agent_id={state['agent_id']}" in result.stdout

    status = agent("status", "--json", "--config", str(cfg))
    assert status.returncode == 0, status.stderr
    assert state["token"] not in status.stdout
    assert json.loads(status.stdout)["agent_id"] == state["agent_id"]


def test_run_enrolls_sends_in_order_and_stops_on_sigterm(
    tmp_path: Path, protocol_server: ProtocolServer
) -> None:
    protocol_server.settings["interval_s"] = 0.3
    cfg = config_file(
        tmp_path,
        f'server_url = "{protocol_server.url}"\nenrollment_key = "{ENROLL_KEY}"\ninterval_s = 0.3',
    )
    proc = subprocess.Popen(
        [*AGENT, "run", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(protocol_server.stored) < 4:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "agent stopped" in err
    assert "enrolled" in err
    (agent_id,) = set(protocol_server.agents.values())
    seqs = protocol_server.seqs(agent_id)
    assert len(seqs) >= 4
    assert seqs == list(range(1, len(seqs) + 1))
    for report in protocol_server.stored.values():
        Report.model_validate(report)
    flat = [seq for batch in protocol_server.batches for seq in batch]
    assert flat == sorted(flat)  # sent in seq order

    status = agent("status", "--json", "--config", str(cfg))
    info = json.loads(status.stdout)
    assert info["agent_id"] == agent_id
    assert info["last_send"]["result"] == "ok"
    assert info["spool_backlog"] <= 1  # at most the report made as the signal came
    assert info["next_seq"] == len(seqs) + 1 + info["spool_backlog"]


def test_run_arguments_parsed_by_hand_as_argparse_would() -> None:
    from canhgac_agent.cli import _parser, _plain_run

    for argv in (["run"], ["run", "--config", "/etc/canhgac-agent/agent.toml"], ["run", "--config=a.toml"]):
        fast = _plain_run(argv)
        assert fast is not None, argv
        full = _parser().parse_args(argv)
        assert (fast.command, fast.config) == (full.command, full.config)
    for argv in (["run", "--help"], ["run", "--config"], ["run", "--config", "-x"], ["run", "--conf", "a"],
                 ["run", "--config="], ["once"], ["status", "--json"], []):  # fmt: skip
        assert _plain_run(argv) is None, argv  # left to argparse (help, errors, other commands)


def test_once_runs_the_configured_egress_test(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        extra = f'[egress]\nendpoint = "127.0.0.1"\nports = [{port}]\ntimeout_s = 2\n'
        result = agent("once", "--json", "--config", str(config_file(tmp_path, extra)))
    assert result.returncode == 0, result.stderr
    report = Report.model_validate_json(result.stdout)
    assert report.security is not None
    assert report.security.egress is not None
    assert report.security.egress.open_ports == [port]  # the forbidden port connected: egress is open
    assert report.security.endpoint_management is not None
    assert report.security.backup is not None
    assert report.security.remote_access is not None
