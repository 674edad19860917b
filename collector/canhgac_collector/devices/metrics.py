"""Devices on `/metrics` and in history: device and interface series, the SNMP poller's self-metrics, and
the `device` and `interface` history measurements.

The poller thread hands every poll to `observe_poll`; the device roll-up by site and state is refreshed
by the poller's writer after each stored batch. Label `ifname` (promtool wants lower case; IF-MIB's
`ifName` stays the InfluxDB tag), rates in bytes per second (the base unit).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from canhgac_collector.devices.edge.convert import device_poll
from canhgac_collector.metrics.exposition import Registry
from canhgac_collector.metrics.history import line, tag_set
from canhgac_collector.metrics.telemetry import MetricsPlugin, Telemetry

if TYPE_CHECKING:
    from canhgac_agent.snmp.results import DevicePoll, Resources

log = logging.getLogger("canhgac.devices")

DEVICE = ("site", "device")
INTERFACE = ("site", "device", "ifname")
DEVICE_STATES = ("up", "down", "error", "unknown", "delayed")  # delayed: edge-polled, no recent poll
# Series caps: a province is ~1,000 switches of ~50 ports.
MAX_DEVICES = 10_000
MAX_SENSORS = 50_000
MAX_INTERFACES = 500_000


class DeviceMetrics:
    """Written by the SNMP poller thread; a lost increment under a race is acceptable for metrics."""

    def __init__(self, registry: Registry, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        # SNMP poller: polls by outcome (ok or an SnmpError reason), time spent, devices by site and state.
        self.snmp_polls: Counter[str] = Counter()
        self.snmp_poll_seconds_sum = 0.0
        self.snmp_varbinds = 0
        self.snmp_record_queue_depth = 0
        self.devices_by_site_state: dict[tuple[str, str], int] = {}
        self._device_ifs: dict[str, set[tuple[str, ...]]] = {}
        self._device_parts: dict[tuple[str, str], set[tuple[str, ...]]] = {}  # fan/PSU series per device
        self._device_optics: dict[str, set[tuple[str, ...]]] = {}  # (site, device, port) per device
        self._newest: dict[tuple[str, str], float] = {}  # (site, device) → newest poll's start, unix
        self.edge_polls: Counter[str] = Counter()  # edge polls by outcome (devices/edge/ingest.py)
        self.edge_polls_dropped = 0
        g = registry.family
        d = registry.dynamic
        d(
            "canhgac_devices",
            "gauge",
            "Devices by site and state (up, down, error, unknown).",
            ("site", "state"),
            lambda: (((s, st), n) for (s, st), n in sorted(self.devices_by_site_state.items())),
        )
        self.device_up = g(
            "canhgac_device_up",
            "gauge",
            "1 when the device answered its last SNMP poll.",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_state = g(
            "canhgac_device_state",
            "gauge",
            "1 for the device's state: that of its last poll, or delayed (edge-polled, no recent poll).",
            (*DEVICE, "state"),
            MAX_DEVICES * len(DEVICE_STATES),
        )
        self.device_poll = g(
            "canhgac_device_poll_duration_seconds",
            "gauge",
            "Wall time of the device's last poll.",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_last_poll = g(
            "canhgac_device_last_poll_timestamp_seconds",
            "gauge",
            "Unix time the device's last poll started.",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_cpu = g(
            "canhgac_device_cpu_usage_ratio",
            "gauge",
            "Device CPU load, 0..1 (the device's profile: vendor MIB or HOST-RESOURCES).",
            DEVICE,
            MAX_DEVICES,
        )
        self.device_mem = g(
            "canhgac_device_memory_usage_ratio", "gauge", "Device memory used, 0..1.", DEVICE, MAX_DEVICES
        )
        self.device_temp = g(
            "canhgac_device_temperature_celsius",
            "gauge",
            "Device sensor temperature.",
            (*DEVICE, "sensor"),
            MAX_SENSORS,
        )
        self.device_fan = g(
            "canhgac_device_fan_state",
            "gauge",
            "1 for the fan's state (ok, warning, failed, absent, unknown) as the device profile reads it.",
            (*DEVICE, "fan", "state"),
            MAX_SENSORS,
        )
        self.device_psu = g(
            "canhgac_device_power_supply_state",
            "gauge",
            "1 for the power supply's state (ok, warning, failed, absent, unknown).",
            (*DEVICE, "power_supply", "state"),
            MAX_SENSORS,
        )
        optic = (*DEVICE, "port")
        self.optic_rx = g(
            "canhgac_device_optic_rx_dbm",
            "gauge",
            "Transceiver receive power, dBm (absent while the port receives no light).",
            optic,
            MAX_SENSORS,
        )
        self.optic_tx = g(
            "canhgac_device_optic_tx_dbm", "gauge", "Transceiver transmit power, dBm.", optic, MAX_SENSORS
        )
        self.optic_temp = g(
            "canhgac_device_optic_temperature_celsius",
            "gauge",
            "Transceiver module temperature.",
            optic,
            MAX_SENSORS,
        )
        self.optic_no_light = g(
            "canhgac_device_optic_no_light",
            "gauge",
            "1 when the transceiver reports no light in that direction (rx, tx), else 0.",
            (*optic, "direction"),
            MAX_SENSORS * 2,
        )
        self.if_up = g(
            "canhgac_interface_oper_up",
            "gauge",
            "1 when ifOperStatus is up, else 0.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_admin = g(
            "canhgac_interface_admin_up",
            "gauge",
            "1 when ifAdminStatus is up, else 0.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_speed = g(
            "canhgac_interface_speed_bytes_per_second", "gauge", "Interface speed.", INTERFACE, MAX_INTERFACES
        )
        self.if_in = g(
            "canhgac_interface_in_bytes_per_second",
            "gauge",
            "Received rate between the last two polls.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_out = g(
            "canhgac_interface_out_bytes_per_second",
            "gauge",
            "Sent rate between the last two polls.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_util = g(
            "canhgac_interface_utilisation_ratio",
            "gauge",
            "max(in, out) / speed, 0..1.",
            INTERFACE,
            MAX_INTERFACES,
        )
        self.if_errors = g(
            "canhgac_interface_errors_per_second",
            "gauge",
            "Errored packets per second.",
            (*INTERFACE, "direction"),
            MAX_INTERFACES * 2,
        )
        self.if_discards = g(
            "canhgac_interface_discards_per_second",
            "gauge",
            "Discarded packets per second.",
            (*INTERFACE, "direction"),
            MAX_INTERFACES * 2,
        )
        d(
            "canhgac_device_data_age_seconds",
            "gauge",
            "Seconds since the newest poll of the device started (edge polls arrive late after a cut).",
            DEVICE,
            lambda: ((k, round(max(0.0, time.time() - t), 3)) for k, t in sorted(self._newest.items())),
        )
        d(
            "canhgac_edge_polls_total",
            "counter",
            "Edge polls (from agents) by outcome: stored, late (history only), or why refused.",
            ("outcome",),
            lambda: (((o,), n) for o, n in sorted(self.edge_polls.items())),
        )
        d(
            "canhgac_edge_polls_dropped_total",
            "counter",
            "Edge polls the agents could not fit into their reports.",
            (),
            lambda: [((), self.edge_polls_dropped)],
        )
        d(
            "canhgac_snmp_polls_total",
            "counter",
            "Device polls by outcome (ok, or why it failed).",
            ("outcome",),
            lambda: (((o,), n) for o, n in sorted(self.snmp_polls.items())),
        )
        d(
            "canhgac_snmp_poll_seconds_total",
            "counter",
            "Wall time spent polling devices.",
            (),
            lambda: [((), round(self.snmp_poll_seconds_sum, 6))],
        )
        d(
            "canhgac_snmp_varbinds_total",
            "counter",
            "Varbinds received from devices.",
            (),
            lambda: [((), self.snmp_varbinds)],
        )
        d(
            "canhgac_snmp_record_queue_depth",
            "gauge",
            "Device polls waiting to be stored.",
            (),
            lambda: [((), self.snmp_record_queue_depth)],
        )

    def observe_poll(self, site: str, poll: DevicePoll) -> None:
        """One device poll (SNMP poller thread, or an edge poll from the API process): history points at
        the poll's time; device and interface values unless a newer poll of the device was seen."""
        dev = poll.device
        key = (site, dev)
        influx = self.telemetry.influx
        if influx is not None:
            influx.write(device_lines(site, poll))
        newest = self._newest.get(key)
        if newest is not None and poll.started_at < newest:
            return  # late (an edge poll delivered after a newer one): history only
        if newest is not None or len(self._newest) < MAX_DEVICES:
            self._newest[key] = poll.started_at
        self.device_up.set(key, 1 if poll.state == "up" else 0)
        for s in DEVICE_STATES:
            self.device_state.set((site, dev, s), 1 if s == poll.state else 0)
        self.device_poll.set(key, round(poll.duration_s, 6))
        self.device_last_poll.set(key, round(poll.started_at, 3))
        res = poll.resources
        if res is not None:
            if res.cpu_percent is not None:
                self.device_cpu.set(key, res.cpu_percent / 100.0)
            memory = memory_ratio(res)
            if memory is not None:
                self.device_mem.set(key, memory)
            for sensor, celsius in res.temperatures_c.items():
                self.device_temp.set((site, dev, sensor), celsius)
            for fam, parts in ((self.device_fan, res.fans), (self.device_psu, res.power_supplies)):
                now: set[tuple[str, ...]] = {(site, dev, part.name, part.state) for part in parts}
                for labels in self._device_parts.get((fam.name, dev), set()) - now:
                    fam.remove(labels)  # the part left that state, or was pulled out
                for labels in now:
                    fam.set(labels, 1)
                self._device_parts[(fam.name, dev)] = now
            self._observe_optics(site, dev, res)
        if poll.state == "up" and poll.interfaces:
            seen: set[tuple[str, ...]] = set()
            for itf in poll.interfaces:
                k = (site, dev, interface_name(itf))
                seen.add(k)
                self.if_up.set(k, 1 if itf.ifOperStatus == "up" else 0)
                self.if_admin.set(k, 1 if itf.ifAdminStatus == "up" else 0)
                speed = interface_speed(itf)
                if speed is not None:
                    self.if_speed.set(k, speed / 8.0)
                for fam, value in (
                    (self.if_in, None if itf.in_bps is None else itf.in_bps / 8.0),
                    (self.if_out, None if itf.out_bps is None else itf.out_bps / 8.0),
                    (self.if_util, itf.utilisation),
                ):
                    if value is not None:
                        fam.set(k, value)
                for fam, direction, value in (
                    (self.if_errors, "in", itf.in_errors_ps),
                    (self.if_errors, "out", itf.out_errors_ps),
                    (self.if_discards, "in", itf.in_discards_ps),
                    (self.if_discards, "out", itf.out_discards_ps),
                ):
                    if value is not None:
                        fam.set((*k, direction), value)
            gone = self._device_ifs.get(dev, set()) - seen
            if gone:  # ports that disappeared (module removed, renumbered): drop their series
                self._forget_interfaces(gone)
            self._device_ifs[dev] = seen

    def apply_edge(self, observation: dict[str, Any]) -> None:
        """One host's edge step (the ingest worker's reply): counts, then each accepted poll as the
        server's own polls are observed; one that fails is logged, the others go on."""
        self.edge_polls.update(observation["outcomes"])
        self.edge_polls_dropped += observation["dropped"]
        for data in observation["polls"]:
            try:
                self.observe_poll(observation["site"], device_poll(data))
            except Exception:
                log.exception("could not hand the edge poll of %s to metrics/history", data.get("device"))

    def _observe_optics(self, site: str, dev: str, res: Resources) -> None:
        """Each transceiver's levels; a port whose module was pulled loses its series."""
        seen: set[tuple[str, ...]] = set()
        for optic in res.optics:
            k: tuple[str, ...] = (site, dev, optic.name)
            seen.add(k)
            for fam, value in (
                (self.optic_rx, optic.rx_dbm),
                (self.optic_tx, optic.tx_dbm),
                (self.optic_temp, optic.temperature_c),
            ):
                if value is None:
                    fam.remove(k)  # no light now: no stale level
                else:
                    fam.set(k, value)
            self.optic_no_light.set((*k, "rx"), 1 if optic.rx_no_light else 0)
            self.optic_no_light.set((*k, "tx"), 1 if optic.tx_no_light else 0)
        for k in self._device_optics.get(dev, set()) - seen:
            for fam in (self.optic_rx, self.optic_tx, self.optic_temp):
                fam.remove(k)
            for direction in ("rx", "tx"):
                self.optic_no_light.remove((*k, direction))
        self._device_optics[dev] = seen

    def _forget_interfaces(self, keys: set[tuple[str, ...]]) -> None:
        for fam in (self.if_up, self.if_admin, self.if_speed, self.if_in, self.if_out, self.if_util):
            for k in keys:
                fam.remove(k)
        for fam in (self.if_errors, self.if_discards):
            fam.remove_where(lambda labels: labels[:3] in keys)


