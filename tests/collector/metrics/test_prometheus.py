"""The exposition renderer and the telemetry families: what Prometheus and promtool read is right.

Reports are real validated `Report` objects (the ingest schema) and polls real `DevicePoll`s; the output
is checked by promtool and parsed back by prometheus_client's parser (the reference implementation).
"""

from __future__ import annotations

import subprocess
import time

import orjson
import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from canhgac_api.schemas.report import Report
from canhgac_collector.devices.snmp.results import DevicePoll, InterfaceSample, Resources
from canhgac_collector.metrics.exposition import Family, Registry
from canhgac_collector.metrics.telemetry import Telemetry, host_observation
from tests.harness.reports import make_report

HOSTILE = 'Gi0/1 "uplink" \\ to\nxã Cẩm Xuyên'  # quotes, backslash, newline, Vietnamese


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _poll(device: str = "sw-01", names: tuple[str, ...] = (HOSTILE, "Gi0/2")) -> DevicePoll:
    interfaces = [
        InterfaceSample(
            ifIndex=i + 1,
            ifName=name,
            ifOperStatus="up" if i == 0 else "down",
            ifAdminStatus="up",
            ifHighSpeed=1000,
            in_bps=8_000_000.0,
            out_bps=800.0,
            utilisation=0.008,
            in_errors_ps=0.5,
            out_errors_ps=0.0,
            in_discards_ps=0.0,
            out_discards_ps=0.25,
        )
        for i, name in enumerate(names)
    ]
    return DevicePoll(
        device=device,
        started_at=time.time(),
        duration_s=0.25,
        state="up",
        interfaces=interfaces,
        resources=Resources(
            cpu_percent=12.0, memory_used_bytes=1, memory_total_bytes=4, temperatures_c={"cpu": 41.5}
        ),
    )


def _fed() -> Telemetry:
    telemetry = Telemetry(site_codes={7: "HT-CAMXUYEN"})
    reports = [Report.model_validate(make_report("agent-1", seq, hostname="pc-01")) for seq in (1, 2)]
    # as the ingest worker hands them over: plain values through JSON, applied on the event loop
    observation = orjson.loads(orjson.dumps(host_observation(reports)))
    telemetry.apply_host_observation("agent-1", 7, observation, None)
    telemetry.observe_poll("HT-TTDL", _poll())
    telemetry.ingest_reports["accepted"] += 2
    return telemetry


def test_exposition_of_fed_state_passes_promtool_and_parses_back() -> None:
    telemetry = _fed()
    text = telemetry.render()
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    samples = _samples(text)
    report = Report.model_validate(make_report("agent-1", 2, hostname="pc-01"))
    host = (("host", "pc-01"), ("host_id", "agent-1"), ("site", "HT-CAMXUYEN"))
    assert report.metrics.cpu is not None
    assert samples[("canhgac_host_cpu_usage_ratio", host)] == pytest.approx(report.metrics.cpu.percent / 100)
    assert samples[("canhgac_host_up", host)] == 1  # received now (collected days ago: a spooled report)
    itf = (("device", "sw-01"), ("ifname", HOSTILE), ("site", "HT-TTDL"))
    assert samples[("canhgac_interface_in_bytes_per_second", itf)] == 1_000_000  # bits → bytes
    assert samples[("canhgac_interface_oper_up", itf)] == 1
    assert samples[("canhgac_interface_errors_per_second", tuple(sorted((*itf, ("direction", "in")))))] == 0.5
    probe_keys = [k for k in samples if k[0] == "canhgac_probe_loss_ratio"]
    assert len(probe_keys) == len(report.probes)
    assert samples[("canhgac_ingest_reports_total", (("outcome", "accepted"),))] == 2


def test_host_state_follows_report_age() -> None:
    telemetry = Telemetry(host_stale_after_s=60, host_down_after_s=300)
    telemetry.seed_host("h-old", "HT", "pc-old", time.time() - 1000)
    telemetry.seed_host("h-new", "HT", "pc-new", time.time() - 5)
    samples = _samples(telemetry.render())
    state = {
        (dict(k[1])["host"], dict(k[1])["state"]): v
        for k, v in samples.items()
        if k[0] == "canhgac_host_state"
    }
    assert state[("pc-old", "down")] == 1
    assert state[("pc-old", "up")] == 0
    assert state[("pc-new", "up")] == 1


def test_a_port_that_disappears_loses_its_series() -> None:
    telemetry = _fed()
    telemetry.observe_poll("HT-TTDL", _poll(names=("Gi0/2",)))
    text = telemetry.render()
    assert "Gi0/2" in text
    assert "uplink" not in text


def test_cardinality_cap_refuses_and_counts() -> None:
    registry = Registry()
    fam = registry.family("canhgac_test_ratio", "gauge", "A test family.", ("port",), max_series=3)
    registry.dynamic(
        "canhgac_metrics_series_dropped_total", "counter", "Dropped.", ("family",), registry.dropped
    )
    for i in range(5):
        fam.set((f"p{i}",), i / 10)
    fam.set(("p0",), 0.5)  # existing series still update
    samples = _samples(registry.render())
    assert samples[("canhgac_test_ratio", (("port", "p0"),))] == 0.5
    assert ("canhgac_test_ratio", (("port", "p4"),)) not in samples
    assert samples[("canhgac_metrics_series_dropped_total", (("family", "canhgac_test_ratio"),))] == 2


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
    assert _samples(ours.render()) == _samples(generate_latest(reg).decode())
