"""The agent with `[snmp]` enabled polls two simulated 48-port switches and an address nothing answers on;
its spooled reports carry the polls (valid `Report`s), with real poll times, rates from the 2nd poll,
topology once, and the dead switch "down" while the others stay "up"."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from canhgac_agent.config import SNMP_SPOOL_MAX_BYTES, parse_config
from canhgac_agent.runner import Runner

from .conftest import IN_OCTETS_PER_S, PORTS, device, fleet, free_udp_port, spooled, wait_for

__all__ = ["fleet"]


def test_runner_spools_edge_polls_of_two_switches_and_a_dead_one(
    tmp_path: Path, fleet: dict[str, tuple[str, int]]
) -> None:
    dead_port = free_udp_port()
    config = parse_config(
        {
            "state_dir": str(tmp_path / "state"),
            "probes": {"gateway": False},
            "identity": {"machine_id": "xa-pc-1", "hostname": "xa-pc-1"},
            "snmp": {
                "enabled": True,
                "interval_s": 10,
                "timeout_s": 0.5,
                "retries": 0,
                "devices": [
                    device("xa-sw-a", fleet["edge/sw-a"], "edge/sw-a"),
                    device("xa-sw-b", fleet["edge/sw-b"], "edge/sw-b"),
                    {"name": "xa-sw-dead", "address": f"127.0.0.1:{dead_port}", "community": "public"},
                ],
            },
        },
        "agent.toml",
        env={},
    )
    runner = Runner(config)
    began = time.time()
    try:
        runner.start_edge()
        poller = runner.edge_poller
        assert poller is not None
        wait_for(lambda: poller.polls >= 3, 20, "the first round of polls")
        runner.collect()  # a report while the poller keeps going
        wait_for(lambda: poller.polls >= 6, 25, "the second round of polls")
    finally:
        runner.stop_edge()  # spools what the last report did not carry
        ended = time.time()
    reports = spooled(runner.spool)
    runner.spool.close()
    assert len(reports) == 2
    polls = [p for r in reports for p in r["snmp"]["polls"]]
    by_device: dict[str, list[dict[str, object]]] = {}
    for poll in polls:
        by_device.setdefault(str(poll["device"]), []).append(poll)
    assert set(by_device) == {"xa-sw-a", "xa-sw-b", "xa-sw-dead"}

    for name, endpoint in (("xa-sw-a", fleet["edge/sw-a"]), ("xa-sw-b", fleet["edge/sw-b"])):
        first, second = by_device[name][:2]
        assert [p["state"] for p in by_device[name]] == ["up"] * len(by_device[name])
        assert first["address"] == f"{endpoint[0]}:{endpoint[1]}"
        times = [datetime.fromisoformat(str(p["started_at"])).timestamp() for p in by_device[name]]
        assert times == sorted(times)
        assert began - 1 <= times[0]
        assert times[-1] <= ended
        assert 9 <= times[1] - times[0] <= 12  # the real poll times, interval_s apart
        for poll in (first, second):
            interfaces = poll["interfaces"]
            assert isinstance(interfaces, list)
            assert len(interfaces) == PORTS
            assert interfaces[0]["ifName"] == "GE1/0/1"
            assert "ifHCInOctets" in interfaces[0]["counters"]
        assert all("in_bps" not in i for i in first["interfaces"])  # type: ignore[union-attr]
        rates = [i["in_bps"] for i in second["interfaces"]]  # type: ignore[union-attr]
        assert all(abs(r - IN_OCTETS_PER_S * 8) < IN_OCTETS_PER_S * 8 * 0.2 for r in rates), rates[:3]
        # neighbors/fdb/arp go once; the next poll's are unchanged, so they stay out of the report.
        assert first["topology"] is True
        assert first["neighbors"]
        assert first["fdb"]
        assert first["arp"]
        assert second["topology"] is False
        assert "fdb" not in second

    dead = by_device["xa-sw-dead"]
    assert len(dead) >= 2
    assert {(p["state"], p["reason"]) for p in dead} == {("down", "timeout")}
    assert f"127.0.0.1:{dead_port}" in str(dead[0]["detail"])
    for report in reports:  # the host's own report goes on beside the polls
        assert report["metrics"]["cpu"] is not None
        assert report["snmp"]["polls_dropped"] == 0
    assert config.spool.max_bytes == SNMP_SPOOL_MAX_BYTES  # [snmp] on and no [spool] max_bytes given
