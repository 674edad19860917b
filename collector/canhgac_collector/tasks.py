"""Stopping background tasks so that one failed or stuck task never keeps the server from stopping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger("canhgac.server")

STOP_WAIT_S = 10.0  # a task still running this long after its cancel is left behind, with an error


async def cancel_and_wait(tasks: Iterable[asyncio.Task[None]], timeout: float = STOP_WAIT_S) -> None:
    """Cancel every task and wait (at most `timeout`) for them to end. A task that had died of an
    exception, or that does not end in time, is logged, not raised: the caller is stopping, and what
    it stops next must still be stopped."""
    pending = list(tasks)
    if not pending:
        return
    for task in pending:
        task.cancel()
    done, stuck = await asyncio.wait(pending, timeout=timeout)
    for task in stuck:
        log.error("background task %s did not stop within %g s; leaving it", task.get_name(), timeout)
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s had failed before it was stopped", task.get_name(), exc_info=error)
