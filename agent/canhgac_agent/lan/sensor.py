"""The running sensor: one capture thread per interface (and a sweep thread when configured) feeding a
shared detector; `section()` hands over what happened since the previous call as `Report.lan`.

Loaded only when the role is enabled or `lan watch` runs: it imports scapy (through capture and the
vendor lookup). A capture that cannot open or that fails later is recorded in its `LanCapture.error`;
the other interfaces keep running, and so does the agent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from canhgac_agent.config import fields
from canhgac_agent.lan import CaptureNotPermitted, LanUnavailable, require_scapy
from canhgac_agent.lan.capture import Capture
from canhgac_agent.lan.detect import SEEN_FILE, Detector, DetectorSettings, SeenMacs
from canhgac_agent.lan.packets import parse_frame
from canhgac_agent.lan.sweep import SweepPlan, arp_request, plan_sweeps, targets

MAX_EVENTS = 1024  # LanSection.events
MAX_DEVICES = 4096  # LanSection.devices
HOUSEKEEPING_S = 5.0

_log = logging.getLogger(__name__)

EventSink = Callable[[dict[str, Any]], None]


class SensorSettings(NamedTuple):
    interfaces: tuple[str, ...]
    detector: DetectorSettings = DetectorSettings()
    state_dir: Path | None = None  # where the seen-MAC set persists; None: memory only
    subnets: tuple[str, ...] = ()
    sweep_interval_s: float = 0.0  # 0: no active sweep
    sweep_rate_pps: float = 20.0


def vendor_lookup() -> Callable[[str], str | None]:
    """The vendor of a MAC from scapy's OUI table (`conf.manufdb`), None when unknown."""
    from scapy.config import conf

    manufdb: Any = conf.manufdb

    def lookup(mac: str) -> str | None:
        try:
            name = manufdb._get_manuf(mac)
        except Exception:
            return None
        return name[:256] if isinstance(name, str) and name != mac else None

    return lookup


