"""Host families: state from report age, the ingest worker's typed hand-over, the host series cap, and the
`host`/`probe` history lines."""

from __future__ import annotations

import time

import pytest

from canhgac_api.schemas.report import Report
from canhgac_collector.hosts import metrics as host_metrics
from canhgac_collector.hosts.metrics import HostObservation, host_lines, host_observation
from tests.collector.metrics.helpers import handed_over, installed, samples
from tests.harness.reports import make_report


def test_host_state_follows_report_age() -> None:
    telemetry = installed()
    hosts = telemetry.get(host_metrics.PLUGIN)
    hosts.stale_after_s, hosts.down_after_s = 60, 300
    hosts.seed_host("h-old", "HT", "pc-old", time.time() - 1000)
    hosts.seed_host("h-new", "HT", "pc-new", time.time() - 5)
    got = samples(telemetry.render())
    state = {
        (dict(k[1])["host"], dict(k[1])["state"]): v for k, v in got.items() if k[0] == "canhgac_host_state"
    }
    assert state[("pc-old", "down")] == 1
    assert state[("pc-old", "up")] == 0
    assert state[("pc-new", "up")] == 1


def test_the_observation_crosses_the_worker_reply_typed_and_whole() -> None:
    reports = [Report.model_validate(make_report("agent-1", seq, hostname="pc-01")) for seq in (1, 2)]
    observation = host_observation(reports)
    wire = handed_over(observation)
    assert isinstance(wire, list)  # an array: no field names on the wire
    assert wire[0] == "pc-01"
    telemetry = installed()
    hosts = telemetry.get(host_metrics.PLUGIN)
    hosts.apply_handover("agent-1", "HT", wire, ["host,site=HT cpu_usage_ratio=0.5 1"])
    got = samples(telemetry.render())
    host = (("host", "pc-01"), ("host_id", "agent-1"), ("site", "HT"))
    assert got[("canhgac_agent_spool_dropped_total", host)] == observation.spool_dropped
    assert got[("canhgac_host_memory_total_bytes", host)] == observation.memory_total_bytes
    assert len([k for k in got if k[0] == "canhgac_probe_up"]) == len(reports[-1].probes)
    assert hosts.handoff_dropped == 0


def test_an_unreadable_observation_is_counted_and_ingest_goes_on() -> None:
    telemetry = installed()
    hosts = telemetry.get(host_metrics.PLUGIN)
    hosts.apply_handover("agent-1", "HT", {"hostname": "pc-01"}, None)
    assert hosts.handoff_dropped == 1
    assert samples(telemetry.render())[("canhgac_metrics_reports_dropped_total", ())] == 1


def test_hosts_past_the_cap_are_counted_under_host_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_metrics, "MAX_HOSTS", 2)
    telemetry = installed()
    hosts = telemetry.get(host_metrics.PLUGIN)
    for i in range(4):
        hosts.seed_host(f"h-{i}", "HT", f"pc-{i}", time.time())
    got = samples(telemetry.render())
    assert len([k for k in got if k[0] == "canhgac_host_up"]) == 2
    assert got[("canhgac_metrics_series_dropped_total", (("family", "canhgac_host_up"),))] == 2


def test_history_lines_carry_every_report_of_the_host() -> None:
    reports = [Report.model_validate(make_report("agent-1", seq, hostname="pc-01")) for seq in (1, 2)]
    lines = host_lines("HT-CAMXUYEN", "agent-1", reports)
    hosts = [ln for ln in lines if ln.startswith("host,") and "mountpoint=" not in ln]
    probes = [ln for ln in lines if ln.startswith("probe,")]
    assert len(hosts) == 2
    assert len(probes) == 2 * len(reports[0].probes)
    assert all(",host_id=agent-1" in ln and "site=HT-CAMXUYEN" in ln for ln in lines)
    assert HostObservation.__struct_config__.array_like
