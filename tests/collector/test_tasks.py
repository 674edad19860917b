"""Stopping background tasks: a failed or stuck task is reported and never blocks the stop."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from canhgac_collector.tasks import cancel_and_wait


async def _loops_forever() -> None:
    while True:
        await asyncio.sleep(0.01)


async def _swallows_its_cancel() -> None:
    for _ in range(100):  # bounded: ends on its own within ~1 s
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            continue


async def _dies() -> None:
    raise ValueError("database went away")


def test_stop_is_bounded_and_reports_failed_and_stuck_tasks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="canhgac.server")

    async def main() -> tuple[float, list[asyncio.Task[None]]]:
        tasks = [
            asyncio.create_task(_loops_forever(), name="healthy"),
            asyncio.create_task(_swallows_its_cancel(), name="stubborn"),
            asyncio.create_task(_dies(), name="broken"),
        ]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await cancel_and_wait(tasks, timeout=0.3)
        elapsed = time.monotonic() - started
        tasks[1].cancel()  # the stubborn one ignores this too; let the loop's end reap it
        return elapsed, tasks

    elapsed, tasks = asyncio.run(main())
    assert elapsed < 2.0
    assert tasks[0].cancelled()
    messages = [r.getMessage() for r in caplog.records]
    assert "background task stubborn did not stop within 0.3 s; leaving it" in messages
    assert "background task broken had failed before it was stopped" in messages
    assert not any("healthy" in m for m in messages)
