"""Device and interface families fed by polls, and the `device`/`interface` history lines."""

from __future__ import annotations

from canhgac_agent.snmp.results import HardwareState, Optic
from canhgac_collector.devices import metrics as device_metrics
from canhgac_collector.devices.metrics import device_lines
from tests.collector.metrics.helpers import HOSTILE, device_poll, installed, samples


def test_a_port_that_disappears_loses_its_series() -> None:
    telemetry = installed()
    devices = telemetry.get(device_metrics.PLUGIN)
    devices.observe_poll("HT-TTDL", device_poll())
    assert "uplink" in telemetry.render()
    devices.observe_poll("HT-TTDL", device_poll(names=("Gi0/2",)))
    text = telemetry.render()
    assert "Gi0/2" in text
    assert "uplink" not in text


def test_poller_self_metrics_and_roll_up() -> None:
    telemetry = installed()
    devices = telemetry.get(device_metrics.PLUGIN)
    devices.snmp_polls["ok"] += 2
    devices.snmp_varbinds += 40
    devices.devices_by_site_state = {("HT", "up"): 3}
    got = samples(telemetry.render())
    assert got[("canhgac_snmp_polls_total", (("outcome", "ok"),))] == 2
    assert got[("canhgac_snmp_varbinds_total", ())] == 40
    assert got[("canhgac_devices", (("site", "HT"), ("state", "up")))] == 3


def test_history_lines_of_a_poll() -> None:
    lines = device_lines("HT-TTDL", device_poll())
    assert lines[0].startswith("device,site=HT-TTDL,device=sw-01 ")
    assert "cpu_usage_ratio=0.12" in lines[0]
    interfaces = [ln for ln in lines if ln.startswith("interface,")]
    assert len(interfaces) == 2
    assert HOSTILE not in "".join(lines)  # the newline of the port name never reaches line protocol


def series(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted({"site": "HT", "device": "sw-01", **labels}.items()))


def test_fan_and_power_supply_states_follow_the_parts() -> None:
    telemetry = installed()
    devices = telemetry.get(device_metrics.PLUGIN)
    poll = device_poll()
    assert poll.resources is not None
    poll.resources.fans = [HardwareState("Fan 1", "ok"), HardwareState("Fan 2", "failed")]
    poll.resources.power_supplies = [HardwareState("PSU 1", "ok")]
    devices.observe_poll("HT", poll)
    got = samples(telemetry.render())
    fan = "canhgac_device_fan_state"
    assert got[series(fan, fan="Fan 2", state="failed")] == 1
    assert got[series(fan, fan="Fan 1", state="ok")] == 1
    assert got[series("canhgac_device_power_supply_state", power_supply="PSU 1", state="ok")] == 1
    assert got[series("canhgac_device_memory_usage_ratio")] == 0.25  # used/total when no percent
    assert "hardware_failed=1i" in device_lines("HT", poll)[0]
    # Fan 2 replaced, PSU 1 pulled out: the old state series go, no stale "failed" stays behind.
    poll.resources.fans = [HardwareState("Fan 1", "ok"), HardwareState("Fan 2", "ok")]
    poll.resources.power_supplies = []
    devices.observe_poll("HT", poll)
    got = samples(telemetry.render())
    assert series(fan, fan="Fan 2", state="failed") not in got
    assert got[series(fan, fan="Fan 2", state="ok")] == 1
    assert not any(name == "canhgac_device_power_supply_state" for name, _ in got)


def test_optical_levels_and_no_light_follow_the_transceivers() -> None:
    telemetry = installed()
    devices = telemetry.get(device_metrics.PLUGIN)
    poll = device_poll()
    assert poll.resources is not None
    poll.resources.optics = [
        Optic("Te1/0/25", rx_dbm=-4.12, tx_dbm=-2.38, temperature_c=38.0),
        Optic("Te1/0/26", tx_dbm=-2.51, rx_no_light=True),
    ]
    devices.observe_poll("HT", poll)
    got = samples(telemetry.render())
    assert got[series("canhgac_device_optic_rx_dbm", port="Te1/0/25")] == -4.12
    assert got[series("canhgac_device_optic_tx_dbm", port="Te1/0/26")] == -2.51
    assert got[series("canhgac_device_optic_temperature_celsius", port="Te1/0/25")] == 38.0
    assert series("canhgac_device_optic_rx_dbm", port="Te1/0/26") not in got  # no light: no number
    assert got[series("canhgac_device_optic_no_light", port="Te1/0/26", direction="rx")] == 1
    assert got[series("canhgac_device_optic_no_light", port="Te1/0/25", direction="rx")] == 0
    # Te1/0/25 loses its light, the module of Te1/0/26 is pulled: no stale level or port stays.
    poll.resources.optics = [Optic("Te1/0/25", tx_dbm=-2.4, rx_no_light=True)]
    devices.observe_poll("HT", poll)
    got = samples(telemetry.render())
    assert series("canhgac_device_optic_rx_dbm", port="Te1/0/25") not in got
    assert got[series("canhgac_device_optic_no_light", port="Te1/0/25", direction="rx")] == 1
    assert not any(dict(labels).get("port") == "Te1/0/26" for _, labels in got)
