"""Poll one device: system first (is it there?), then every other MIB module, then rates.

A device that does not answer the system GET is "down" (timeout) or "error" (auth failure, malformed
reply, …) with a sentence saying what happened; a module that fails afterwards is recorded in
`module_errors` and the other modules still run, so one odd table never hides the rest of a device —
unless modules keep timing out (MAX_MODULE_TIMEOUTS): then the device has stopped answering mid-poll.
"""

from __future__ import annotations

import logging
import time

from canhgac_agent.snmp.errors import SnmpAuthError, SnmpError, SnmpTimeout
from canhgac_agent.snmp.modules import MODULES, Module, Session
from canhgac_agent.snmp.modules.base import Engine
from canhgac_agent.snmp.rates import fill_rates
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import DeviceTarget, Target

log = logging.getLogger(__name__)

# After this many modules time out in one poll, the rest are skipped rather than each waiting its timeout.
MAX_MODULE_TIMEOUTS = 2


def endpoint(target: Target) -> str:
    """host:port, with IPv6 hosts bracketed."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{host}:{target.port}"


def describe_failure(device: DeviceTarget, exc: SnmpError) -> str:
    """A sentence an operator reads: what failed, and where."""
    target = device.target
    where = endpoint(target)
    if isinstance(exc, SnmpTimeout):
        tries = target.retries + 1
        tries_text = "1 try" if tries == 1 else f"{tries} tries"
        detail = f"no reply from {where} after {tries_text} of {target.timeout_s:g} s"
        if device.credentials.version != "3":
            detail += " (device down, unreachable, or wrong community)"
        return detail
    if isinstance(exc, SnmpAuthError):
        user = device.credentials.user.decode(errors="replace")
        return f"SNMPv3 authentication failed at {where} for user {user!r}: {exc}"
    return f"{exc.reason.replace('_', ' ')} from {where}: {exc}"


async def poll_device(
    engine: Engine,
    device: DeviceTarget,
    *,
    previous: DevicePoll | None,
    max_repetitions: int,
    modules: list[Module] | None = None,
) -> DevicePoll:
    """Poll `device` once with `modules` (default: all of MODULES, system first) and fill rates from
    `previous`. Never raises SnmpError: failures become the poll's state, reason and detail."""
    chosen = list(MODULES.values()) if modules is None else modules
    started = time.time()
    clock = time.perf_counter()
    session = Session(engine, device.target, device.credentials, max_repetitions)
    poll = DevicePoll(device=device.name, started_at=started, duration_s=0.0, state="up")
    timeouts = 0
    for index, module in enumerate(chosen):
        if timeouts >= MAX_MODULE_TIMEOUTS:
            # The device answered the system GET but has stopped answering: spare it (and the deadline)
            # the remaining modules' full timeouts.
            poll.module_errors[module.name] = f"skipped: {timeouts} modules timed out before it"
            continue
        try:
            await module.collect(session, poll)
        except SnmpError as exc:
            if index == 0:  # the liveness check: the device's state
                poll.state = "down" if isinstance(exc, SnmpTimeout) else "error"
                poll.reason = exc.reason
                poll.detail = describe_failure(device, exc)
                log.info(
                    "device %s %s: %s", device.name, poll.state, poll.detail, extra={"device": device.name}
                )
                break
            poll.module_errors[module.name] = f"{exc.reason}: {exc}"
            timeouts += isinstance(exc, SnmpTimeout)
            log.info(
                "device %s module %s failed: %s",
                device.name,
                module.name,
                exc,
                extra={"device": device.name, "module": module.name, "reason": exc.reason},
            )
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            # A reply our decoding did not expect: keep the rest of the device, say which module broke.
            if index == 0:
                poll.state, poll.reason = "error", "malformed_reply"
                poll.detail = f"unexpected reply from {endpoint(device.target)}: {exc!r}"
                break
            poll.module_errors[module.name] = f"malformed_reply: {exc!r}"
            log.warning("device %s module %s: unexpected reply %r", device.name, module.name, exc)
    poll.varbinds = session.varbinds
    poll.duration_s = time.perf_counter() - clock
    if poll.state == "up":
        fill_rates(previous, poll)
    return poll
