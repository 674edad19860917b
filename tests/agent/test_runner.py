"""Settings in force, and the runner's cycle: spool first, re-stamp and send once enrolled."""

from __future__ import annotations

import json
from pathlib import Path

from canhgac_agent.config import parse_config
from canhgac_agent.runner import UNENROLLED, Runner, effective_settings
from canhgac_agent.sender import enroll, save_enrollment
from canhgac_agent.spool import StateFile
from canhgac_api.schemas.report import Report

from .conftest import ENROLL_KEY, ProtocolServer


def test_server_settings_win_and_targets_merge_local_first() -> None:
    config = parse_config(
        {
            "interval_s": 30,
            "probes": {
                "gateway": True,
                "count": 4,
                "targets": [
                    {"name": "portal", "kind": "http", "url": "http://10.0.0.5/"},
                    {"name": "local-only", "kind": "dns", "host": "example.gov.vn"},
                ],
            },
        },
        "agent.toml",
        env={},
    )
    settings, problems = effective_settings(config, None)
    assert (settings.interval_s, settings.probe_gateway, settings.probe_count) == (30.0, True, 4)
    assert problems == []

    server = {
        "interval_s": 60,
        "batch_max": 50,
        "probe_gateway": False,
        "probe_targets": [
            {"name": "dc", "kind": "tcp", "host": "10.1.0.10", "port": 443},
            {"name": "portal", "kind": "http", "url": "https://dichvucong.example.gov.vn/"},
        ],
    }
    settings, problems = effective_settings(config, server)
    assert (settings.interval_s, settings.batch_max, settings.probe_gateway) == (60, 50, False)
    assert [t["name"] for t in settings.probe_targets] == ["dc", "portal", "local-only"]
    assert settings.probe_targets[1] == {"name": "portal", "kind": "http", "url": "http://10.0.0.5/"}

    settings, problems = effective_settings(
        config, {"interval_s": -5, "batch_max": 10_000, "probe_gateway": "yes", "probe_targets": [7]}
    )
    assert (settings.interval_s, settings.batch_max, settings.probe_gateway) == (30.0, 100, True)
    assert len(problems) == 4


def test_reports_are_spooled_unenrolled_then_restamped_and_sent(
    tmp_path: Path, protocol_server: ProtocolServer
) -> None:
    config = parse_config(
        {
            "state_dir": str(tmp_path / "state"),
            "probes": {"gateway": False},
            "identity": {"machine_id": "m-7"},
        },
        "agent.toml",
        env={},
    )
    runner = Runner(config)
    try:
        runner.cycle()  # not enrolled, no key: spooled, not sent
        runner.cycle()
        assert runner.spool.backlog == 2
        assert protocol_server.batches == []
        (first, second) = (json.loads(p.json_bytes()) for p in runner.spool.peek(10))
        assert first["agent_id"] == UNENROLLED
        assert first["security"] is not None  # the first cycle collects security facts ...
        assert second["security"] is None  # ... then every security_interval_s
        assert second["agent"]["cycle_cpu_s"] == 0.0  # cycle() alone does not time itself; run() does

        # `canhgac-agent enroll` runs beside the agent and rewrites state.json.
        reply = enroll(protocol_server.url, ENROLL_KEY, machine_id="m-7", hostname="pc")
        save_enrollment(StateFile(runner.state.path), protocol_server.url, reply)
        runner.cycle()
        assert runner.spool.backlog == 0
        agent_id = reply["agent_id"]
        assert protocol_server.seqs(agent_id) == [1, 2, 3]
        for report in protocol_server.stored.values():
            assert Report.model_validate(report).agent_id == agent_id
    finally:
        runner.spool.close()
