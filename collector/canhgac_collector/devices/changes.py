"""Devices added, changed and removed through the API, each change recorded as an event with who made
it. Devices from the config file are kept in step by `devices.store.sync_config_devices` instead; the
caller has already found the device and site in its scope and refused config devices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from canhgac_collector.devices.store import new_device
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Device, Site


def add_device(session: Session, name: str, site: Site, fields: dict[str, Any], *, actor: str) -> Device:
    """Store device `name` in `site` with the columns `fields` (`device_fields`), to be polled."""
    device = new_device(name, fields, "api")
    session.add(device)
    session.flush()
    record_event(
        session,
        kind="device.added",
        subject_type="device",
        subject_id=device.name,
        site_id=site.id,
        actor=actor,
        message=f"Thêm thiết bị {device.name} qua API / device added through the API",
    )
    return device


def change_device(
    session: Session,
    device: Device,
    site: Site,
    changes: Mapping[str, Any],
    *,
    asked: Iterable[str],
    actor: str,
) -> None:
    """Set the columns in `changes` on `device` (now of `site`); the event names the request's fields
    `asked`, never their values, since they may be SNMP secrets."""
    for key, value in changes.items():
        setattr(device, key, value)
    device.updated_at = dt.datetime.now(dt.UTC)
    session.flush()
    record_event(
        session,
        kind="device.updated",
        subject_type="device",
        subject_id=device.name,
        site_id=site.id,
        actor=actor,
        message=f"Sửa thiết bị {device.name} / device updated",
        data={"fields": sorted(asked)},
    )


def remove_device(session: Session, device: Device, site: Site, *, actor: str) -> None:
    """Delete `device` of `site` (its interfaces, neighbours and locations go with it)."""
    record_event(
        session,
        kind="device.removed",
        subject_type="device",
        subject_id=device.name,
        site_id=site.id,
        actor=actor,
        message=f"Xoá thiết bị {device.name} / device removed",
    )
    session.delete(device)
