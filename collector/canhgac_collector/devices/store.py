"""Devices in the state store: the config's inventory, poll targets for the poller, and poll results.

The poller hands each `DevicePoll` to `record_polls` (through `DeviceSink` from its thread); one poll
costs one UPDATE of the device row and one multi-row statement per table it touches (interfaces,
neighbours, MACs, ARP), so ~1,000 devices a minute stay a small load on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.modules.interfaces import last_change_time
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import DeviceTarget, Target
from canhgac_collector.config import DeviceConfig, ServerConfig, SnmpPollConfig
from canhgac_collector.devices.configs.credentials import ssh_fields
from canhgac_collector.devices.edge.view import edge_polled
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import (
    ArpEntry,
    Device,
    DeviceInterface,
    DeviceNeighbor,
    MacLocation,
    Site,
)
from canhgac_collector.store.secrets import SecretBox, SecretsError

log = logging.getLogger("canhgac.devices")

UNKNOWN_VLAN = 0  # FDB entries without a VLAN (BRIDGE-MIB dot1dTpFdbTable) are stored under VLAN 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def device_fields(cfg: DeviceConfig, site_id: int, box: SecretBox) -> dict[str, Any]:
    """The columns a `DeviceConfig` (from the config file or an API body) sets, secrets encrypted."""
    return {
        "address": cfg.address,
        "port": cfg.port,
        "site_id": site_id,
        "role": cfg.role,
        "snmp_version": cfg.snmp.version,
        "snmp_secret_enc": box.encrypt_snmp(cfg.snmp),
        "poll_interval_s": cfg.poll_interval_s,
        "timeout_s": cfg.timeout_s,
        "retries": cfg.retries,
        **ssh_fields(cfg.ssh, box),
        "poller": cfg.poller,
    }


def new_device(name: str, fields: dict[str, Any], source: str, now: dt.datetime | None = None) -> Device:
    now = now or _now()
    return Device(
        name=name,
        source=source,
        state="unknown",
        state_changed_at=now,
        created_at=now,
        updated_at=now,
        **fields,
    )


SECRET_COLUMNS = ("snmp_secret_enc", "ssh_secret_enc")  # Fernet tokens: compared by what they hold


def _same_secret(box: SecretBox, stored: bytes | None, new: bytes | None) -> bool:
    if stored is None or new is None:
        return stored is new
    try:
        return box.decrypt(stored) == box.decrypt(new)
    except SecretsError:
        return False  # stored under another key: the config is authoritative, re-encrypt


def sync_config_devices(session: Session, cfg: ServerConfig, box: SecretBox) -> dict[str, int]:
    """Make the store's config-sourced devices match `cfg.devices`: add and update them, delete the
    ones no longer configured; devices created through the API are left alone (a config device with
    the same name takes such a device over). Returns counts: added, updated, removed."""
    site_ids: dict[str, int] = dict(session.execute(select(Site.code, Site.id)).all())
    existing = {d.name: d for d in session.scalars(select(Device))}
    now = _now()
    counts = {"added": 0, "updated": 0, "removed": 0}
    for dc in cfg.devices:
        fields = device_fields(dc, site_ids[dc.site], box)
        device = existing.get(dc.name)
        if device is None:
            device = new_device(dc.name, fields, "config", now)
            session.add(device)
            session.flush()
            counts["added"] += 1
            record_event(
                session,
                kind="device.added",
                subject_type="device",
                subject_id=dc.name,
                site_id=device.site_id,
                message=f"Thêm thiết bị {dc.name} từ cấu hình / device added from config",
            )
            continue
        if device.source != "config":
            log.warning("config device takes over an API-created device of the same name name=%s", dc.name)
        changed = device.source != "config"
        # Back to server polling, or moved to another site (whose agents may claim it): no owner.
        if device.edge_host_id is not None and (dc.poller == "server" or device.site_id != fields["site_id"]):
            device.edge_host_id = None
            changed = True
        for key, value in fields.items():
            if key in SECRET_COLUMNS:
                if not _same_secret(box, getattr(device, key), value):
                    setattr(device, key, value)
                    changed = True
            elif getattr(device, key) != value:
                setattr(device, key, value)
                changed = True
        if changed:
            device.source = "config"
            device.updated_at = now
            counts["updated"] += 1
    configured = {dc.name for dc in cfg.devices}
    for name, device in existing.items():
        if device.source == "config" and name not in configured:
            record_event(
                session,
                kind="device.removed",
                subject_type="device",
                subject_id=name,
                site_id=device.site_id,
                message=f"Thiết bị {name} không còn trong cấu hình / device removed from config",
            )
            session.delete(device)
            counts["removed"] += 1
    session.flush()
    if any(counts.values()):
        log.info("config devices synced added=%d updated=%d removed=%d", *counts.values())
    return counts


def load_device_targets(session: Session, box: SecretBox, defaults: SnmpPollConfig) -> list[DeviceTarget]:
    """Every device the server polls as the poller needs it, credentials decrypted: not those polled by
    an agent of their site (`poller: edge`, or `auto` once an agent's host owns it). A device whose
    secrets do not decrypt is left out and named in one error log line (never with any secret)."""
    rows = session.execute(
        select(Device, Site.code)
        .join(Site, Device.site_id == Site.id)
        .where(~edge_polled())
        .order_by(Device.name)
    )
    targets: list[DeviceTarget] = []
    failed: list[str] = []
    for device, site in rows:
        try:
            creds = box.credentials(device.snmp_secret_enc)
        except SecretsError:
            failed.append(device.name)
            continue
        target = Target(
            host=device.address,
            port=device.port,
            timeout_s=device.timeout_s if device.timeout_s is not None else defaults.timeout_s,
            retries=device.retries if device.retries is not None else defaults.retries,
        )
        interval = device.poll_interval_s if device.poll_interval_s is not None else defaults.poll_interval_s
        targets.append(DeviceTarget(device.name, site, target, creds, interval))
    if failed:
        log.error(
            "device secrets do not decrypt with key file %s; not polling count=%d devices=%s",
            box.path,
            len(failed),
            ",".join(failed[:10]),
        )
    return targets


_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: Sequence[str], keep: Iterable[str] = ()
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE every other column but `keep` (kept from the first insert,
    e.g. first_seen), as one executemany on the Core connection. Statements are built once."""
    if not rows:
        return
    t: Table = table
    dialect = session.get_bind().dialect.name
    stmt = _UPSERTS.get((dialect, t.name))
    if stmt is None:
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)
        frozen = {*keys, *keep}
        stmt = ins.on_conflict_do_update(
            index_elements=list(keys),
            set_={c.name: ins.excluded[c.name] for c in t.columns if c.name not in frozen},
        )
        _UPSERTS[(dialect, t.name)] = stmt
    session.connection().execute(stmt, rows)