PLUGIN = MetricsPlugin("devices", DeviceMetrics)


def interface_name(itf: Any) -> str:
    return str(itf.ifName or itf.ifDescr or f"ifIndex{itf.ifIndex}")


def memory_ratio(res: Resources) -> float | None:
    """Memory used 0..1: the profile's percent (some vendors give only that), else used/total."""
    if res.memory_percent is not None:
        return res.memory_percent / 100.0
    if res.memory_total_bytes and res.memory_used_bytes is not None:
        return res.memory_used_bytes / res.memory_total_bytes
    return None


def interface_speed(itf: Any) -> float | None:
    if itf.ifHighSpeed:
        return float(itf.ifHighSpeed) * 1_000_000
    if itf.ifSpeed is not None:
        return float(itf.ifSpeed)
    return None


# --- history: measurements `device` and `interface` -------------------------------------------------


def device_lines(site: str, poll: DevicePoll) -> list[str]:
    """Line protocol for one poll: `device`, and `interface` per port (rates once two samples exist)."""
    ts = int(poll.started_at * 1000)
    res = poll.resources
    fields: dict[str, float | int | bool | str | None] = {
        "up": 1.0 if poll.state == "up" else 0.0,
        "poll_duration_seconds": float(poll.duration_s),
    }
    if res is not None:
        fields["cpu_usage_ratio"] = None if res.cpu_percent is None else res.cpu_percent / 100.0
        fields["memory_usage_ratio"] = memory_ratio(res)
        if res.temperatures_c:
            fields["temperature_max_celsius"] = float(max(res.temperatures_c.values()))
        parts = (*res.fans, *res.power_supplies)
        if parts:
            fields["hardware_failed"] = sum(1 for p in parts if p.state == "failed")
    out = [line(tag_set("device", (("site", site), ("device", poll.device))), fields, ts)]
    for itf in poll.interfaces:
        out.append(
            line(
                tag_set(
                    "interface", (("site", site), ("device", poll.device), ("ifName", interface_name(itf)))
                ),
                {
                    "oper_up": 1.0 if itf.ifOperStatus == "up" else 0.0,
                    "in_bps": itf.in_bps,
                    "out_bps": itf.out_bps,
                    "utilisation_ratio": itf.utilisation,
                    "in_errors_ps": itf.in_errors_ps,
                    "out_errors_ps": itf.out_errors_ps,
                    "in_discards_ps": itf.in_discards_ps,
                    "out_discards_ps": itf.out_discards_ps,
                },
                ts,
            )
        )
    return [p for p in out if p]
