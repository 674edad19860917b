"""Who polls a device (the one definition of "edge-polled", in Python and as a query condition) and what
the device API shows about it: which agent, data as of when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from canhgac_collector.store.models import Device, Host


def is_edge_polled(device: Device) -> bool:
    """An agent polls it: `poller: edge`, or owned by an agent's host and not `poller: server`."""
    return device.poller == "edge" or (device.poller != "server" and device.edge_host_id is not None)


def edge_polled() -> ColumnElement[bool]:
    """`is_edge_polled` as a query condition."""
    return (Device.poller == "edge") | ((Device.poller != "server") & Device.edge_host_id.is_not(None))


def data_as_of(device: Device) -> dt.datetime | None:
    """When the newest stored poll started (edge) or ended (the server's own)."""
    return device.edge_polled_at if is_edge_polled(device) else device.last_poll_at


def edge_hostnames(session: Session, devices: Sequence[Device]) -> dict[str, str]:
    """host id → hostname of the hosts owning `devices` (one query)."""
    ids = {d.edge_host_id for d in devices if d.edge_host_id is not None}
    if not ids:
        return {}
    return {
        str(h): str(n) for h, n in session.execute(select(Host.id, Host.hostname).where(Host.id.in_(ids)))
    }


def edge_view(device: Device, edge_host: str | None) -> dict[str, Any]:
    return {
        "polled_by": "edge" if is_edge_polled(device) else "server",
        "edge_host": edge_host if device.edge_host_id is not None else None,
        "data_as_of": data_as_of(device),
    }
