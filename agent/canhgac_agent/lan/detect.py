"""The device table, the set of MACs ever seen, and the detections, fed one observation at a time.

Pure Python and deterministic (time is passed in), so the rules are tested without a network. Every
structure is bounded: the table, the IP→MAC bindings, the seen set, the hold-down keys. A detection is
emitted once per occurrence: its key (e.g. the rogue server's IP and MAC) is then held for `hold_s`.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from canhgac_agent.lan.packets import (
    ARP_REPLY,
    DHCP_ACK,
    DHCP_OFFER,
    NO_IP,
    ArpSeen,
    DhcpSeen,
    NameSeen,
    Observation,
)

MAX_IPS = 16
MAX_NAMES = 8
MAX_BINDINGS = 8192
MAX_HELD = 4096
MAX_SEEN = 16384
SEEN_FILE = "lan-seen.json"
SEEN_SAVE_EVERY_S = 60.0
FLOOD_WINDOW_S = 60.0
BURST_WINDOW_S = 10.0
SOLICITED_WITHIN_S = 5.0

VendorLookup = Callable[[str], str | None]


class DetectorSettings(NamedTuple):
    approved_dhcp_servers: frozenset[str] = frozenset()  # empty: rogue DHCP detection off
    gateways: frozenset[str] = frozenset()
    approved_macs: frozenset[str] = frozenset()
    mac_flood_per_min: int = 200
    hold_s: float = 600.0
    max_devices: int = 4096
    conflict_window_s: float = 60.0  # two MACs claiming one IP within this span: a conflict
    unsolicited_replies: int = 20  # unsolicited ARP replies from one MAC in BURST_WINDOW_S: spoofing


class Device:
    """One MAC on the LAN, as the table keeps it."""

    __slots__ = ("first_seen", "ips", "last_seen", "mac", "names", "sources", "vendor")

    def __init__(self, mac: str, now: float, vendor: str | None) -> None:
        self.mac = mac
        self.ips: list[str] = []
        self.names: list[str] = []
        self.sources: list[str] = []
        self.first_seen = now
        self.last_seen = now
        self.vendor = vendor

    def as_report(self) -> dict[str, Any]:
        """The `LanDevice` dict."""
        out: dict[str, Any] = {
            "mac": self.mac,
            "ips": list(self.ips),
            "names": list(self.names),
            "sources": list(self.sources),
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
        }
        if self.vendor:
            out["vendor"] = self.vendor
        return out


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def _add_bounded(items: list[str], value: str, bound: int) -> None:
    """Append `value` (most recent last); beyond `bound` the oldest entry goes."""
    if value in items:
        if items[-1] != value:
            items.remove(value)
            items.append(value)
        return
    items.append(value)
    if len(items) > bound:
        del items[0]


class SeenMacs:
    """MACs ever seen on this LAN, with when they were last seen, so a restart does not re-announce them.

    Kept in `<state_dir>/lan-seen.json` (written atomically, at most every minute); the least recently
    seen MAC goes beyond `MAX_SEEN`, so a flood of random MACs ages out while real devices stay.
    """

    def __init__(self, path: Path | None, bound: int = MAX_SEEN) -> None:
        self.path = path
        self.bound = bound
        self.macs: OrderedDict[str, int] = OrderedDict()
        self.dirty = False
        self.saved_at = 0.0
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return  # missing or unreadable: start empty (every device is announced once more)
        if isinstance(data, dict):
            pairs = [(k, v) for k, v in data.items() if isinstance(k, str) and isinstance(v, int)]
            for mac, at in sorted(pairs, key=lambda p: p[1])[-self.bound :]:
                self.macs[mac.lower()[:17]] = at

    def __contains__(self, mac: str) -> bool:
        return mac in self.macs

    def touch(self, mac: str, now: float) -> None:
        at = int(now)
        if self.macs.get(mac) == at:
            return
        self.macs[mac] = at
        self.macs.move_to_end(mac)
        if len(self.macs) > self.bound:
            self.macs.popitem(last=False)
        self.dirty = True

    def save(self, now: float | None = None, *, force: bool = False) -> None:
        """Write the file when something changed (and a minute has passed, unless `force`)."""
        at = time.monotonic() if now is None else now
        if self.path is None or not self.dirty or (not force and at - self.saved_at < SEEN_SAVE_EVERY_S):
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(dict(self.macs), separators=(",", ":")), encoding="ascii")
        os.replace(tmp, self.path)
        self.dirty = False
        self.saved_at = at


class Detector:
    """Feeds observations into the table and returns the detections they trigger (as `LanEvent` dicts)."""

    def __init__(
        self, settings: DetectorSettings, seen: SeenMacs, vendor: VendorLookup | None = None
    ) -> None:
        self.settings = settings
        self.seen = seen
        self.vendor = vendor or (lambda _mac: None)
        self.table: OrderedDict[str, Device] = OrderedDict()
        self.interval_macs: set[str] = set()  # seen since the last `take_devices`
        self.bindings: OrderedDict[str, tuple[str, float]] = OrderedDict()  # ip -> (mac, last claim)
        self.held: OrderedDict[tuple[str, ...], float] = OrderedDict()  # key -> hold until
        self.new_macs: deque[float] = deque(maxlen=max(1000, settings.mac_flood_per_min * 2))
        self.asked: OrderedDict[str, float] = OrderedDict()  # ip asked for in an ARP request -> when
        self.replies: dict[str, deque[float]] = {}  # mac -> times of its unsolicited replies
        self.sweep_asked: OrderedDict[str, float] = OrderedDict()  # ip the active sweep asked -> when

    # -- the table ------------------------------------------------------------------------------

    def device(
        self,
        mac: str,
        now: float,
        source: str,
        interface: str,
        events: list[dict[str, Any]],
        ip: str | None = None,
    ) -> Device:
        """The table's entry for `mac` (created, and announced if new), touched and given `ip`."""
        dev = self.table.get(mac)
        if dev is None:
            dev = Device(mac, now, self.vendor(mac))
            if ip and ip != NO_IP:
                dev.ips.append(ip)
            self.table[mac] = dev
            if len(self.table) > self.settings.max_devices:
                oldest = next(iter(self.table))
                del self.table[oldest]
                self.interval_macs.discard(oldest)
            self._first_sight(dev, now, interface, events)
        else:
            self.table.move_to_end(mac)
            if ip and ip != NO_IP:
                _add_bounded(dev.ips, ip, MAX_IPS)
        dev.last_seen = now
        if source not in dev.sources:
            dev.sources.append(source)
        self.interval_macs.add(mac)
        self.seen.touch(mac, now)
        return dev

    def _first_sight(self, dev: Device, now: float, interface: str, events: list[dict[str, Any]]) -> None:
        if dev.mac in self.seen or dev.mac in self.settings.approved_macs:
            return
        self.new_macs.append(now)
        while self.new_macs and self.new_macs[0] < now - FLOOD_WINDOW_S:
            self.new_macs.popleft()
        count = len(self.new_macs)
        threshold = self.settings.mac_flood_per_min
        if count > threshold:
            if self._hold(("mac_flood", interface), now):
                events.append(
                    self._event(
                        "mac_flood",
                        now,
                        interface,
                        detail={"count": str(count), "threshold": str(threshold)},
                        message=f"Tràn bảng MAC: {count} địa chỉ MAC mới trong một phút trên {interface} "
                        f"(ngưỡng {threshold}) — MAC flood: {count} new MAC addresses in one minute on "
                        f"{interface} (threshold {threshold})",
                    )
                )
            return  # during a flood each random MAC is not announced on its own
        vendor = f" ({dev.vendor})" if dev.vendor else ""
        ip = dev.ips[-1] if dev.ips else None
        at = f" IP {ip}" if ip else ""
        events.append(
            self._event(
                "device_new",
                now,
                interface,
                mac=dev.mac,
                ip=ip,
                detail={"vendor": dev.vendor} if dev.vendor else {},
                message=f"Thiết bị mới trên mạng LAN: {dev.mac}{vendor}{at} trên {interface} — "
                f"New device on the LAN: {dev.mac}{vendor}{at} on {interface}",
            )
        )

    def take_devices(self) -> list[dict[str, Any]]:
        """The devices seen since the previous call (`LanSection.devices`)."""
        out = [self.table[mac].as_report() for mac in self.interval_macs if mac in self.table]
        self.interval_macs.clear()
        return out

    # -- detections -----------------------------------------------------------------------------

    def feed(self, obs: Observation, interface: str, now: float) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if isinstance(obs, ArpSeen):
            self._arp(obs, interface, now, events)
        elif isinstance(obs, DhcpSeen):
            self._dhcp(obs, interface, now, events)
        elif isinstance(obs, NameSeen):
            dev = self.device(obs.mac, now, obs.source, interface, events, obs.ip)
            _add_bounded(dev.names, obs.name, MAX_NAMES)
        return events

    def _hold(self, key: tuple[str, ...], now: float) -> bool:
        """True if `key` is not held (and hold it now): the detection is new."""
        until = self.held.get(key)
        if until is not None and until > now:
            return False
        self.held[key] = now + self.settings.hold_s
        self.held.move_to_end(key)
        while len(self.held) > MAX_HELD:
            self.held.popitem(last=False)
        return True

    def _event(
        self,
        kind: str,
        now: float,
        interface: str,
        *,
        message: str,
        mac: str | None = None,
        ip: str | None = None,
        detail: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "time": iso(now),
            "interface": interface,
            "mac": mac,
            "ip": ip,
            "detail": detail or {},
            "message": message,
        }

    def _arp(self, arp: ArpSeen, interface: str, now: float, events: list[dict[str, Any]]) -> None:
        source = "sweep" if self._answers_sweep(arp, now) else "arp"
        self.device(arp.mac, now, source, interface, events, arp.ip)
        if arp.eth_src != arp.mac:
            self.device(arp.eth_src, now, "arp", interface, events)
        if arp.op != ARP_REPLY:
            self._remember(self.asked, arp.target_ip, now)
        if arp.ip == NO_IP:  # a probe: someone wants target_ip
            self._probe(arp, interface, now, events)
            return
        gratuitous = arp.ip == arp.target_ip
        if arp.op == ARP_REPLY and not gratuitous and source != "sweep":
            asked = self.asked.get(arp.ip)
            if asked is None or now - asked > SOLICITED_WITHIN_S:
                self._unsolicited(arp, interface, now, events)
        previous = self.bindings.get(arp.ip)
        self._remember(self.bindings, arp.ip, (arp.mac, now))
        if previous is None or previous[0] == arp.mac:
            return
        old_mac, old_at = previous
        key = (arp.ip, *sorted((old_mac, arp.mac)))
        gateway = arp.ip in self.settings.gateways
        if not gateway and now - old_at > self.settings.conflict_window_s:
            return  # the old owner went quiet long ago: a new lease, not an attack
        if gateway or (arp.op == ARP_REPLY and not gratuitous):
            if self._hold(("arp_spoof", *key), now):
                role = " (gateway)" if gateway else ""
                events.append(
                    self._event(
                        "arp_spoof",
                        now,
                        interface,
                        mac=arp.mac,
                        ip=arp.ip,
                        detail={"old_mac": old_mac, "new_mac": arp.mac, "gateway": str(bool(role)).lower()},
                        message=f"Giả mạo ARP: địa chỉ {arp.ip}{role} chuyển từ {old_mac} sang {arp.mac} — "
                        f"ARP spoofing: {arp.ip}{role} moved from {old_mac} to {arp.mac}",
                    )
                )
        else:
            self._conflict(arp.ip, old_mac, arp.mac, interface, now, events, probe=False)

    def _probe(self, arp: ArpSeen, interface: str, now: float, events: list[dict[str, Any]]) -> None:
        holder = self.bindings.get(arp.target_ip)
        if holder and holder[0] != arp.mac and now - holder[1] <= self.settings.conflict_window_s:
            self._conflict(arp.target_ip, holder[0], arp.mac, interface, now, events, probe=True)

    def _conflict(
        self,
        ip: str,
        holder: str,
        claimant: str,
        interface: str,
        now: float,
        events: list[dict[str, Any]],
        *,
        probe: bool,
    ) -> None:
        if not self._hold(("ip_conflict", ip, *sorted((holder, claimant))), now):
            return
        events.append(
            self._event(
                "ip_conflict",
                now,
                interface,
                mac=claimant,
                ip=ip,
                detail={"holder_mac": holder, "claimant_mac": claimant, "probe": str(probe).lower()},
                message=f"Xung đột địa chỉ IP {ip}: {holder} và {claimant} cùng dùng — "
                f"IP address conflict on {ip}: claimed by both {holder} and {claimant}",
            )
        )

    def _unsolicited(self, arp: ArpSeen, interface: str, now: float, events: list[dict[str, Any]]) -> None:
        times = self.replies.get(arp.mac)
        if times is None:
            if len(self.replies) >= MAX_BINDINGS:
                self.replies.clear()  # bounded; a real burst refills its own entry at once
            times = self.replies[arp.mac] = deque(maxlen=self.settings.unsolicited_replies + 1)
        times.append(now)
        burst = len(times) > self.settings.unsolicited_replies and now - times[0] <= BURST_WINDOW_S
        if burst and self._hold(("arp_burst", arp.mac), now):
            count = len(times)
            events.append(
                self._event(
                    "arp_spoof",
                    now,
                    interface,
                    mac=arp.mac,
                    ip=arp.ip,
                    detail={"unsolicited_replies": str(count), "window_s": f"{BURST_WINDOW_S:g}"},
                    message=f"Giả mạo ARP: {arp.mac} gửi {count} trả lời ARP không ai hỏi trong "
                    f"{BURST_WINDOW_S:g} giây — ARP spoofing: {arp.mac} sent {count} unsolicited ARP "
                    f"replies in {BURST_WINDOW_S:g} s",
                )
            )

    def _dhcp(self, dhcp: DhcpSeen, interface: str, now: float, events: list[dict[str, Any]]) -> None:
        if dhcp.msg_type in (DHCP_OFFER, DHCP_ACK):
            self.device(dhcp.eth_src, now, "dhcp", interface, events, dhcp.src_ip)
            if dhcp.msg_type == DHCP_ACK:
                self.device(dhcp.client_mac, now, "dhcp", interface, events, dhcp.your_ip)
            self._check_server(dhcp, interface, now, events)
        else:
            client = self.device(dhcp.client_mac, now, "dhcp", interface, events)
            if dhcp.hostname:
                _add_bounded(client.names, dhcp.hostname, MAX_NAMES)

    def _check_server(self, dhcp: DhcpSeen, interface: str, now: float, events: list[dict[str, Any]]) -> None:
        """A DHCP OFFER/ACK from a server not approved: `dhcp_rogue`, once per server IP and MAC."""
        server_ip = dhcp.server_id or dhcp.src_ip
        approved = self.settings.approved_dhcp_servers
        mac = dhcp.eth_src
        if not approved or server_ip in approved or not self._hold(("dhcp_rogue", server_ip, mac), now):
            return
        gateway = dhcp.router or "-"
        dns = ", ".join(dhcp.dns) or "-"
        detail = {"server_mac": mac, "server_ip": server_ip, "offered_ip": dhcp.your_ip}
        if dhcp.router:
            detail["offered_gateway"] = dhcp.router
        if dhcp.dns:
            detail["offered_dns"] = ",".join(dhcp.dns)
        events.append(
            self._event(
                "dhcp_rogue",
                now,
                interface,
                mac=mac,
                ip=server_ip,
                detail=detail,
                message=f"Phát hiện máy chủ DHCP lạ {server_ip} ({mac}) cấp gateway {gateway}, DNS {dns} — "
                f"Rogue DHCP server {server_ip} ({mac}) offering gateway {gateway}, DNS {dns}",
            )
        )

    # -- helpers --------------------------------------------------------------------------------

    def note_sweep(self, ip: str, now: float) -> None:
        """The active sweep asked for `ip`: a reply within a few seconds counts as source "sweep"."""
        self._remember(self.sweep_asked, ip, now)

    def _answers_sweep(self, arp: ArpSeen, now: float) -> bool:
        asked = self.sweep_asked.get(arp.ip)
        return arp.op == ARP_REPLY and asked is not None and now - asked <= SOLICITED_WITHIN_S

    @staticmethod
    def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        if len(store) > MAX_BINDINGS:
            store.popitem(last=False)
