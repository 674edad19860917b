"""Reading config history: the backed-up devices in a caller's scope, a device's versions, one version,
and `config_states` — what the compliance scan judges (the newest config, its approval, the last pull's
error). Scoped reads take `scope_path` like `devices/queries.py`: out of scope looks like absent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from canhgac_collector.devices.configs.credentials import device_platform
from canhgac_collector.sitetree import within
from canhgac_collector.store.models import Device, DeviceConfigVersion, Site


@dataclass(frozen=True)
class ConfigState:
    """One device's configuration as the compliance scan sees it (`latest_text` is raw: the scan
    parses it and shows evidence lines, never the whole text)."""

    device_id: int
    platform: str | None
    latest_text: str | None
    latest_version: int | None
    latest_pulled_at: dt.datetime | None
    approved_version: int | None  # the newest approved version
    latest_is_approved: bool
    approved_by: str | None
    approved_at: dt.datetime | None
    approval_comment: str | None
    last_pull_error: str | None  # None when the newest attempt succeeded (or none was made)
    last_pull_error_kind: str | None
    versions: int


@dataclass(frozen=True)
class BackupRow:
    """One device in `canhgac backup list` and the API's device config summary."""

    device: Device
    site: str
    platform: str | None  # configured or guessed; None: unknown
    versions: int
    latest_version: int | None
    latest_pulled_at: dt.datetime | None
    approved_version: int | None


def _newest(session: Session, device_ids: Sequence[int], approved: bool) -> dict[int, DeviceConfigVersion]:
    """The newest (approved, when `approved`) version of each device, raw text loaded lazily."""
    if not device_ids:
        return {}
    newest = select(DeviceConfigVersion.device_id, func.max(DeviceConfigVersion.version).label("v")).where(
        DeviceConfigVersion.device_id.in_(list(device_ids))
    )
    if approved:
        newest = newest.where(DeviceConfigVersion.approved_at.is_not(None))
    sub = newest.group_by(DeviceConfigVersion.device_id).subquery()
    rows = session.scalars(
        select(DeviceConfigVersion)
        .options(defer(DeviceConfigVersion.raw_text))
        .join(
            sub,
            (DeviceConfigVersion.device_id == sub.c.device_id) & (DeviceConfigVersion.version == sub.c.v),
        )
    )
    return {r.device_id: r for r in rows}


def _counts(session: Session, device_ids: Sequence[int]) -> dict[int, int]:
    if not device_ids:
        return {}
    rows = session.execute(
        select(DeviceConfigVersion.device_id, func.count())
        .where(DeviceConfigVersion.device_id.in_(list(device_ids)))
        .group_by(DeviceConfigVersion.device_id)
    )
    return {int(device_id): int(n) for device_id, n in rows}


def config_states(session: Session, device_ids: Iterable[int]) -> dict[int, ConfigState]:
    """The configuration state of each device in `device_ids` that exists."""
    ids = list(dict.fromkeys(device_ids))
    devices = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(ids)))} if ids else {}
    ids = list(devices)
    latest = _newest(session, ids, approved=False)
    approved = _newest(session, ids, approved=True)
    counts = _counts(session, ids)
    states: dict[int, ConfigState] = {}
    for device_id, device in devices.items():
        new = latest.get(device_id)
        ok = approved.get(device_id)
        failed = device.config_status == "error"
        states[device_id] = ConfigState(
            device_id=device_id,
            platform=device_platform(device),
            latest_text=new.raw_text if new is not None else None,
            latest_version=new.version if new is not None else None,
            latest_pulled_at=new.pulled_at if new is not None else None,
            approved_version=ok.version if ok is not None else None,
            latest_is_approved=new is not None and new.approved_at is not None,
            approved_by=ok.approved_by if ok is not None else None,
            approved_at=ok.approved_at if ok is not None else None,
            approval_comment=ok.approval_comment if ok is not None else None,
            last_pull_error=(device.config_error or device.config_error_kind) if failed else None,
            last_pull_error_kind=device.config_error_kind if failed else None,
            versions=counts.get(device_id, 0),
        )
    return states


def backup_rows(session: Session, scope_path: str | None, *, with_ssh_only: bool = True) -> list[BackupRow]:
    """Devices in scope (those with SSH settings unless `with_ssh_only` is False), by site path and
    name, with their history's size, newest and newest approved version."""
    stmt = within(select(Device, Site.code).join(Site, Device.site_id == Site.id), scope_path)
    if with_ssh_only:
        stmt = stmt.where(Device.ssh_username.is_not(None))
    pairs = session.execute(stmt.order_by(Site.path, Device.name)).all()
    ids = [d.id for d, _code in pairs]
    latest = _newest(session, ids, approved=False)
    approved = _newest(session, ids, approved=True)
    counts = _counts(session, ids)
    return [
        BackupRow(
            device=d,
            site=code,
            platform=device_platform(d),
            versions=counts.get(d.id, 0),
            latest_version=latest[d.id].version if d.id in latest else None,
            latest_pulled_at=latest[d.id].pulled_at if d.id in latest else None,
            approved_version=approved[d.id].version if d.id in approved else None,
        )
        for d, code in pairs
    ]


def list_versions(session: Session, device_id: int, *, limit: int = 1000) -> Sequence[DeviceConfigVersion]:
    """A device's versions, newest first, without their text."""
    return session.scalars(
        select(DeviceConfigVersion)
        .options(defer(DeviceConfigVersion.raw_text))
        .where(DeviceConfigVersion.device_id == device_id)
        .order_by(DeviceConfigVersion.version.desc())
        .limit(limit)
    ).all()


def get_version(session: Session, device_id: int, version: int | None = None) -> DeviceConfigVersion | None:
    """Version `version` of a device (None: its newest), or None when there is no such version."""
    stmt = select(DeviceConfigVersion).where(DeviceConfigVersion.device_id == device_id)
    if version is not None:
        stmt = stmt.where(DeviceConfigVersion.version == version)
    return session.scalars(stmt.order_by(DeviceConfigVersion.version.desc()).limit(1)).first()


def version_before(session: Session, device_id: int, version: int) -> DeviceConfigVersion | None:
    """The newest stored version older than `version` (retention may have removed the one right before)."""
    return session.scalars(
        select(DeviceConfigVersion)
        .where(DeviceConfigVersion.device_id == device_id, DeviceConfigVersion.version < version)
        .order_by(DeviceConfigVersion.version.desc())
        .limit(1)
    ).first()