def _wall_clock(unix: float | None) -> dt.datetime | None:
    return None if unix is None else dt.datetime.fromtimestamp(unix, dt.UTC)


def _failed(poll: DevicePoll, *words: str) -> bool:
    """Did a module named like one of `words` fail (so its old rows must be kept)? Short words must
    match the module name exactly, longer ones may be part of it."""
    names = [n.lower() for n in poll.module_errors]
    return any(n == w or (len(w) > 3 and w in n) for n in names for w in words)


def _state_message(name: str, old: str, poll: DevicePoll) -> str:
    why = f" ({poll.reason})" if poll.reason else ""
    detail = f": {poll.detail}" if poll.detail else ""
    vi = {"up": "hoạt động", "down": "không phản hồi", "error": "lỗi", "unknown": "chưa rõ"}
    return (
        f"Thiết bị {name} {vi.get(poll.state, poll.state)}{why} / device {name} {old} → {poll.state}{detail}"
    )


class _Batch:
    """Rows of a batch of polls, keyed so a device polled twice in one batch keeps its newest poll."""

    def __init__(self) -> None:
        self.interfaces: dict[tuple[int, int], dict[str, Any]] = {}
        self.if_seen: dict[int, set[int]] = {}  # device id → the ifIndexes its poll saw
        self.neighbors: dict[int, list[dict[str, Any]]] = {}  # device id → its neighbours (replaced)
        self.macs: dict[tuple[int, str, int], dict[str, Any]] = {}
        self.arp: dict[tuple[int, str], dict[str, Any]] = {}

    def write(self, session: Session) -> None:
        if self.if_seen:
            stored = session.execute(
                select(DeviceInterface.device_id, DeviceInterface.if_index).where(
                    DeviceInterface.device_id.in_(list(self.if_seen))
                )
            ).all()
            vanished: dict[int, list[int]] = {}
            for device_id, if_index in stored:
                if if_index not in self.if_seen[device_id]:
                    vanished.setdefault(device_id, []).append(if_index)
            for device_id, gone in vanished.items():  # rare: a module removed, a VLAN interface deleted
                session.execute(
                    delete(DeviceInterface).where(
                        DeviceInterface.device_id == device_id, DeviceInterface.if_index.in_(gone)
                    )
                )
        _upsert(session, DeviceInterface.__table__, list(self.interfaces.values()), ("device_id", "if_index"))
        if self.neighbors:
            session.execute(delete(DeviceNeighbor).where(DeviceNeighbor.device_id.in_(list(self.neighbors))))
            rows = [row for rows in self.neighbors.values() for row in rows]
            if rows:
                session.connection().execute(insert(DeviceNeighbor), rows)
        _upsert(
            session,
            MacLocation.__table__,
            list(self.macs.values()),
            ("device_id", "mac", "vlan"),
            ("first_seen",),
        )
        _upsert(session, ArpEntry.__table__, list(self.arp.values()), ("device_id", "ip"), ("first_seen",))


