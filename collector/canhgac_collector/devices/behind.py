"""What hangs behind each device of a site: the devices downstream of it (LLDP/CDP) and the agent hosts
on its access ports (their own MACs in its FDB), so that alerting can group a dead switch's members
under that switch.

Direction. A site's devices and the LLDP/CDP links between them form a graph whose root is the device
nearest the site's uplink: the one with the most links to inventoried devices of other sites, then the
highest configured `role` (router/firewall, core, distribution, then access/other), then the most
links, then the name. A breadth-first walk from the root makes every other device the child of the
neighbour it was reached from; a part not linked to the root gets its own root by the same order. Where
the guess could go wrong (a chain of switches with the same role), setting `role` on the uplink device
fixes it.

Hosts. An agent host hangs on the device whose FDB learned one of its own MACs (`metrics.network` of its
newest report) on a port without an inventoried LLDP/CDP neighbour, its access port: an uplink port
learns every MAC behind it. The newest such sighting wins.

Bounded: a site with more than MAX_DEVICES devices or MAX_HOSTS hosts is not mapped (its members keep
alerting one by one); at most MAX_MACS MACs are read per host.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.devices.queries import name_keys
from canhgac_collector.lan.inventory import report_addresses
from canhgac_collector.store.models import Device, DeviceNeighbor, Host, MacLocation

MAX_DEVICES = 200  # a commune office has a handful; beyond this the guess is not worth the work
MAX_HOSTS = 2_000
MAX_MACS = 16  # own MACs read per host (a laptop with docks and virtual adapters stays small)
#: Lower is nearer the uplink; access and other (and anything unknown) come last.
ROLE_RANK = {"router": 0, "firewall": 0, "core": 1, "distribution": 2}


@dataclass
class SiteMap:
    """A site's devices as a tree hanging from its uplink: device name → the devices directly behind it,
    and → the ids of the agent hosts on its access ports."""

    children: dict[str, list[str]] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)


def site_maps(session: Session, site_ids: Collection[int]) -> dict[int, SiteMap]:
    """The map of each site in `site_ids` that has devices and stays within the bounds."""
    rows = session.execute(select(Device.id, Device.name, Device.sys_name, Device.site_id, Device.role)).all()
    known: dict[str, tuple[str, int]] = {}  # a name key → (device name, its site id)
    for row in rows:
        for key in (*name_keys(row.name), *name_keys(row.sys_name)):
            known.setdefault(key, (row.name, row.site_id))
    maps: dict[int, SiteMap] = {}
    for site_id in site_ids:
        devices = {r.id: str(r.name) for r in rows if r.site_id == site_id}
        if not devices or len(devices) > MAX_DEVICES:
            continue
        host_rows = session.execute(
            select(Host.id, Host.latest_report).where(Host.site_id == site_id).limit(MAX_HOSTS + 1)
        ).all()
        if len(host_rows) > MAX_HOSTS:
            continue
        links, outside, uplink_ports = _links(session, devices, known, site_id)
        roles = {str(r.name): str(r.role) for r in rows if r.site_id == site_id}
        site_map = _tree(sorted(roles), links, outside, roles)
        site_map.hosts = _attach(session, devices, host_rows, uplink_ports)
        maps[site_id] = site_map
    return maps


def _links(
    session: Session, names: dict[int, str], known: dict[str, tuple[str, int]], site_id: int
) -> tuple[dict[str, set[str]], dict[str, int], set[tuple[int, int | str]]]:
    """Links between the site's devices, each device's count of links out of the site, and its uplink
    ports: (device id, ifIndex or port name) with an inventoried neighbour."""
    links: dict[str, set[str]] = {name: set() for name in names.values()}
    outside: dict[str, int] = dict.fromkeys(names.values(), 0)
    uplink_ports: set[tuple[int, int | str]] = set()
    query = select(
        DeviceNeighbor.device_id,
        DeviceNeighbor.local_if_index,
        DeviceNeighbor.local_port,
        DeviceNeighbor.remote_name,
    ).where(DeviceNeighbor.device_id.in_(list(names)))
    for device_id, if_index, port, remote in session.execute(query):
        peer = next((known[k] for k in name_keys(remote) if k in known), None)
        me = names[device_id]
        if peer is None or peer[0] == me:
            continue  # a phone, an access point, a PC: not one of ours, so this is an access port
        if if_index is not None:
            uplink_ports.add((device_id, if_index))
        if port:
            uplink_ports.add((device_id, port))
        if peer[1] != site_id:
            outside[me] += 1
        else:
            links[me].add(peer[0])
            links[peer[0]].add(me)
    return links, outside, uplink_ports


def _tree(
    names: list[str], links: dict[str, set[str]], outside: dict[str, int], roles: dict[str, str]
) -> SiteMap:
    """Breadth-first from the device nearest the uplink; each part of the graph from its own root."""
    order = sorted(names, key=lambda n: (-outside[n], ROLE_RANK.get(roles[n], 3), -len(links[n]), n))
    site_map = SiteMap(children={n: [] for n in names})
    seen: set[str] = set()
    for root in order:
        if root in seen:
            continue
        seen.add(root)
        queue = deque([root])
        while queue:  # bounded: each device enters the queue once
            here = queue.popleft()
            for peer in sorted(links[here]):
                if peer not in seen:
                    seen.add(peer)
                    site_map.parent[peer] = here
                    site_map.children[here].append(peer)
                    queue.append(peer)
    return site_map


def _attach(
    session: Session,
    devices: dict[int, str],
    host_rows: Collection[tuple[str, bytes | None]],
    uplink_ports: set[tuple[int, int | str]],
) -> dict[str, list[str]]:
    """Device name → the hosts whose own MAC it learned on an access port (newest sighting wins)."""
    host_of: dict[str, str] = {}
    for host_id, report in host_rows:
        macs, _ = report_addresses(report)
        for mac in sorted(macs)[:MAX_MACS]:
            host_of.setdefault(mac, host_id)
    if not host_of:
        return {}
    best: dict[str, tuple[dt.datetime, str]] = {}  # host id → (last seen, device name)
    sightings = select(
        MacLocation.device_id,
        MacLocation.mac,
        MacLocation.if_index,
        MacLocation.port_name,
        MacLocation.last_seen,
    ).where(MacLocation.device_id.in_(list(devices)), MacLocation.mac.in_(list(host_of)))
    for device_id, mac, if_index, port, seen in session.execute(sightings):
        if (device_id, if_index) in uplink_ports or (port and (device_id, port) in uplink_ports):
            continue
        name = devices[device_id]
        host_id = host_of[mac]
        if host_id not in best or (seen, name) > best[host_id]:
            best[host_id] = (seen, name)
    out: dict[str, list[str]] = {}
    for host_id, (_, name) in sorted(best.items()):
        out.setdefault(name, []).append(host_id)
    return out
