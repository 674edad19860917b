"""The LAN families on /metrics: fed as the ingest worker hands an observation over (through JSON), they
pass promtool and read back; counters add up across reports, gauges take the newest value."""

from __future__ import annotations

import subprocess
from collections import Counter

import orjson

from canhgac_collector.lan import metrics as lan_metrics
from canhgac_collector.lan.ingest import LanObservation
from tests.collector.metrics.helpers import HOSTILE, installed, samples


def test_lan_observations_pass_promtool_and_add_up() -> None:
    telemetry = installed()
    lan = telemetry.get(lan_metrics.PLUGIN)
    for seen in (1000, 2500):
        obs = LanObservation(
            site="HT-XA-CAMXUYEN",
            host_id="agent-1",
            hostname=HOSTILE,
            events=Counter({"dhcp_rogue": 1, "device_new": 2}),
            dropped=3,
            evicted=4,
            captures=[("eth0", seen, 7, False), ("wlan0", 5, 0, True)],
            devices={"known": 10, "unknown": 2},
        )
        lan.apply(orjson.loads(orjson.dumps(obs.to_json())))
    lan.apply({**obs.to_json(), "events": {"not-a-type": 99}, "captures": []})  # unknown types ignored
    text = telemetry.render()
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    got = samples(text)
    site = ("site", "HT-XA-CAMXUYEN")
    host = (("host", HOSTILE), ("host_id", "agent-1"), site)
    assert got[("canhgac_lan_events_total", (site, ("type", "dhcp_rogue")))] == 2
    assert got[("canhgac_lan_events_total", (site, ("type", "device_new")))] == 4
    assert not any(k[0] == "canhgac_lan_events_total" and ("type", "not-a-type") in k[1] for k in got)
    assert got[("canhgac_lan_events_dropped_total", (site,))] == 9
    assert got[("canhgac_lan_devices_evicted_total", (site,))] == 12
    assert got[("canhgac_lan_devices", (site, ("status", "unknown")))] == 2
    assert got[("canhgac_lan_sensor_packets_total", host)] == 2505  # the newest report, all interfaces
    assert got[("canhgac_lan_sensor_packets_dropped_total", host)] == 7
    assert got[("canhgac_lan_sensor_capture_errors", host)] == 1
    telemetry.forget_host("agent-1")
    assert "agent-1" not in telemetry.render()
