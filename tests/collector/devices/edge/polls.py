"""Edge polls as an agent sends them, made from real polls of an snmpsim switch."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.poller import poll_device
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import Credentials, DeviceTarget, Target
from canhgac_collector.lab.snmpsim import SnmpsimFleet
from tests.harness.snmp_recordings import switch_rows, write_recording

COMMUNITY = "lab/edge-sw"


def start_switch(work: Path) -> SnmpsimFleet:
    recording = write_recording(work / "rec" / "edge-sw.snmprec", switch_rows(name="sw-a1", ports=8))
    return SnmpsimFleet({COMMUNITY: recording}, work / "fleet", per_process=1).start()


def switch_target(fleet: SnmpsimFleet, name: str = "sw-a1") -> DeviceTarget:
    host, port = fleet.endpoint(COMMUNITY)
    return DeviceTarget(name, "XA-A", Target(host, port, 2.0, 1), Credentials("2c", COMMUNITY.encode()))


def real_polls(fleet: SnmpsimFleet, n: int = 2, name: str = "sw-a1") -> list[DevicePoll]:
    """`n` polls of the switch in a row (rates filled from the one before), as the agent makes them."""

    async def go() -> list[DevicePoll]:
        out: list[DevicePoll] = []
        async with SnmpEngine() as engine:
            for _ in range(n):
                previous = out[-1] if out else None
                out.append(
                    await poll_device(
                        engine, switch_target(fleet, name), previous=previous, max_repetitions=25
                    )
                )
        return out

    polls = asyncio.run(go())
    assert all(p.state == "up" for p in polls), [p.detail for p in polls]
    return polls


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def edge_poll(
    poll: DevicePoll,
    *,
    at: dt.datetime | None = None,
    topology: bool = True,
    address: str = "127.0.0.1",
    **override: Any,
) -> dict[str, Any]:
    """The report's `snmp.polls[]` entry for `poll` (started at `at` when given)."""
    data: dict[str, Any] = _without_none(dataclasses.asdict(poll))
    started = at or dt.datetime.fromtimestamp(poll.started_at, dt.UTC)
    data["started_at"] = started.isoformat()
    data["address"] = address
    data["topology"] = topology
    if not topology:
        data.update(neighbors=[], fdb=[], arp=[])
    data.update(override)
    return data


def ago(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
