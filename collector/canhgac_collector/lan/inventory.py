"""The merged LAN inventory of a site subtree: one entry per MAC, from every source that saw it.

Sources: the LAN sensor (`lan_devices`: which host saw it), the switches' FDB (`mac_locations`: which
switch and port, uplink ports left out since every MAC behind them is learned there too), the ARP
tables (`arp_entries`: its IP), the agent hosts (the MACs/IPs of their own interfaces) and the
inventoried SNMP devices (their interfaces' MACs). A device is **known** when it is approved (site
lists, config or API), is an enrolled agent host or is an inventoried device; anything else is
**unknown**. The compliance site target (NW-22) and `GET /api/v1/sites/{code}/lan` read this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.lan.approved import ApprovedSets, approved_for, entries_over
from canhgac_collector.store.models import (
    ArpEntry,
    Device,
    DeviceInterface,
    DeviceNeighbor,
    Host,
    LanDevice,
    MacLocation,
    Site,
)

NO_MAC = "00:00:00:00:00:00"
MAX_LISTED = 16  # ports, IPs, names kept per merged device


def norm_mac(text: Any) -> str | None:
    """A MAC as the store writes it (`aa:bb:cc:dd:ee:ff`), or None for anything else."""
    if not isinstance(text, str):
        return None
    mac = text.strip().lower().replace("-", ":")
    if len(mac) != 17 or mac == NO_MAC or any(c not in "0123456789abcdef:" for c in mac):
        return None
    return mac


def report_addresses(latest_report: bytes | None) -> tuple[set[str], set[str]]:
    """(MACs, IPs) of an agent's own interfaces, from its newest report (metrics.network)."""
    macs: set[str] = set()
    ips: set[str] = set()
    if not latest_report:
        return macs, ips
    try:
        report = orjson.loads(latest_report)
    except orjson.JSONDecodeError:
        return macs, ips
    network = (report.get("metrics") or {}).get("network") if isinstance(report, dict) else None
    for nic in network if isinstance(network, list) else []:
        for addr in (nic.get("addresses") or []) if isinstance(nic, dict) else []:
            if not isinstance(addr, dict):
                continue
            family, value = addr.get("family"), addr.get("address")
            if family in ("mac", "link", "AF_LINK", "AF_PACKET"):
                mac = norm_mac(value)
                if mac:
                    macs.add(mac)
            elif family in ("ipv4", "ipv6") and isinstance(value, str) and len(value) <= 45:
                ips.add(value)
    return macs, ips


@dataclass
class MergedDevice:
    """One MAC of the subtree and everything known about it."""

    mac: str
    site: str
    ips: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    vendor: str | None = None
    sources: set[str] = field(default_factory=set)  # lan, fdb, arp, agent, device
    lan_sources: set[str] = field(default_factory=set)  # how the sensor saw it: arp, dhcp, lldp…
    seen_by: set[str] = field(default_factory=set)  # hostnames of the sensors
    ports: list[dict[str, Any]] = field(default_factory=list)  # {device, port, vlan}
    host: str | None = None  # the agent host with this MAC
    device: str | None = None  # the inventoried device with this MAC
    approved: str | None = None  # the approved entry's label
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None

    @property
    def known(self) -> bool:
        return self.approved is not None or self.host is not None or self.device is not None

    @property
    def status(self) -> str:
        return "known" if self.known else "unknown"

    def add_ip(self, ip: str | None) -> None:
        if ip and ip not in self.ips and len(self.ips) < MAX_LISTED:
            self.ips.append(ip)

    def saw(self, at: dt.datetime | None) -> None:
        if at is None:
            return
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)
        self.last_seen = at if self.last_seen is None else max(self.last_seen, at)

    def where(self) -> str:
        """Where to look first, for the officer: the switch ports, else the sensors."""
        if self.ports:
            return ", ".join(f"{p['device']} {p['port'] or '?'}" for p in self.ports[:3])
        return ", ".join(sorted(self.seen_by)[:3])


