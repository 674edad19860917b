"""Where a MAC or IP address sits, from the switches' FDB and ARP tables, for a caller.

A MAC is learned on every switch between it and the poller's view: on its access port and on each
uplink. The access port is, among the sightings of the last few minutes, one with no LLDP/CDP
neighbour that is a known device, and then the one with the fewest MACs; the others follow. Only
devices in the caller's `scope_path` (None: the whole province) are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from canhgac_collector.devices.queries import name_keys
from canhgac_collector.sitetree import within
from canhgac_collector.store.models import ArpEntry, Device, DeviceNeighbor, MacLocation, Site

# Sightings older than the newest by more than this are "where it was", not "where it is".
FRESH = dt.timedelta(minutes=10)


def arp_pairs(
    session: Session,
    scope_path: str | None,
    *,
    ip: str | None = None,
    mac: str | None = None,
    limit: int = 50,
) -> Sequence[tuple[ArpEntry, str]]:
    """ARP entries (with the reporting device's name) of devices in scope for `ip` and/or `mac`,
    newest first."""
    stmt = within(
        select(ArpEntry, Device.name).join(Device, ArpEntry.device_id == Device.id).join(Site), scope_path
    )
    if ip is not None:
        stmt = stmt.where(ArpEntry.ip == ip)
    if mac is not None:
        stmt = stmt.where(ArpEntry.mac == mac)
    rows = session.execute(stmt.order_by(ArpEntry.last_seen.desc()).limit(limit)).all()
    return [(entry, name) for entry, name in rows]


@dataclass(frozen=True)
class Sighting:
    """A port that learned a MAC: where, how many MACs that port learned, and whether it is an uplink."""

    location: MacLocation
    device: str
    site: str
    macs_on_port: int
    uplink: bool


def mac_sightings(session: Session, scope_path: str | None, mac: str, *, limit: int = 200) -> list[Sighting]:
    """Every port of a device in scope that learned `mac` (at most `limit` read), best access-port
    candidate first: fresh before stale, access port before uplink, fewest MACs, newest, by device."""
    stmt = within(
        select(MacLocation, Device.name, Site.code)
        .join(Device, MacLocation.device_id == Device.id)
        .join(Site, Device.site_id == Site.id)
        .where(MacLocation.mac == mac),
        scope_path,
    )
    rows = session.execute(stmt.limit(limit)).all()
    if not rows:
        return []
    keys: set[tuple[int, int | None]] = {
        (m.device_id, m.if_index) for m, _, _ in rows if m.if_index is not None
    }
    device_ids = {d for d, _ in keys}
    per_port = dict.fromkeys(keys, 0)
    for device_id, if_index, n in session.execute(
        select(MacLocation.device_id, MacLocation.if_index, func.count())
        .where(MacLocation.device_id.in_(device_ids))
        .group_by(MacLocation.device_id, MacLocation.if_index)
    ):
        if (device_id, if_index) in per_port:
            per_port[(device_id, if_index)] = int(n)
    uplinks = _uplinks(session, device_ids)
    newest = max(m.last_seen for m, _, _ in rows)
    ranked = []
    for m, device_name, site_code in rows:
        key = (m.device_id, m.if_index)
        sighting = Sighting(m, device_name, site_code, per_port.get(key, 1), key in uplinks)
        stale = newest - m.last_seen > FRESH
        rank = (stale, sighting.uplink, sighting.macs_on_port, -m.last_seen.timestamp(), device_name)
        ranked.append((rank, sighting))
    ranked.sort(key=lambda r: r[0])
    return [sighting for _, sighting in ranked]


def _uplinks(session: Session, device_ids: set[int]) -> set[tuple[int, int]]:
    """(device id, ifIndex) of the ports of `device_ids` with a neighbour that is one of our devices: an
    IP phone or an access point also speaks LLDP, and the PC behind it is still on that access port.
    Every device counts as ours here, in scope or not, since this only classifies the caller's ports."""
    known: set[str] = set()
    for name, sys_name in session.execute(select(Device.name, Device.sys_name)):
        known.update(name_keys(name))
        known.update(name_keys(sys_name or ""))
    return {
        (d, i)
        for d, i, remote in session.execute(
            select(DeviceNeighbor.device_id, DeviceNeighbor.local_if_index, DeviceNeighbor.remote_name).where(
                and_(DeviceNeighbor.device_id.in_(device_ids), DeviceNeighbor.local_if_index.is_not(None))
            )
        )
        if i is not None and known.intersection(name_keys(remote or ""))
    }
