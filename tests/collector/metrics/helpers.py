"""Shared by the metrics tests of every domain: a telemetry with every domain installed, as the server
builds it, the worker's hand-over of a host, a realistic device poll, and an exposition parsed back by
prometheus_client's parser."""

from __future__ import annotations

import time

import orjson
from prometheus_client.parser import text_string_to_metric_families

from canhgac_agent.snmp.results import DevicePoll, InterfaceSample, Resources
from canhgac_api.ingest_worker import OBSERVATION
from canhgac_collector.hosts.metrics import HostObservation
from canhgac_collector.metrics.telemetry import Telemetry
from canhgac_collector.server import METRICS

HOSTILE = 'Gi0/1 "uplink" \\ to\nxã Cẩm Xuyên'  # quotes, backslash, newline, Vietnamese


def installed() -> Telemetry:
    telemetry = Telemetry()
    telemetry.install(METRICS)
    return telemetry


def handed_over(observation: HostObservation) -> object:
    """The observation as the API reads it from the ingest worker's reply."""
    reply = orjson.dumps({"ok": {"observation": orjson.Fragment(OBSERVATION.encode(observation))}})
    return orjson.loads(reply)["ok"]["observation"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def device_poll(device: str = "sw-01", names: tuple[str, ...] = (HOSTILE, "Gi0/2")) -> DevicePoll:
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
