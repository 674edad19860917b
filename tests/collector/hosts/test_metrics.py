"""Host families: state from report age, the host series cap, and the `host`/`probe` history lines."""

from __future__ import annotations

import time

import pytest

from canhgac_api.schemas.report import Report
from canhgac_collector.hosts import metrics as host_metrics
from canhgac_collector.hosts.metrics import host_lines
from tests.collector.metrics.helpers import installed, samples
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
