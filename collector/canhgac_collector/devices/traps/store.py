"""Traps into the store: which device sent it, and one transaction per batch of events.

A trap belongs to the device whose management address sent it; a v3 trap from elsewhere still finds
its device by engine ID (configured, or learned from an earlier trap from the device's own address).
A link trap updates its interface row at once (oper status, admin status, last change): the alert
rules read it on their next evaluation, which the writer asks for right after the commit.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from canhgac_collector.devices.traps.translate import RAW, Translated, describe
from canhgac_collector.store.models import Device, DeviceInterface, Event

MAX_LEARNED_ENGINES = 10_000


@dataclass(frozen=True, slots=True)
class DeviceRef:
    id: int
    name: str
    site_id: int


@dataclass(slots=True)
class Received:
    """One trap on its way to storage (or a storm summary, kind `trap.storm`)."""

    at: dt.datetime
    source: str
    device: DeviceRef | None
    trap: Translated


def normal_address(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


class DeviceDirectory:
    """Address / engine ID → device, rebuilt from the store (devices named by an IP address; a device
    known by a DNS name only is found by its engine ID, when configured)."""

    def __init__(self, engine_ids: dict[str, str]) -> None:
        self.configured_engines = {
            name: bytes.fromhex(hex_id.removeprefix("0x")) for name, hex_id in engine_ids.items()
        }
        self.by_address: dict[str, DeviceRef] = {}
        self.by_engine: dict[bytes, DeviceRef] = {}
        self.learned: dict[bytes, DeviceRef] = {}

    def load(self, session: Session) -> int:
        by_address: dict[str, DeviceRef] = {}
        by_name: dict[str, DeviceRef] = {}
        rows = session.execute(
            select(Device.id, Device.name, Device.site_id, Device.address).order_by(Device.name)
        )
        for device_id, name, site_id, address in rows:
            ref = DeviceRef(device_id, name, site_id)
            by_name[name] = ref
            normal = normal_address(address)
            if normal is not None:
                by_address.setdefault(normal, ref)  # two devices behind one address: the first by name
        self.by_address = by_address
        self.by_engine = {e: by_name[n] for n, e in self.configured_engines.items() if n in by_name}
        names = set(by_name)
        self.learned = {e: ref for e, ref in self.learned.items() if ref.name in names}
        return len(by_name)

    def find(self, source: str, engine_id: bytes = b"") -> DeviceRef | None:
        ref = self.by_address.get(source)
        if engine_id:
            if ref is not None:
                if len(self.learned) >= MAX_LEARNED_ENGINES:
                    self.learned.clear()
                self.learned[engine_id] = ref
            else:
                ref = self.by_engine.get(engine_id) or self.learned.get(engine_id)
        return ref


_SET_LINK = (
    update(DeviceInterface)
    .where(
        DeviceInterface.device_id == bindparam("b_device"), DeviceInterface.if_index == bindparam("b_index")
    )
    .values(oper_status=bindparam("b_oper"), last_change_at=bindparam("b_at"))
)
_SET_LINK_ADMIN = _SET_LINK.values(admin_status=bindparam("b_admin"))


def write_batch(session: Session, batch: Sequence[Received]) -> int:
    """Store a batch in the caller's transaction: one event per trap, link states onto their
    interfaces. Returns how many link states changed (the caller then asks for an alert evaluation)."""
    links = [(r.device.id, r.trap.if_index) for r in batch if r.device is not None and r.trap.is_link]
    names: dict[tuple[int, int], str] = {}
    if links:
        wanted = {d for d, _ in links}
        for device_id, if_index, if_name, if_descr in session.execute(
            select(
                DeviceInterface.device_id,
                DeviceInterface.if_index,
                DeviceInterface.if_name,
                DeviceInterface.if_descr,
            ).where(DeviceInterface.device_id.in_(wanted))
        ):
            names[(device_id, if_index)] = (if_name or if_descr or str(if_index))[:64]
    events: list[dict[str, Any]] = []
    set_link: list[dict[str, Any]] = []
    set_link_admin: list[dict[str, Any]] = []
    for r in batch:
        events.append(_event(r, names))
        t = r.trap
        if r.device is None or not t.is_link or (r.device.id, t.if_index) not in names:
            continue
        row = {"b_device": r.device.id, "b_index": t.if_index, "b_oper": t.oper_status, "b_at": r.at}
        if t.admin_status is not None:
            set_link_admin.append({**row, "b_admin": t.admin_status})
        else:
            set_link.append(row)
    connection = session.connection()
    if events:
        connection.execute(insert(Event), events)
    if set_link:
        connection.execute(_SET_LINK, set_link)
    if set_link_admin:
        connection.execute(_SET_LINK_ADMIN, set_link_admin)
    return len(set_link) + len(set_link_admin)


def _event(r: Received, names: dict[tuple[int, int], str]) -> dict[str, Any]:
    t = r.trap
    data = dict(t.data, source=r.source)
    kind = t.kind
    if r.device is None:  # an unknown source's trap stays raw, whatever it says
        subject_type, subject_id, site_id, who, port = "address", r.source, None, r.source, None
        if kind != "trap.storm":
            kind, data["meaning"] = RAW, t.kind
    elif t.is_link and t.if_index is not None:
        port = names.get((r.device.id, t.if_index), f"ifIndex {t.if_index}")
        subject_type, subject_id, site_id, who = (
            "interface",
            f"{r.device.name}/{t.if_index}",
            r.device.site_id,
            r.device.name,
        )
        data["if_index"] = t.if_index
    else:
        subject_type, subject_id, site_id, who, port = (
            "device",
            r.device.name,
            r.device.site_id,
            r.device.name,
            None,
        )
    if t.kind == "trap.storm":
        message = (
            f"{who}: bão trap, {t.data.get('suppressed')} trap bị bỏ qua / "
            f"{who}: trap storm, {t.data.get('suppressed')} traps suppressed"
        )
    else:
        message = describe(t.kind, who, port)
    return {
        "at": r.at,
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id[:64],
        "site_id": site_id,
        "from_state": None,
        "to_state": t.oper_status if t.is_link else None,
        "actor": "snmp-trap",
        "message": message,
        "data": data,
    }