class LanSensor:
    """Captures, detects and keeps the interval's devices, events and capture health."""

    def __init__(self, settings: SensorSettings, on_event: EventSink | None = None) -> None:
        require_scapy()
        self.settings = settings
        self.on_event = on_event
        seen_path = settings.state_dir / SEEN_FILE if settings.state_dir else None
        self.detector = Detector(settings.detector, SeenMacs(seen_path), vendor_lookup())
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.captures: dict[str, Capture] = {}
        self.errors: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.events_dropped = 0
        self.threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, strict: bool = False) -> None:
        """Open every interface and start capturing. `strict` (the CLI): the first failure raises
        (`CaptureNotPermitted`, `LanUnavailable`); otherwise (the agent) it is kept as that
        interface's error and reported."""
        for name in self.settings.interfaces:
            try:
                self.captures[name] = Capture(name)
            except (CaptureNotPermitted, LanUnavailable, OSError) as exc:
                if strict:
                    self.close()
                    raise
                self.errors[name] = str(exc)[:2048]
                _log.error("LAN capture not started", extra=fields(interface=name, error=str(exc)))
        for name, capture in self.captures.items():
            self._spawn(f"lan-capture-{name}", self._capture_loop, capture)
        if self.settings.subnets and self.settings.sweep_interval_s > 0:
            plans, problems = plan_sweeps(self.settings.subnets, tuple(self.captures))
            for problem in problems:
                _log.warning("LAN sweep", extra=fields(problem=problem))
            if plans:
                self._spawn("lan-sweep", self._sweep_loop, plans)
        _log.info("capture started", extra=fields(interfaces=",".join(self.captures)))

    def _spawn(self, name: str, target: Callable[..., None], arg: Any) -> None:
        thread = threading.Thread(target=target, args=(arg,), name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.close()
        with self.lock:
            self.detector.seen.save(force=True)

    def close(self) -> None:
        for capture in self.captures.values():
            capture.close()

    def has_news(self) -> bool:
        """Events or devices not yet handed over by `section()`."""
        with self.lock:
            return bool(self.events or self.events_dropped or self.detector.interval_macs)

    # -- threads ----------------------------------------------------------------------------------

    def _capture_loop(self, capture: Capture) -> None:
        next_housekeeping = time.monotonic() + HOUSEKEEPING_S
        try:
            while not self.stopping.is_set():
                frame = capture.receive()
                if frame is not None:
                    observation = parse_frame(frame)
                    if observation is not None:
                        with self.lock:
                            self._emit(self.detector.feed(observation, capture.interface, time.time()))
                now = time.monotonic()
                if now >= next_housekeeping:
                    next_housekeeping = now + HOUSEKEEPING_S
                    with self.lock:
                        self.detector.seen.save(now)
        except Exception as exc:
            if self.stopping.is_set():
                return
            _log.exception("LAN capture failed", extra=fields(interface=capture.interface))
            with self.lock:
                self.errors[capture.interface] = f"{type(exc).__name__}: {exc}"[:2048]

    def _sweep_loop(self, plans: list[SweepPlan]) -> None:
        gap = 1.0 / self.settings.sweep_rate_pps
        while not self.stopping.is_set():
            for plan in plans:
                capture = self.captures[plan.interface]
                for target in targets(plan):
                    if self.stopping.is_set():
                        return
                    with self.lock:
                        self.detector.note_sweep(str(target), time.time())
                    try:
                        capture.send(arp_request(plan, target))
                    except OSError as exc:
                        _log.warning("LAN sweep send failed", extra=fields(target=str(target), error=exc))
                    self.stopping.wait(gap)
            self.stopping.wait(self.settings.sweep_interval_s)

    def _emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if len(self.events) < MAX_EVENTS:
                self.events.append(event)
            else:
                self.events_dropped += 1
            if self.on_event is not None:
                self.on_event(event)

    # -- the report section -------------------------------------------------------------------------

    def section(self) -> dict[str, Any]:
        """`Report.lan`: devices seen and events since the previous call; capture counters since start."""
        with self.lock:
            captures: list[dict[str, Any]] = []
            for name in self.settings.interfaces[:16]:
                entry: dict[str, Any] = {"interface": name, "packets_seen": 0, "packets_dropped": 0}
                capture = self.captures.get(name)
                if capture is not None:
                    try:
                        capture.update_stats()
                    except OSError as exc:
                        self.errors.setdefault(name, f"cannot read capture statistics: {exc}")
                    # Counters since the sensor started (the server exports them as Prometheus counters).
                    entry["packets_seen"] = capture.seen
                    entry["packets_dropped"] = capture.dropped
                if name in self.errors:
                    entry["error"] = self.errors[name]
                captures.append(entry)
            section = {
                "captures": captures,
                "devices": self.detector.take_devices()[:MAX_DEVICES],
                "events": self.events,
                "events_dropped": self.events_dropped,
            }
            self.events = []
            self.events_dropped = 0
            self.detector.seen.save(time.monotonic())
        return section


def settings_from_config(lan: Any, state_dir: Path) -> SensorSettings:
    """The sensor's settings from the agent config's `[lan]` table (a `LanConfig`)."""
    return SensorSettings(
        interfaces=lan.interfaces,
        detector=DetectorSettings(
            approved_dhcp_servers=frozenset(lan.approved_dhcp_servers),
            gateways=frozenset(lan.gateways),
            approved_macs=frozenset(lan.approved_macs),
            mac_flood_per_min=lan.mac_flood_per_min,
            hold_s=lan.hold_s,
        ),
        state_dir=state_dir,
        subnets=lan.subnets,
        sweep_interval_s=lan.sweep_interval_s,
        sweep_rate_pps=lan.sweep_rate_pps,
    )


def unavailable_section(interfaces: tuple[str, ...], error: str) -> dict[str, Any]:
    """`Report.lan` when the sensor could not start at all: each interface carries the reason."""
    captures = [
        {"interface": name, "packets_seen": 0, "packets_dropped": 0, "error": error[:2048]}
        for name in interfaces[:16]
    ]
    return {"captures": captures, "devices": [], "events": [], "events_dropped": 0}
