"""Reading devices for a caller: listings, one device with its tallies, interfaces, neighbours matched to
known devices, and the rows the topology graph is drawn from.

Every read takes the caller's `scope_path` (None: the whole province) and never returns a device whose
site lies outside it; one out of scope is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from canhgac_collector.hosts.queries import host_names
from canhgac_collector.sitetree import under, within
from canhgac_collector.store.models import (
    ArpEntry,
    Device,
    DeviceInterface,
    DeviceNeighbor,
    MacLocation,
    Site,
)
from canhgac_collector.store.sites import Page, page


def state_counts(session: Session) -> dict[tuple[str, str], int]:
    """(site code, device state) → devices: the `canhgac_devices` roll-up."""
    rows = session.execute(
        select(Site.code, Device.state, func.count())
        .join(Device, Device.site_id == Site.id)
        .group_by(Site.code, Device.state)
    ).all()
    return {(code, state): n for code, state, n in rows}


def name_keys(name: str | None) -> list[str]:
    """Lookup keys for a system name: 'SW-A1.xa-a.gov.vn' → ['sw-a1.xa-a.gov.vn', 'sw-a1'] (how LLDP and
    CDP names are matched to devices and hosts); none for an empty name."""
    low = (name or "").strip().lower()
    if not low:
        return []
    if low.replace(".", "").isdigit():  # an IPv4 address is not a domain name
        return [low]
    short = low.split(".", 1)[0]
    return [low, short] if short and short != low else [low]


def list_devices(
    session: Session,
    scope_path: str | None,
    *,
    subtree: str | None = None,
    state: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[tuple[Device, Site]]:
    """Devices in scope (and under the site path `subtree`, in `state` when given), by site path then
    name."""
    stmt = under(select(Device, Site).join(Site, Device.site_id == Site.id), scope_path, subtree)
    if state is not None:
        stmt = stmt.where(Device.state == state)
    return page(session, stmt.order_by(Site.path, Device.name), limit, offset)


def find_device(session: Session, scope_path: str | None, name: str) -> tuple[Device, Site] | None:
    """Device `name` with its site, or None when it is absent or out of scope."""
    stmt = within(
        select(Device, Site).join(Site, Device.site_id == Site.id).where(Device.name == name), scope_path
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1])


def device_name_taken(session: Session, name: str) -> bool:
    """Whether any device, in any site, is named `name`: names are unique across the province, so this
    check deliberately ignores the caller's scope."""
    return session.scalar(select(Device.id).where(Device.name == name)) is not None


@dataclass(frozen=True)
class DeviceTallies:
    """How much a device reports: interfaces (up; down though enabled), neighbours, MACs, ARP pairs."""

    interfaces: int
    interfaces_up: int
    interfaces_down: int
    neighbors: int
    macs: int
    arp: int


def device_tallies(session: Session, device_id: int) -> DeviceTallies:
    """The tallies of device `device_id` (found through `find_device`, so already in the caller's scope)."""
    n_if, n_up, n_down = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((DeviceInterface.oper_status == "up", 1), else_=0)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            (DeviceInterface.oper_status != "up") & (DeviceInterface.admin_status == "up"),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(DeviceInterface.device_id == device_id)
    ).one()

    def count(model: type[DeviceNeighbor] | type[MacLocation] | type[ArpEntry]) -> int:
        stmt = select(func.count()).select_from(model).where(model.device_id == device_id)
        return int(session.scalar(stmt) or 0)

    return DeviceTallies(
        interfaces=int(n_if),
        interfaces_up=int(n_up),
        interfaces_down=int(n_down),
        neighbors=count(DeviceNeighbor),
        macs=count(MacLocation),
        arp=count(ArpEntry),
    )


def device_interfaces(session: Session, device_id: int) -> Sequence[DeviceInterface]:
    """The interfaces of device `device_id` (found through `find_device`), by ifIndex."""
    stmt = (
        select(DeviceInterface)
        .where(DeviceInterface.device_id == device_id)
        .order_by(DeviceInterface.if_index)
    )
    return session.scalars(stmt).all()


def known_device_names(session: Session, scope_path: str | None) -> dict[str, str]:
    """name key (of a device's name or sysName) → device name, for the devices in scope."""
    stmt = within(select(Device.name, Device.sys_name).join(Site, Device.site_id == Site.id), scope_path)
    by_name: dict[str, str] = {}
    for dev_name, sys_name in session.execute(stmt):
        for key in (*name_keys(dev_name), *name_keys(sys_name or "")):
            by_name.setdefault(key, dev_name)
    return by_name


def device_neighbors(
    session: Session, scope_path: str | None, device_id: int
) -> list[tuple[DeviceNeighbor, str | None]]:
    """The LLDP/CDP neighbours of device `device_id` by local ifIndex, each with the name of the device
    in scope it is (None when it matches none: a device out of scope is not named)."""
    rows = session.scalars(
        select(DeviceNeighbor)
        .where(DeviceNeighbor.device_id == device_id)
        .order_by(DeviceNeighbor.local_if_index)
    ).all()
    if not rows:
        return []
    by_name = known_device_names(session, scope_path)
    return [
        (n, next((by_name[k] for k in name_keys(n.remote_name or "") if k in by_name), None)) for n in rows
    ]


@dataclass(frozen=True)
class TopologyRows:
    """What the topology graph is drawn from: devices with their site codes (by name), their neighbours
    (in the order seen), and (id, hostname, state, site code) of the hosts a neighbour may be."""

    devices: Sequence[tuple[Device, str]]
    neighbors: Sequence[DeviceNeighbor]
    hosts: Sequence[tuple[str, str, str, str]]


def topology_rows(session: Session, scope_path: str | None, subtree: str | None = None) -> TopologyRows:
    """The devices in scope (and under `subtree` when given), their neighbours, and the hosts there;
    hosts are read only when there is a neighbour to match them to."""
    stmt = under(select(Device, Site.code).join(Site, Device.site_id == Site.id), scope_path, subtree)
    devices = [(d, code) for d, code in session.execute(stmt.order_by(Device.name))]
    ids = [d.id for d, _ in devices]
    neighbors = (
        session.scalars(
            select(DeviceNeighbor).where(DeviceNeighbor.device_id.in_(ids)).order_by(DeviceNeighbor.id)
        ).all()
        if ids
        else []
    )
    hosts = host_names(session, scope_path, subtree) if neighbors else []
    return TopologyRows(devices, neighbors, hosts)