def record_polls(
    session: Session,
    polls: Sequence[DevicePoll],
    without_topology: Collection[DevicePoll] = (),
    keep_delayed: Collection[DevicePoll] = (),
) -> int:
    """Persist a batch of polls in the caller's transaction: system info, state (an event on each
    change), interfaces, neighbours, MAC and ARP locations. Each table gets one statement for the whole
    batch. Returns how many polls matched a device (those of devices deleted meanwhile are dropped).

    A poll older than the device's newest stored one (an edge poll delivered late or twice) changes
    nothing: the current state stays the newest. Polls in `without_topology` did not read neighbours,
    FDB and ARP (an edge poll with `topology` false): the stored ones are kept. Polls in `keep_delayed`
    (an edge backlog still older than the delay window) leave a "delayed" state as it is."""
    if not polls:
        return 0
    names = {p.device for p in polls}
    devices = {d.name: d for d in session.scalars(select(Device).where(Device.name.in_(names)))}
    # FDB ports are named from the interfaces; a poll whose interface walk failed uses the stored ones.
    need_names = [
        devices[p.device].id
        for p in polls
        if p.device in devices and p.state == "up" and p.fdb and not _interfaces_ok(p)
    ]
    stored_names: dict[int, dict[int, str | None]] = {}
    if need_names:
        for device_id, if_index, if_name in session.execute(
            select(DeviceInterface.device_id, DeviceInterface.if_index, DeviceInterface.if_name).where(
                DeviceInterface.device_id.in_(need_names)
            )
        ):
            stored_names.setdefault(device_id, {})[if_index] = if_name
    batch = _Batch()
    done = 0
    partial = {id(p) for p in without_topology}
    stale = {id(p) for p in keep_delayed}
    for poll in polls:
        device = devices.get(poll.device)
        if device is None:
            log.info("poll result for a device no longer in the store dropped device=%s", poll.device)
            continue
        done += 1
        if device.last_poll_at is not None and _finished_at(poll) < device.last_poll_at:
            continue  # older than what is stored: history only (metrics/history take it)
        _record_one(
            session,
            device,
            poll,
            batch,
            stored_names.get(device.id, {}),
            id(poll) not in partial,
            keep_state=id(poll) in stale and device.state == "delayed",
        )

    batch.write(session)
    session.flush()
    return done


