"""Counter deltas → rates, with 32/64-bit wrap handling and reboot detection.

A rate is only worth showing when it is true: after a reboot (sysUpTime went backwards), a counter
discontinuity (ifCounterDiscontinuityTime changed), a 64-bit counter going backwards, or a delta that
would mean more than the link can carry, that cycle gets no rate (None) rather than a negative number
or a spike that wrecks every graph and alert.
"""

from __future__ import annotations

from canhgac_agent.snmp.results import DevicePoll, InterfaceSample

MAX32 = 1 << 32
MAX64 = 1 << 64
# A link carrying more than this multiple of its speed is a bad sample, not traffic.
SPEED_TOLERANCE = 1.5
# With no usable speed, no single interface plausibly carries more than this (bit/s).
ABSURD_BPS = 1.6e12
ABSURD_PPS = 2.5e9

# (rate field, counter names preferred first, is octets)
_RATE_FIELDS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("in_bps", ("ifHCInOctets", "ifInOctets"), True),
    ("out_bps", ("ifHCOutOctets", "ifOutOctets"), True),
    ("in_errors_ps", ("ifInErrors",), False),
    ("out_errors_ps", ("ifOutErrors",), False),
    ("in_discards_ps", ("ifInDiscards",), False),
    ("out_discards_ps", ("ifOutDiscards",), False),
)


def counter_bits(name: str) -> int:
    """64 for the IF-MIB high-capacity counters (ifHC…), else 32."""
    return 64 if name.startswith("ifHC") else 32


def counter_delta(previous: int, current: int, bits: int) -> int | None:
    """How much a counter advanced. A 32-bit counter that went backwards wrapped once; a 64-bit one
    cannot wrap in practice, so going backwards means it was reset: no delta."""
    if current >= previous:
        return current - previous
    if bits == 32 and 0 <= previous < MAX32 and 0 <= current < MAX32:
        return current + MAX32 - previous
    return None


def speed_bps(sample: InterfaceSample) -> float | None:
    """The interface's speed in bit/s: ifHighSpeed (Mbit/s) when set, else ifSpeed; None when unknown/0."""
    if sample.ifHighSpeed:
        return sample.ifHighSpeed * 1_000_000.0
    if sample.ifSpeed:
        return float(sample.ifSpeed)
    return None


def rebooted(previous: DevicePoll, current: DevicePoll) -> bool:
    """sysUpTime went backwards between the two polls: the device restarted and its counters with it."""
    if previous.system is None or current.system is None:
        return False
    before, now = previous.system.sysUpTime, current.system.sysUpTime
    return before is not None and now is not None and now < before


def interface_rates(
    previous: InterfaceSample, current: InterfaceSample, elapsed_s: float
) -> dict[str, float | None]:
    """Rates of one interface between two samples `elapsed_s` apart (field name → value or None)."""
    out: dict[str, float | None] = {name: None for name, _, _ in _RATE_FIELDS}
    out["utilisation"] = None
    if elapsed_s <= 0:
        return out
    if (
        previous.ifCounterDiscontinuityTime is not None
        and current.ifCounterDiscontinuityTime is not None
        and previous.ifCounterDiscontinuityTime != current.ifCounterDiscontinuityTime
    ):
        return out
    speed = speed_bps(current)
    for field_name, names, octets in _RATE_FIELDS:
        # The same counter in both samples, so a device that lost its ifXTable never mixes widths.
        name = next((n for n in names if n in current.counters and n in previous.counters), None)
        if name is None:
            continue
        delta = counter_delta(previous.counters[name], current.counters[name], counter_bits(name))
        if delta is None:
            continue
        rate = delta * (8.0 if octets else 1.0) / elapsed_s
        if octets:
            limit = speed * SPEED_TOLERANCE if speed else ABSURD_BPS
        else:
            limit = speed * SPEED_TOLERANCE / 512 if speed else ABSURD_PPS  # ≥ 64-byte frames
        if rate > limit:
            continue
        out[field_name] = rate
    if speed:
        rates = [r for r in (out["in_bps"], out["out_bps"]) if r is not None]
        if rates:
            out["utilisation"] = min(1.0, max(rates) / speed)
    return out


def fill_rates(previous: DevicePoll | None, current: DevicePoll) -> int:
    """Set the rate fields of `current`'s interfaces from `previous` (same device). Returns how many
    interfaces got rates; none after a reboot, a failed previous poll, or with no elapsed time."""
    if previous is None or previous.state != "up" or current.state != "up" or rebooted(previous, current):
        return 0
    elapsed = current.started_at - previous.started_at
    if elapsed <= 0:
        return 0
    before = {s.ifIndex: s for s in previous.interfaces}
    filled = 0
    for sample in current.interfaces:
        old = before.get(sample.ifIndex)
        if old is None:
            continue
        rates = interface_rates(old, sample, elapsed)
        sample.in_bps = rates["in_bps"]
        sample.out_bps = rates["out_bps"]
        sample.in_errors_ps = rates["in_errors_ps"]
        sample.out_errors_ps = rates["out_errors_ps"]
        sample.in_discards_ps = rates["in_discards_ps"]
        sample.out_discards_ps = rates["out_discards_ps"]
        sample.utilisation = rates["utilisation"]
        if any(v is not None for v in rates.values()):
            filled += 1
    return filled
