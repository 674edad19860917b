"""Storing the `lan` section of agent reports: one more step of ingest, after the reports are committed.

Runs in the ingest worker, in its own transaction: a failure here is logged and counted by the caller
and loses nothing of the report itself. What it stores:

- the site's device table (`lan_devices`), one row per MAC, merged with what was stored before and
  capped per site (the longest unseen evicted first, counted);
- the detections as events `lan.<type>` (store/events.py), subject the MAC, IP or site. The sensor's
  own text is hostile input: it is kept as data only; the officer's text is composed here from the
  validated fields (IP, MAC), the site's name and where the switches learned the MAC;
- `lan.device_new` only for a MAC first stored at the site that is not known (approved, an agent host,
  an inventoried device), at most `max_new_device_events` per report;
- the sensor's capture health per interface of the reporting host.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.lan.approved import approved_for, entries_over
from canhgac_collector.lan.inventory import counts_by_site, known_macs, merged_inventory, port_locations
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Host, LanCaptureState, LanDevice, Site

log = logging.getLogger("canhgac.lan")

MAX_IPS = 16
MAX_NAMES = 8
MAX_EVENTS_PER_TYPE = 64  # stored per report and type; more are counted as dropped
EVENT_SUBJECT = {  # which field names the event's subject (one alert per subject and rule)
    "dhcp_rogue": ("mac", "ip"),
    "arp_spoof": ("mac", "ip"),
    "ip_conflict": ("ip", "mac"),
    "mac_flood": (),
    "device_new": ("mac",),
}
TEXT = {  # (Vietnamese, English) with {subject} and {site}
    "dhcp_rogue": ("Phát hiện máy chủ DHCP lạ {subject} tại {site}", "Rogue DHCP server {subject} at {site}"),
    "arp_spoof": ("Nghi giả mạo ARP: {subject} tại {site}", "Suspected ARP spoofing: {subject} at {site}"),
    "ip_conflict": ("Trùng địa chỉ IP {subject} tại {site}", "IP address conflict {subject} at {site}"),
    "mac_flood": ("Tràn bảng MAC: {subject} tại {site}", "MAC flooding: {subject} at {site}"),
    "device_new": ("Thiết bị lạ {subject} tại {site}", "Unknown device {subject} at {site}"),
}


@dataclass(frozen=True)
class LanLimits:
    """Bounds from the `lan:` section (the worker gets them at start)."""

    max_devices_per_site: int = 4096
    max_new_device_events: int = 16


@dataclass
class LanObservation:
    """What one host's stored LAN sections change on /metrics (encoded into the worker's reply)."""

    site: str
    host_id: str
    hostname: str
    events: Counter[str] = field(default_factory=Counter)  # stored, by type
    dropped: int = 0  # events the sensor or the server's bound dropped
    suppressed: int = 0  # detections of approved DHCP servers
    evicted: int = 0
    captures: list[tuple[str, int, int, bool]] = field(default_factory=list)  # iface, seen, dropped, error
    devices: dict[str, int] = field(default_factory=dict)  # known | unknown → devices of the site

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "host_id": self.host_id,
            "hostname": self.hostname,
            "events": dict(self.events),
            "dropped": self.dropped,
            "suppressed": self.suppressed,
            "evicted": self.evicted,
            "captures": [list(c) for c in self.captures],
            "devices": self.devices,
        }


class LanStore:
    """The LAN step of ingest over one engine."""

    def __init__(self, engine: Engine, limits: LanLimits | None = None) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.limits = limits or LanLimits()

    def record(self, host_id: str, reports: Sequence[Any]) -> LanObservation | None:
        """Store the `lan` sections of `reports` (one host's accepted reports, oldest first)."""
        sections = [r.lan for r in reports if getattr(r, "lan", None) is not None]
        if not sections:
            return None
        with self._sessions.begin() as session:
            return record_sections(session, host_id, sections, self.limits, dt.datetime.now(dt.UTC))


def _normal_ip(text: str | None) -> str | None:
    """The sensor's IP text as the approved lists write it, or None when it is not an address."""
    try:
        return str(ipaddress.ip_address(text)) if text else None
    except ValueError:
        return None


def _clamp(at: dt.datetime, now: dt.datetime) -> dt.datetime:
    return min(at.astimezone(dt.UTC), now)


def _merge_list(old: list[str], new: Sequence[str], bound: int) -> list[str]:
    """New values first, then the old ones, without repeats, at most `bound`."""
    out: list[str] = []
    for value in (*new, *old):
        if value not in out:
            out.append(value)
        if len(out) >= bound:
            break
    return out


def record_sections(
    session: Session, host_id: str, sections: Sequence[Any], limits: LanLimits, now: dt.datetime
) -> LanObservation:
    host = session.get(Host, host_id)
    if host is None:
        raise LookupError(f"host {host_id} no longer exists")
    site = session.get(Site, host.site_id)
    assert site is not None
    obs = LanObservation(site.code, host_id, host.hostname)
    new_macs = _store_devices(session, host, sections, limits, now, obs)
    approved = approved_for(entries_over(session, site.path), site.path)
    events = [e for s in sections for e in s.events]
    obs.dropped += sum(s.events_dropped for s in sections)
    subjects = [e.mac for e in events if e.mac] + sorted(new_macs)
    places = port_locations(session, subjects)
    per_type: Counter[str] = Counter()
    for e in events:
        if e.type == "device_new":
            continue  # the server decides what is new at the site (below)
        ip = _normal_ip(e.ip)
        if e.type == "dhcp_rogue" and (ip in approved.dhcp_servers or (e.mac or "") in approved.macs):
            obs.suppressed += 1
            continue
        per_type[e.type] += 1
        if per_type[e.type] > MAX_EVENTS_PER_TYPE:
            obs.dropped += 1
            continue
        data = {
            "mac": e.mac,
            "ip": e.ip,
            "interface": e.interface,
            "detail": dict(e.detail),
            "sensor_message": e.message,
            "host": host_id,
            "gateway": ip is not None and ip in approved.gateways,
        }
        _event(
            session,
            e.type,
            site,
            host_id,
            e.mac,
            e.ip,
            places.get(e.mac or "", []),
            e.detail,
            data,
            _clamp(e.time, now),
        )
        obs.events[e.type] += 1
    unknown = sorted(set(new_macs) - known_macs(session, site.path, set(new_macs)).keys())
    for mac in unknown[: limits.max_new_device_events]:
        ip = new_macs[mac]
        data = {"mac": mac, "ip": ip, "host": host_id}
        _event(session, "device_new", site, host_id, mac, ip, places.get(mac, []), {}, data, now)
        obs.events["device_new"] += 1
    obs.dropped += max(0, len(unknown) - limits.max_new_device_events)
    _store_captures(session, host_id, sections[-1].captures, now, obs)
    session.flush()
    obs.devices = {
        s: n for (_c, s), n in counts_by_site(merged_inventory(session, site.path)).items() if _c == site.code
    }
    return obs


def _store_devices(
    session: Session,
    host: Host,
    sections: Sequence[Any],
    limits: LanLimits,
    now: dt.datetime,
    obs: LanObservation,
) -> dict[str, str | None]:
    """Upsert the devices seen; returns the MACs stored at the site for the first time (→ an IP)."""
    seen: dict[str, Any] = {}
    for section in sections:
        for d in section.devices:
            seen[d.mac] = d  # the newest report's view of a MAC wins
        for e in section.events:  # a detection names a device the device list may not carry
            if e.type == "device_new" and e.mac and e.mac not in seen:
                seen[e.mac] = e
    if not seen:
        return {}
    macs = list(seen)
    stored: dict[str, LanDevice] = {}
    for start in range(0, len(macs), 500):
        rows = session.scalars(
            select(LanDevice).where(
                LanDevice.site_id == host.site_id, LanDevice.mac.in_(macs[start : start + 500])
            )
        )
        stored.update((row.mac, row) for row in rows)
    new: dict[str, str | None] = {}
    for mac, d in seen.items():
        ips = list(getattr(d, "ips", None) or ([d.ip] if getattr(d, "ip", None) else []))
        names = list(getattr(d, "names", None) or [])
        sources = list(getattr(d, "sources", None) or [])
        first = _clamp(getattr(d, "first_seen", None) or d.time, now)
        last = _clamp(getattr(d, "last_seen", None) or d.time, now)
        row = stored.get(mac)
        if row is None:
            session.add(
                LanDevice(
                    site_id=host.site_id,
                    mac=mac,
                    ips=ips[:MAX_IPS],
                    vendor=getattr(d, "vendor", None),
                    names=names[:MAX_NAMES],
                    sources=sorted(set(sources)),
                    first_seen=min(first, last),
                    last_seen=last,
                    host_id=host.id,
                )
            )
            new[mac] = ips[0] if ips else None
            continue
        row.ips = _merge_list(row.ips or [], ips, MAX_IPS)
        row.names = _merge_list(row.names or [], names, MAX_NAMES)
        row.sources = sorted(set(row.sources or []) | set(sources))
        row.vendor = getattr(d, "vendor", None) or row.vendor
        row.first_seen = min(row.first_seen, first)
        row.last_seen = max(row.last_seen, last)
        row.host_id = host.id
    session.flush()
    obs.evicted = _evict(session, host.site_id, limits.max_devices_per_site)
    return new


def _evict(session: Session, site_id: int, cap: int) -> int:
    """Keep at most `cap` devices at the site: the ones unseen longest go."""
    total = session.scalar(select(func.count()).select_from(LanDevice).where(LanDevice.site_id == site_id))
    excess = (total or 0) - cap
    if excess <= 0:
        return 0
    oldest = list(
        session.scalars(
            select(LanDevice.mac)
            .where(LanDevice.site_id == site_id)
            .order_by(LanDevice.last_seen, LanDevice.mac)
            .limit(excess)
        )
    )
    for start in range(0, len(oldest), 500):
        session.execute(
            delete(LanDevice).where(
                LanDevice.site_id == site_id, LanDevice.mac.in_(oldest[start : start + 500])
            )
        )
    log.warning("lan: site_id=%s over %d devices; evicted the %d unseen longest", site_id, cap, len(oldest))
    return len(oldest)


def subject_name(
    kind: str, mac: str | None, ip: str | None, places: list[dict[str, Any]], detail: Any
) -> str:
    """How people see the subject: "IP (MAC @ switch port)", from validated fields only."""
    where = ", ".join(f"{p['device']} {p['port'] or '?'}" for p in places[:2])
    if kind == "mac_flood":
        count = str(detail.get("count", "")) if hasattr(detail, "get") else ""
        return f"{count} MAC" if count.isdigit() and len(count) <= 9 else "MAC"
    inner = " @ ".join(x for x in (mac, where) if x)
    if ip and inner:
        return f"{ip} ({inner})"
    return ip or inner or "?"


def _event(
    session: Session,
    kind: str,
    site: Site,
    host_id: str,
    mac: str | None,
    ip: str | None,
    places: list[dict[str, Any]],
    detail: Any,
    data: dict[str, Any],
    at: dt.datetime,
) -> None:
    fields = {"mac": mac, "ip": ip}
    key = next((f for f in EVENT_SUBJECT[kind] if fields[f]), None)
    subject_type, subject_id = (key, str(fields[key])) if key else ("site", site.code)
    shown = subject_name(kind, mac, ip, places, detail)
    vi, en = TEXT[kind]
    record_event(
        session,
        kind=f"lan.{kind}",
        subject_type=subject_type,
        subject_id=subject_id,
        site_id=site.id,
        message=f"{vi.format(subject=shown, site=site.name)} / {en.format(subject=shown, site=site.name)}",
        data={**data, "subject_name": shown, "ports": places[:4]},
        at=at,
    )


def _store_captures(
    session: Session, host_id: str, captures: Sequence[Any], now: dt.datetime, obs: LanObservation
) -> None:
    """The newest report's capture health replaces the host's previous one."""
    session.execute(delete(LanCaptureState).where(LanCaptureState.host_id == host_id))
    seen: set[str] = set()
    for c in captures:
        if c.interface in seen:
            continue
        seen.add(c.interface)
        session.add(
            LanCaptureState(
                host_id=host_id,
                interface=c.interface,
                packets_seen=c.packets_seen,
                packets_dropped=c.packets_dropped,
                error=c.error,
                reported_at=now,
            )
        )
        obs.captures.append((c.interface, c.packets_seen, c.packets_dropped, c.error is not None))
