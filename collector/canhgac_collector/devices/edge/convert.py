"""An edge poll (the report's `snmp.polls[]`, validated) as the `DevicePoll` the server's own poller makes.

The report's fields carry the dataclasses' names (`api/canhgac_api/schemas/report.py` EdgePoll), so the
conversion is by name; the worker hands the result to the API process as plain JSON (`poll_json`), which
builds the same `DevicePoll` again for metrics and history (`device_poll`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import msgspec

from canhgac_agent.snmp.results import (
    ArpEntry,
    DevicePoll,
    FdbEntry,
    HardwareState,
    InterfaceSample,
    MemoryPool,
    Neighbor,
    Optic,
    Processor,
    Resources,
    SystemInfo,
)

EDGE_ONLY = ("address", "topology")  # report fields a DevicePoll has no place for


def edge_fields(edge: Any) -> dict[str, Any]:
    """A validated EdgePoll (a pydantic model or the fast path's msgspec struct) as plain values,
    `started_at` in unix seconds."""
    data: dict[str, Any] = edge.model_dump() if hasattr(edge, "model_dump") else msgspec.to_builtins(edge)
    started = data["started_at"]
    if isinstance(started, str):
        started = dt.datetime.fromisoformat(started)
    if not isinstance(started, dt.datetime) or started.tzinfo is None:
        raise ValueError(f"started_at {started!r} is not a timestamp with a time zone")
    data["started_at"] = started.timestamp()
    for key in EDGE_ONLY:
        data.pop(key, None)
    return data


def device_poll(data: Mapping[str, Any]) -> DevicePoll:
    """The `DevicePoll` of `edge_fields` output or of `poll_json` (both plain values)."""
    system = data.get("system")
    resources = data.get("resources")
    return DevicePoll(
        device=data["device"],
        started_at=float(data["started_at"]),
        duration_s=float(data["duration_s"]),
        state=data["state"],
        reason=data.get("reason"),
        detail=data.get("detail"),
        system=SystemInfo(**system) if system is not None else None,
        interfaces=[InterfaceSample(**i) for i in data.get("interfaces", ())],
        neighbors=[Neighbor(**n) for n in data.get("neighbors", ())],
        fdb=[FdbEntry(**e) for e in data.get("fdb", ())],
        arp=[ArpEntry(**a) for a in data.get("arp", ())],
        resources=_resources(resources) if resources is not None else None,
        module_errors=dict(data.get("module_errors", {})),
        varbinds=int(data.get("varbinds", 0)),
    )


def _resources(r: Mapping[str, Any]) -> Resources:
    return Resources(
        cpu_percent=r.get("cpu_percent"),
        memory_used_bytes=r.get("memory_used_bytes"),
        memory_total_bytes=r.get("memory_total_bytes"),
        temperatures_c=dict(r.get("temperatures_c", {})),
        memory_percent=r.get("memory_percent"),
        processors=[Processor(**p) for p in r.get("processors", ())],
        memory_pools=[MemoryPool(**m) for m in r.get("memory_pools", ())],
        fans=[HardwareState(**f) for f in r.get("fans", ())],
        power_supplies=[HardwareState(**p) for p in r.get("power_supplies", ())],
        profile=r.get("profile"),
        optics=[Optic(**o) for o in r.get("optics", ())],
    )


def poll_json(poll: DevicePoll) -> dict[str, Any]:
    """The poll as JSON-ready values (the worker's reply to the API process)."""
    return asdict(poll)