def record_poll(session: Session, poll: DevicePoll) -> bool:
    """Persist one poll (see `record_polls`). False when the device is not in the store."""
    return record_polls(session, [poll]) == 1


def _interfaces_ok(poll: DevicePoll) -> bool:
    return bool(poll.interfaces) and not _failed(
        poll, "if", "interface", "iftable", "ifxtable", "if_mib", "if-mib"
    )


def _finished_at(poll: DevicePoll) -> dt.datetime:
    return dt.datetime.fromtimestamp(poll.started_at + poll.duration_s, dt.UTC)


def _record_interfaces(
    did: int, poll: DevicePoll, batch: _Batch, at: dt.datetime
) -> dict[int, str | None] | None:
    """The poll's interfaces into `batch`; their names by ifIndex, or None when the walk failed (the
    stored interfaces stay)."""
    if not _interfaces_ok(poll):
        return None
    port_names: dict[int, str | None] = {}
    uptime = poll.system.sysUpTime if poll.system is not None else None
    batch.if_seen[did] = {i.ifIndex for i in poll.interfaces}
    for i in poll.interfaces:
        port_names[i.ifIndex] = i.ifName or i.ifDescr
        batch.interfaces[(did, i.ifIndex)] = {
            "device_id": did,
            "if_index": i.ifIndex,
            "if_name": i.ifName,
            "if_descr": i.ifDescr,
            "if_alias": i.ifAlias,
            "if_type": i.ifType,
            "if_mtu": i.ifMtu,
            "speed_bps": i.ifHighSpeed * 1_000_000 if i.ifHighSpeed else i.ifSpeed,
            "if_phys_address": i.ifPhysAddress,
            "admin_status": i.ifAdminStatus,
            "oper_status": i.ifOperStatus,
            "counters": i.counters,
            "in_bps": i.in_bps,
            "out_bps": i.out_bps,
            "in_errors_ps": i.in_errors_ps,
            "out_errors_ps": i.out_errors_ps,
            "in_discards_ps": i.in_discards_ps,
            "out_discards_ps": i.out_discards_ps,
            "utilisation": i.utilisation,
            "updated_at": at,
            "last_change_at": _wall_clock(last_change_time(poll.started_at, uptime, i.ifLastChange)),
        }
    return port_names