@dataclass
class SubtreeSites:
    ids: dict[int, tuple[str, str]]  # id → (code, path)

    @classmethod
    def load(cls, session: Session, path: str) -> SubtreeSites:
        rows = session.execute(
            select(Site.id, Site.code, Site.path).where(Site.path.startswith(path, autoescape=True))
        )
        return cls({i: (code, p) for i, code, p in rows})


def agent_addresses(session: Session, site_ids: Iterable[int]) -> dict[str, tuple[str, int, set[str]]]:
    """MAC → (hostname, site id, the host's IPs) of the agent hosts of these sites."""
    out: dict[str, tuple[str, int, set[str]]] = {}
    ids = list(site_ids)
    if not ids:
        return out
    for hostname, site_id, report in session.execute(
        select(Host.hostname, Host.site_id, Host.latest_report).where(Host.site_id.in_(ids))
    ):
        macs, ips = report_addresses(report)
        for mac in macs:
            out.setdefault(mac, (hostname, site_id, ips))
    return out


def device_macs(session: Session, site_ids: Iterable[int]) -> dict[str, tuple[str, int]]:
    """MAC → (device name, site id) of the inventoried devices' own interfaces."""
    ids = list(site_ids)
    out: dict[str, tuple[str, int]] = {}
    if not ids:
        return out
    stmt = (
        select(DeviceInterface.if_phys_address, Device.name, Device.site_id)
        .join(Device, DeviceInterface.device_id == Device.id)
        .where(Device.site_id.in_(ids))
    )
    for phys, name, site_id in session.execute(stmt):
        mac = norm_mac(phys)
        if mac:
            out.setdefault(mac, (name, site_id))
    return out


def known_macs(session: Session, site_path: str, macs: set[str]) -> dict[str, str]:
    """Which of `macs` are known at the site at `site_path`, each with why (approved label, host or
    device name): what the ingest of a sensor's report asks about MACs it has not stored before."""
    if not macs:
        return {}
    sites = SubtreeSites.load(session, site_path)
    approved = approved_for(entries_over(session, site_path), site_path)
    out = {m: f"approved: {approved.macs[m]}" for m in macs if m in approved.macs}
    rest = macs - out.keys()
    if rest:
        for mac, (name, _site) in device_macs(session, sites.ids).items():
            if mac in rest:
                out[mac] = f"device: {name}"
        for mac, (hostname, _site, _ips) in agent_addresses(session, sites.ids).items():
            if mac in rest:
                out.setdefault(mac, f"host: {hostname}")
    return out


