"""PollScheduler against real snmpsim agents and silent UDP ports: jitter, bounds, deadlines, live updates."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Iterator

import pytest

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import Credentials, DeviceTarget, Target
from canhgac_collector.devices.snmp.scheduler import PollScheduler, jitter_fraction
from canhgac_collector.lab.snmpsim import SnmpsimFleet
from tests.harness.snmp_recordings import switch_rows, write_recording

LIVE = ("lab/a", "lab/b", "lab/c")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimFleet]:
    work = tmp_path_factory.mktemp("sched")
    recordings = {c: write_recording(work / "rec" / f"{c[4:]}.snmprec", switch_rows(name=c)) for c in LIVE}
    with SnmpsimFleet(recordings, work / "fleet", per_process=3) as f:
        yield f


@pytest.fixture
def silent_ports() -> Iterator[list[int]]:
    """Bound UDP sockets that never answer: devices that are there but dead (no ICMP unreachable)."""
    socks = []
    for _ in range(3):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    yield [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()


def live(fleet: SnmpsimFleet, community: str, interval: float = 60.0) -> DeviceTarget:
    host, port = fleet.endpoint(community)
    return DeviceTarget(
        community, "xa", Target(host, port, 5.0, 1), Credentials("2c", community.encode()), interval
    )


def dead(
    port: int, name: str, *, timeout: float = 0.4, retries: int = 1, interval: float = 60.0
) -> DeviceTarget:
    return DeviceTarget(
        name, "xa", Target("127.0.0.1", port, timeout, retries), Credentials("2c", b"x"), interval
    )


def test_jitter_is_stable_and_spread() -> None:
    fractions = [jitter_fraction(f"sw-{i}") for i in range(1000)]
    assert fractions == [jitter_fraction(f"sw-{i}") for i in range(1000)]
    assert all(0 <= f < 1 for f in fractions)
    # Spread over the interval: every tenth of it holds some devices.
    assert {int(f * 10) for f in fractions} == set(range(10))


def test_a_dead_device_does_not_delay_the_others(fleet: SnmpsimFleet, silent_ports: list[int]) -> None:
    done_at: dict[str, float] = {}

    async def go() -> list[DevicePoll]:
        async with SnmpEngine() as engine:
            began = time.monotonic()

            async def on_poll(p: DevicePoll) -> None:
                done_at[p.device] = time.monotonic() - began

            devices = [dead(silent_ports[0], "dead", timeout=2.0), *(live(fleet, c) for c in LIVE)]
            sched = PollScheduler(engine, devices, on_poll, max_concurrency=8, device_deadline_s=30)
            return await sched.poll_once()

    polls = asyncio.run(go())
    assert [p.device for p in polls] == ["dead", *LIVE]
    assert [p.state for p in polls] == ["down", "up", "up", "up"]
    assert done_at["dead"] >= 4.0  # 2 tries × 2 s
    assert max(done_at[c] for c in LIVE) < 3.0


def test_deadline_stops_a_slow_device_with_reason_deadline(
    fleet: SnmpsimFleet, silent_ports: list[int]
) -> None:
    async def go() -> tuple[PollScheduler, list[DevicePoll], float]:
        async with SnmpEngine() as engine:
            slow = dead(silent_ports[0], "slow", timeout=10.0, retries=0)
            sched = PollScheduler(engine, [slow, live(fleet, "lab/a")], lambda p: None, device_deadline_s=0.8)
            began = time.monotonic()
            polls = await sched.poll_once()
            return sched, polls, time.monotonic() - began

    sched, polls, took = asyncio.run(go())
    slow, fine = polls
    assert (slow.state, slow.reason) == ("error", "deadline")
    assert slow.detail is not None
    assert "did not finish within 0.8 s" in slow.detail
    assert fine.state == "up"
    assert took < 3.0
    assert (sched.polls, sched.failures, sched.deadlines) == (2, 1, 1)
    assert sched.last_cycle_duration_s == pytest.approx(took, abs=0.2)


def test_concurrency_is_bounded(silent_ports: list[int]) -> None:
    async def timed(limit: int) -> float:
        async with SnmpEngine() as engine:
            devices = [dead(p, f"d{i}", timeout=0.4, retries=0) for i, p in enumerate(silent_ports)]
            sched = PollScheduler(engine, devices, lambda p: None, max_concurrency=limit)
            began = time.monotonic()
            await sched.poll_once()
            return time.monotonic() - began

    one_at_a_time = asyncio.run(timed(1))
    all_at_once = asyncio.run(timed(3))
    assert one_at_a_time >= 1.2  # 3 × 0.4 s, one after the other
    assert all_at_once < 0.9


def test_run_polls_on_schedule_keeps_previous_for_rates_and_updates_live(
    fleet: SnmpsimFleet, silent_ports: list[int]
) -> None:
    seen: list[tuple[float, DevicePoll]] = []
    interval = 1.0

    def on_poll(p: DevicePoll) -> None:
        seen.append((time.monotonic(), p))
        if p.device == "lab/b":
            raise RuntimeError("a broken consumer must not stop polling")

    async def go() -> PollScheduler:
        async with SnmpEngine() as engine:
            devices = [live(fleet, "lab/a", interval), live(fleet, "lab/b", interval)]
            devices.append(dead(silent_ports[0], "dead", timeout=0.3, retries=0, interval=interval))
            sched = PollScheduler(engine, devices, on_poll, max_concurrency=4, device_deadline_s=5)
            task = asyncio.create_task(sched.run())
            await asyncio.sleep(2.6)
            sched.update_devices([live(fleet, "lab/a", interval), live(fleet, "lab/c", interval)])
            await asyncio.sleep(2.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return sched

    began = time.monotonic()
    sched = asyncio.run(go())
    by_device: dict[str, list[tuple[float, DevicePoll]]] = {}
    for at, p in seen:
        by_device.setdefault(p.device, []).append((at - began, p))
    assert 4 <= len(by_device["lab/a"]) <= 6  # ~one per second for ~5 s
    # Removed at 2.6 s (a poll in flight then is dropped); its on_poll raised every time, polling went on.
    assert 1 <= len(by_device["lab/b"]) <= 3
    assert 2 <= len(by_device["lab/c"]) <= 3  # added at 2.6 s
    assert min(at for at, _ in by_device["lab/c"]) >= 2.5
    assert 2 <= len(by_device["dead"]) <= 3
    assert all(p.state == "down" for _, p in by_device["dead"])
    # Polls of one device start one interval apart (its jitter slot), whatever the dead device does;
    # their answers may arrive unevenly on a busy machine, so the starts are what is measured.
    times = [p.started_at for _, p in by_device["lab/a"]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.7 < g < 1.3 for g in gaps), gaps
    # The previous poll is kept, so the second and later polls carry rates (0 bit/s: static counters).
    assert by_device["lab/a"][0][1].interfaces[0].in_bps is None
    assert by_device["lab/a"][1][1].interfaces[0].in_bps == 0.0
    assert set(sched.previous) == {"lab/a", "lab/c"}
    assert sched.polls == len(seen)
    assert sched.failures == len(by_device["dead"])
    assert sched.last_cycle_duration_s is not None
    assert 0 < sched.last_cycle_duration_s < interval + 0.5
