"""The approved network diagram: a site's LLDP/CDP link set, approved by a person, and its drift.

A link joins two (device, port) ends. Its far end is the inventoried device the neighbour's name
matches (name or sysName, with or without the domain), else the neighbour's own name/chassis id. A link
between two inventoried devices is taken from the report of the one whose name sorts first (when it
reports that pair at all), so a link seen from both ends, each spelling the other's port its own way, is
one link. Approving stores the current set with who and when (`TopologySnapshot`); a compliance scan
compares the live set with the newest snapshot (NW-30: diagram kept current, and its age).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.devices.queries import name_keys
from canhgac_collector.store.models import Device, DeviceNeighbor, Site, TopologySnapshot

MAX_LINKS = 20_000  # far beyond a province's network; a bigger set is refused, never cut
MAX_SHOWN = 50  # added/removed links listed in a scan's facts (the counts are always exact)
MAX_APPROVER = 200

Link = tuple[str, str, str, str]  # (a, a_port, b, b_port) with (a, a_port) <= (b, b_port)


class TopologyError(ValueError):
    """An approval that cannot be made (unknown site, bad approver, too many links); says why."""


def _link(a: str, a_port: str, b: str, b_port: str) -> Link:
    first, second = sorted(((a, a_port), (b, b_port)))
    return (first[0], first[1], second[0], second[1])


def link_label(link: Link) -> str:
    """``SW-A[Gi0/1] — SW-B[Gi0/2]``: how a link is shown in evidence."""
    return f"{link[0]}[{link[1]}] — {link[2]}[{link[3]}]"


def current_links(session: Session, site_path: str) -> set[Link]:
    """The live link set of the site subtree at `site_path`, from the devices' stored neighbours."""
    in_subtree = Site.path.startswith(site_path, autoescape=True)
    rows = session.execute(
        select(Device.id, Device.name).join(Site, Device.site_id == Site.id).where(in_subtree)
    ).all()
    names = {row.id: row.name for row in rows}
    by_key: dict[str, str] = {}
    for _id, name, sys_name in session.execute(select(Device.id, Device.name, Device.sys_name)).all():
        for key in (*name_keys(name), *name_keys(sys_name)):
            by_key.setdefault(key, name)
    if not names:
        return set()
    reports: list[tuple[str, str, str, str, bool]] = []  # me, my port, peer, peer port, peer is a device
    for n in session.scalars(select(DeviceNeighbor).where(DeviceNeighbor.device_id.in_(list(names)))):
        me = names[n.device_id]
        device = next((by_key[k] for k in name_keys(n.remote_name) if k in by_key), None)
        peer = device or n.remote_name or n.remote_chassis_id or n.remote_address or "?"
        if peer == me:
            continue
        my_port = n.local_port or (str(n.local_if_index) if n.local_if_index is not None else "?")
        reports.append((me, my_port, peer, n.remote_port or "?", device is not None))
    reporters = {(me, peer) for me, _, peer, _, _ in reports}
    links: set[Link] = set()
    for me, my_port, peer, peer_port, is_device in reports:
        if is_device and me > peer and (peer, me) in reporters:
            continue  # the other end, whose name sorts first, reports this pair
        links.add(_link(me, my_port, peer, peer_port))
    return links


def latest_snapshot(session: Session, site_id: int) -> TopologySnapshot | None:
    return session.scalars(
        select(TopologySnapshot)
        .where(TopologySnapshot.site_id == site_id)
        .order_by(TopologySnapshot.id.desc())
        .limit(1)
    ).first()


def approve_topology(
    session: Session, site_code: str, approved_by: str, *, now: dt.datetime | None = None
) -> TopologySnapshot:
    """Store the site subtree's current link set as its approved diagram, by `approved_by`, now."""
    who = approved_by.strip()
    if not who or len(who) > MAX_APPROVER:
        raise TopologyError(f"approver must be 1–{MAX_APPROVER} characters, got {len(who)}")
    site = session.scalars(select(Site).where(Site.code == site_code, Site.active.is_(True))).first()
    if site is None:
        raise TopologyError(f"unknown site {site_code!r}")
    links = current_links(session, site.path)
    if len(links) > MAX_LINKS:
        raise TopologyError(f"{len(links)} links: more than {MAX_LINKS}, refusing to store")
    snapshot = TopologySnapshot(
        site_id=site.id,
        approved_at=now or dt.datetime.now(dt.UTC),
        approved_by=who,
        links=[dict(zip(("a", "a_port", "b", "b_port"), link, strict=True)) for link in sorted(links)],
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def _stored_links(snapshot: TopologySnapshot) -> set[Link]:
    out: set[Link] = set()
    for item in snapshot.links or []:
        if isinstance(item, dict):
            ends = [str(item.get(key) or "?") for key in ("a", "a_port", "b", "b_port")]
            out.add(_link(*ends))
    return out


def topology_drift(session: Session, site_id: int, site_path: str) -> dict[str, Any]:
    """The live links against the site's newest approved snapshot: counts, added and removed links
    (at most MAX_SHOWN of each listed), and who approved it when (None: never approved)."""
    live = current_links(session, site_path)
    snapshot = latest_snapshot(session, site_id)
    approved = _stored_links(snapshot) if snapshot is not None else set()
    added = sorted(live - approved) if snapshot is not None else []
    removed = sorted(approved - live) if snapshot is not None else []
    return {
        "links": len(live),
        "approved_at": snapshot.approved_at.isoformat() if snapshot is not None else None,
        "approved_by": snapshot.approved_by if snapshot is not None else None,
        "approved_links": len(approved) if snapshot is not None else None,
        "added_count": len(added),
        "removed_count": len(removed),
        "added": [link_label(link) for link in added[:MAX_SHOWN]],
        "removed": [link_label(link) for link in removed[:MAX_SHOWN]],
    }
