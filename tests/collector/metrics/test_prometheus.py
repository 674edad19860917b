"""The exposition renderer and the whole telemetry: what Prometheus and promtool read is right, and how
the domains' metric plugins are installed.

Reports are real validated `Report` objects (the ingest schema) and polls real `DevicePoll`s; the output
is checked by promtool and parsed back by prometheus_client's parser (the reference implementation).
"""

from __future__ import annotations

import subprocess

import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from canhgac_agent.plugins import registry
from canhgac_api.schemas.report import Report
from canhgac_collector.devices import metrics as device_metrics
from canhgac_collector.hosts import metrics as host_metrics
from canhgac_collector.hosts.metrics import host_observation
from canhgac_collector.metrics.exposition import Family, Registry
from canhgac_collector.metrics.telemetry import MetricsPlugin, Telemetry
from canhgac_collector.server import METRICS
from tests.collector.metrics.helpers import HOSTILE, device_poll, handed_over, installed, samples
from tests.harness.reports import make_report


def _fed() -> Telemetry:
    telemetry = installed()
    reports = [Report.model_validate(make_report("agent-1", seq, hostname="pc-01")) for seq in (1, 2)]
    # as the ingest worker hands them over: a HostObservation through its JSON reply, applied on the loop
    hosts = telemetry.get(host_metrics.PLUGIN)
    hosts.apply_handover("agent-1", "HT-CAMXUYEN", handed_over(host_observation(reports)), None)
    telemetry.get(device_metrics.PLUGIN).observe_poll("HT-TTDL", device_poll())
    hosts.ingest_reports["accepted"] += 2
    return telemetry


def test_exposition_of_fed_state_passes_promtool_and_parses_back() -> None:
    telemetry = _fed()
    text = telemetry.render()
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    got = samples(text)
    report = Report.model_validate(make_report("agent-1", 2, hostname="pc-01"))
    host = (("host", "pc-01"), ("host_id", "agent-1"), ("site", "HT-CAMXUYEN"))
    assert report.metrics.cpu is not None
    assert got[("canhgac_host_cpu_usage_ratio", host)] == pytest.approx(report.metrics.cpu.percent / 100)
    assert got[("canhgac_host_up", host)] == 1  # received now (collected days ago: a spooled report)
    itf = (("device", "sw-01"), ("ifname", HOSTILE), ("site", "HT-TTDL"))
    assert got[("canhgac_interface_in_bytes_per_second", itf)] == 1_000_000  # bits → bytes
    assert got[("canhgac_interface_oper_up", itf)] == 1
    assert got[("canhgac_interface_errors_per_second", tuple(sorted((*itf, ("direction", "in")))))] == 0.5
    probe_keys = [k for k in got if k[0] == "canhgac_probe_loss_ratio"]
    assert len(probe_keys) == len(report.probes)
    assert got[("canhgac_ingest_reports_total", (("outcome", "accepted"),))] == 2


def test_cardinality_cap_refuses_and_counts() -> None:
    registry = Registry()
    fam = registry.family("canhgac_test_ratio", "gauge", "A test family.", ("port",), max_series=3)
    registry.dynamic(
        "canhgac_metrics_series_dropped_total", "counter", "Dropped.", ("family",), registry.dropped
    )
    for i in range(5):
        fam.set((f"p{i}",), i / 10)
    fam.set(("p0",), 0.5)  # existing series still update
    got = samples(registry.render())
    assert got[("canhgac_test_ratio", (("port", "p0"),))] == 0.5
    assert ("canhgac_test_ratio", (("port", "p4"),)) not in got
    assert got[("canhgac_metrics_series_dropped_total", (("family", "canhgac_test_ratio"),))] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("canhgac bad", "gauge", "h"), "not a valid Prometheus metric name"),
        (("canhgac_x", "counter", "h"), "must end in _total"),
        (("canhgac_x", "gauge", "h", ("ifName", "__x")), "label name '__x'"),
        (("canhgac_x", "gauge", " "), "needs a HELP text"),
    ],
)
def test_bad_family_definitions_say_what_is_wrong(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Family(*args)  # type: ignore[arg-type]


def test_wrong_label_count_names_the_metric() -> None:
    fam = Family("canhgac_x", "gauge", "h", ("a", "b"))
    with pytest.raises(ValueError, match=r"canhgac_x: expected 2 label values"):
        fam.set(("only-one",), 1)


def test_same_series_render_like_prometheus_client() -> None:
    """Our renderer and prometheus_client's, holding the same series, expose the same samples."""
    ours = Registry()
    reg = CollectorRegistry()
    labelnames = ("site", "device", "ifname")
    values = {(f"S{i % 7}", f"sw-{i % 13}", f'Gi0/{i} "x"\\'): i * 1.5 for i in range(200)}
    values[("HT", "sw", "nan")] = float("inf")
    fam = ours.family("canhgac_interface_in_bytes_per_second", "gauge", "Received rate.", labelnames)
    gauge = Gauge("canhgac_interface_in_bytes_per_second", "Received rate.", labelnames, registry=reg)
    for labels, value in values.items():
        fam.set(labels, value)
        gauge.labels(*labels).set(value)
    assert samples(ours.render()) == samples(generate_latest(reg).decode())


def test_every_domain_is_installed_once_and_reached_through_its_plugin() -> None:
    telemetry = installed()
    assert list(METRICS) == ["sites", "hosts", "devices", "compliance", "lan"]
    hosts = telemetry.get(host_metrics.PLUGIN)
    assert isinstance(hosts, host_metrics.HostMetrics)
    assert telemetry.get(METRICS["hosts"]) is hosts
    with pytest.raises(RuntimeError, match="installed already"):
        telemetry.install(METRICS)
    names = [f.name for f in telemetry.registry.families]
    assert len(names) == len(set(names))
    assert names[-1] == "canhgac_metrics_render_seconds"


def test_a_plugin_name_or_a_family_name_registered_twice_is_refused() -> None:
    twin = MetricsPlugin("hosts", host_metrics.HostMetrics)
    with pytest.raises(ValueError, match="'hosts' registered twice"):
        registry(host_metrics.PLUGIN, twin)
    telemetry = Telemetry()
    with pytest.raises(ValueError, match="registered twice"):
        telemetry.install({"hosts": host_metrics.PLUGIN, "hosts-again": twin})


def test_a_removed_host_leaves_every_family() -> None:
    telemetry = _fed()
    hosts = telemetry.get(host_metrics.PLUGIN)
    hosts.agent_spool_backlog[("HT-CAMXUYEN", "agent-1", "pc-01")] = 3
    assert "agent-1" in telemetry.render()
    telemetry.forget_host("agent-1")
    text = telemetry.render()
    assert "agent-1" not in text
    assert "sw-01" in text  # the device's series stay
