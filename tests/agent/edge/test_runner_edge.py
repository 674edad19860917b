"""The agent with `[snmp]` enabled polls two simulated 48-port switches and an address nothing answers on;
its spooled reports carry the polls (valid `Report`s), with real poll times, rates from the 2nd poll,
topology once, and the dead switch "down" while the others stay "up"."""

from __future__ import annotations

import gzip
import json
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


def test_spool_holds_14_days_of_two_48_port_switches_polled_every_minute(
    tmp_path: Path, fleet: dict[str, tuple[str, int]]
) -> None:
    """The spool's bytes, measured on real reports: the host's own every 30 s (security facts hourly),
    two 48-port switches' polls every 60 s, their topology hourly. 3 days fit the plain default (64 MiB);
    the default with [snmp] keeps the spool's 14-day max age meaningful."""
    config = parse_config(
        {
            "state_dir": str(tmp_path / "state"),
            "probes": {"gateway": False},
            "snmp": {
                "enabled": True,
                "interval_s": 10,
                "devices": [
                    device("xa-sw-a", fleet["edge/sw-a"], "edge/sw-a"),
                    device("xa-sw-b", fleet["edge/sw-b"], "edge/sw-b"),
                ],
            },
        },
        "agent.toml",
        env={},
    )
    runner = Runner(config)
    try:
        security = len(_body(runner.collect()))  # the first report carries the security facts
        runner.start_edge()
        poller = runner.edge_poller
        wait_for(lambda: poller.polls >= 2, 15, "the first round of polls")
        first_round = poller.section()["polls"]
        runner.edge_poller = None
        base = len(_body(runner.collect()))
        runner.edge_poller = poller
        wait_for(lambda: poller.polls >= 4, 15, "the second round: rates, no topology")
        with_polls = runner.collect()
        assert [p["topology"] for p in with_polls["snmp"]["polls"]] == [False, False]
        per_poll = (len(_body(with_polls)) - base) / 2
        topology = sum(len(json.dumps(p["fdb"] + p["arp"] + p["neighbors"])) for p in first_round) / 2
    finally:
        poller.stop()
        runner.spool.close()
    day = 86400

    def spool_bytes(days: float) -> float:
        return days * (day / 30 * base + 24 * (security - base) + 2 * (day / 60 * per_poll + 24 * topology))

    print(  # the figures docs/edge-polling.md quotes
        f"\nbase report {base} B, security report {security} B, per 48-port poll {per_poll:.0f} B gzip'd, "
        f"topology ≤ {topology:.0f} B raw; 3 days: {spool_bytes(3) / 2**20:.1f} MiB, "
        f"14 days: {spool_bytes(14) / 2**20:.1f} MiB"
    )
    assert 500 < per_poll < 8000  # a 48-port poll is ~30 kB of JSON, gzip'd
    assert spool_bytes(3) < 64 * 2**20
    assert spool_bytes(14) < SNMP_SPOOL_MAX_BYTES


def _body(report: dict[str, object]) -> bytes:
    """The report as the spool stores it: compact JSON, gzip level 6."""
    raw = json.dumps(report, separators=(",", ":"), ensure_ascii=False).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)