def port_locations(session: Session, macs: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """MAC → where the switches learned it (device, port, vlan), newest first, uplinks left out."""
    wanted = list(set(macs))
    out: dict[str, list[dict[str, Any]]] = {}
    if not wanted:
        return out
    uplinks = _uplink_ports(session)
    for start in range(0, len(wanted), 500):
        stmt = (
            select(MacLocation, Device.name)
            .join(Device, MacLocation.device_id == Device.id)
            .where(MacLocation.mac.in_(wanted[start : start + 500]))
            .order_by(MacLocation.last_seen.desc())
        )
        for loc, name in session.execute(stmt):
            if (loc.device_id, loc.if_index) in uplinks:
                continue
            places = out.setdefault(loc.mac, [])
            if len(places) < MAX_LISTED:
                places.append({"device": name, "port": loc.port_name, "vlan": loc.vlan})
    return out


def _uplink_ports(session: Session, device_ids: list[int] | None = None) -> set[tuple[int, int | None]]:
    stmt = select(DeviceNeighbor.device_id, DeviceNeighbor.local_if_index)
    if device_ids is not None:
        stmt = stmt.where(DeviceNeighbor.device_id.in_(device_ids))
    return {(d, i) for d, i in session.execute(stmt)}


def merged_inventory(session: Session, path: str) -> list[MergedDevice]:
    """Every MAC of the subtree at `path`, merged across sources; unknown ones first, then by MAC."""
    sites = SubtreeSites.load(session, path)
    if not sites.ids:
        return []
    code_of = {i: code for i, (code, _p) in sites.ids.items()}
    path_of = {i: p for i, (_c, p) in sites.ids.items()}
    merged: dict[str, MergedDevice] = {}

    def entry(mac: str, site_id: int) -> MergedDevice:
        found = merged.get(mac)
        if found is None:
            found = merged[mac] = MergedDevice(mac, code_of[site_id])
        return found

    site_of: dict[str, int] = {}  # MAC → the site whose approved lists apply
    lan_rows = session.execute(
        select(LanDevice, Host.hostname)
        .outerjoin(Host, LanDevice.host_id == Host.id)
        .where(LanDevice.site_id.in_(sites.ids))
    )
    for seen, hostname in lan_rows:
        d = entry(seen.mac, seen.site_id)
        site_of.setdefault(seen.mac, seen.site_id)
        d.sources.add("lan")
        d.lan_sources.update(seen.sources or [])
        if hostname:
            d.seen_by.add(hostname)
        for ip in seen.ips or []:
            d.add_ip(ip)
        for name in seen.names or []:
            if name not in d.names and len(d.names) < MAX_LISTED:
                d.names.append(name)
        d.vendor = d.vendor or seen.vendor
        d.saw(seen.first_seen)
        d.saw(seen.last_seen)
    for mac, (hostname, site_id, ips) in agent_addresses(session, sites.ids).items():
        d = entry(mac, site_id)
        site_of.setdefault(mac, site_id)
        d.sources.add("agent")
        d.host = hostname
        for ip in sorted(ips):
            d.add_ip(ip)
    for mac, (name, site_id) in device_macs(session, sites.ids).items():
        d = entry(mac, site_id)
        site_of.setdefault(mac, site_id)
        d.sources.add("device")
        d.device = name
    device_ids = [i for (i,) in session.execute(select(Device.id).where(Device.site_id.in_(sites.ids)))]
    if device_ids:
        uplinks = _uplink_ports(session, device_ids)
        fdb = session.execute(
            select(MacLocation, Device.name, Device.site_id)
            .join(Device, MacLocation.device_id == Device.id)
            .where(MacLocation.device_id.in_(device_ids))
            .order_by(MacLocation.last_seen.desc())
        )
        for loc, name, site_id in fdb:
            if (loc.device_id, loc.if_index) in uplinks or norm_mac(loc.mac) is None:
                continue
            d = entry(loc.mac, site_id)
            site_of.setdefault(loc.mac, site_id)
            d.sources.add("fdb")
            if len(d.ports) < MAX_LISTED:
                d.ports.append({"device": name, "port": loc.port_name, "vlan": loc.vlan})
            d.saw(loc.last_seen)
        arp = session.execute(
            select(ArpEntry, Device.site_id)
            .join(Device, ArpEntry.device_id == Device.id)
            .where(ArpEntry.device_id.in_(device_ids))
        )
        for pair, site_id in arp:
            if norm_mac(pair.mac) is None:
                continue
            d = entry(pair.mac, site_id)
            site_of.setdefault(pair.mac, site_id)
            d.sources.add("arp")
            d.add_ip(pair.ip)
            d.saw(pair.last_seen)
    entries = entries_over(session, path)
    by_site: dict[int, ApprovedSets] = {}
    for mac, d in merged.items():
        site_id = site_of[mac]
        approved = by_site.get(site_id)
        if approved is None:
            approved = by_site[site_id] = approved_for(entries, path_of[site_id])
        d.approved = approved.macs.get(mac)
    return sorted(merged.values(), key=lambda d: (d.known, d.mac))


def counts_by_site(devices: Iterable[MergedDevice]) -> dict[tuple[str, str], int]:
    """(site code, known|unknown) → devices, for /metrics."""
    out: dict[tuple[str, str], int] = {}
    for d in devices:
        key = (d.site, d.status)
        out[key] = out.get(key, 0) + 1
    return out