def _record_one(
    session: Session,
    device: Device,
    poll: DevicePoll,
    batch: _Batch,
    port_names: dict[int, str | None],
    topology: bool = True,
    keep_state: bool = False,
) -> None:
    at = _finished_at(poll)
    values: dict[str, Any] = {"last_poll_at": at, "poll_duration_s": poll.duration_s}
    if poll.state == "up":
        values["last_ok_at"] = at
        values["module_errors"] = poll.module_errors or None
    if poll.system is not None:
        s = poll.system
        values.update(
            sys_descr=s.sysDescr,
            sys_object_id=s.sysObjectID,
            vendor=s.vendor,
            sys_name=s.sysName,
            sys_uptime=s.sysUpTime,
            sys_contact=s.sysContact,
            sys_location=s.sysLocation,
        )
    if poll.resources is not None:
        r = poll.resources
        values["resources"] = {
            "cpu_percent": r.cpu_percent,
            "memory_used_bytes": r.memory_used_bytes,
            "memory_total_bytes": r.memory_total_bytes,
            "temperatures_c": r.temperatures_c,
            "memory_percent": r.memory_percent,
            "processors": [asdict(c) for c in r.processors],
            "memory_pools": [asdict(m) for m in r.memory_pools],
            "fans": [asdict(f) for f in r.fans],
            "power_supplies": [asdict(p) for p in r.power_supplies],
            "profile": r.profile,
            "optics": [asdict(o) for o in r.optics],
        }
    # A new reason while still failing (timeout → auth failure) is news to an operator too.
    if keep_state:
        pass  # catching up on a backlog: the device stays "delayed" until a fresh poll arrives
    elif poll.state != device.state or (poll.state != "up" and poll.reason != device.state_reason):
        record_event(
            session,
            kind="device.state",
            subject_type="device",
            subject_id=device.name,
            site_id=device.site_id,
            from_state=device.state,
            to_state=poll.state,
            message=_state_message(device.name, device.state, poll),
            data={"reason": poll.reason, "detail": poll.detail},
            at=at,
        )
        if poll.state != device.state:
            values["state_changed_at"] = at
        values.update(state=poll.state, state_reason=poll.reason, state_detail=poll.detail)
    elif poll.state == "up" and device.state_detail is not None:
        values["state_detail"] = None
    # The ORM update also refreshes `device`, so a second poll of it in this batch compares with this one.
    session.execute(update(Device).where(Device.id == device.id).values(**values))
    if poll.state != "up":
        return  # what a failed poll did not see is not gone: keep interfaces, neighbours, FDB, ARP
    did = device.id
    port_names = _record_interfaces(did, poll, batch, at) or port_names
    if not topology:
        return  # neighbours, FDB and ARP were not read this time: the stored ones stay
    if not _failed(poll, "lldp", "cdp", "neighbor", "neighbour"):
        batch.neighbors[did] = [
            {
                "device_id": did,
                "protocol": n.protocol,
                "local_if_index": n.local_ifIndex,
                "local_port": n.local_port or port_names.get(n.local_ifIndex or -1),
                "remote_name": n.remote_name,
                "remote_port": n.remote_port,
                "remote_chassis_id": n.remote_chassis_id,
                "remote_address": n.remote_address,
                "last_seen": at,
            }
            for n in poll.neighbors
        ]

    for e in poll.fdb:
        if e.status in ("self", "invalid"):  # the switch's own MACs are not "where a host sits"
            continue
        mac = e.mac.lower()
        vlan = e.vlan if e.vlan is not None else UNKNOWN_VLAN
        batch.macs[(did, mac, vlan)] = {
            "device_id": did,
            "mac": mac,
            "vlan": vlan,
            "if_index": e.ifIndex,
            "port_name": port_names.get(e.ifIndex) if e.ifIndex is not None else None,
            "first_seen": at,
            "last_seen": at,
        }
    for a in poll.arp:
        batch.arp[(did, a.ip)] = {
            "device_id": did,
            "ip": a.ip,
            "mac": a.mac.lower(),
            "if_index": a.ifIndex,
            "first_seen": at,
            "last_seen": at,
        }


def prune_locations(session: Session, older_than: dt.datetime) -> int:
    """Forget MAC and ARP sightings last seen before `older_than`; returns rows deleted."""
    n = 0
    for model in (MacLocation, ArpEntry):
        result = session.execute(delete(model).where(model.last_seen < older_than))
        n += int(getattr(result, "rowcount", 0) or 0)
    return n


class DeviceSink:
    """Persists poll results from the poller: call it with one `DevicePoll`, or `write_many` with a
    batch (one transaction, cheaper). Safe from any thread: each call uses its own session. On an
    asyncio loop, call it through `asyncio.to_thread` — it blocks on the database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def __call__(self, poll: DevicePoll) -> None:
        self.write_many([poll])

    def write_many(self, polls: Sequence[DevicePoll]) -> int:
        with self.sessions.begin() as session:
            return record_polls(session, polls)


def make_device_sink(sessions: sessionmaker[Session]) -> DeviceSink:
    return DeviceSink(sessions)
