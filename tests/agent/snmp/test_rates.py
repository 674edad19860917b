"""Rates from two polls: wraps, reboots and discontinuities never give a negative or absurd rate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac_agent.snmp.rates import (
    MAX32,
    MAX64,
    SPEED_TOLERANCE,
    counter_delta,
    fill_rates,
    interface_rates,
)
from canhgac_agent.snmp.results import DevicePoll, InterfaceSample, SystemInfo
from canhgac_agent.snmp.vendors import vendor_from_sysobjectid

GIGABIT = 1000  # ifHighSpeed, Mbit/s


def poll(at: float, uptime: int, *samples: InterfaceSample, state: str = "up") -> DevicePoll:
    return DevicePoll(
        device="sw1",
        started_at=at,
        duration_s=0.1,
        state=state,  # type: ignore[arg-type]
        system=SystemInfo(sysUpTime=uptime),
        interfaces=list(samples),
    )


def iface(
    counters: dict[str, int], *, high_speed: int | None = GIGABIT, disc: int | None = None
) -> InterfaceSample:
    return InterfaceSample(
        ifIndex=1, ifHighSpeed=high_speed, ifSpeed=None, counters=counters, ifCounterDiscontinuityTime=disc
    )


@given(st.integers(0, MAX32 - 1), st.integers(0, MAX32 - 1))
def test_a_32_bit_counter_that_wrapped_once_gives_the_true_increase(start: int, increase: int) -> None:
    assert counter_delta(start, (start + increase) % MAX32, 32) == increase


@given(st.integers(0, MAX64 - 1), st.integers(0, MAX64 - 1))
def test_a_64_bit_counter_that_went_backwards_was_reset_so_no_delta(a: int, b: int) -> None:
    delta = counter_delta(a, b, 64)
    assert delta == (b - a if b >= a else None)


def test_octets_become_bits_per_second_and_utilisation() -> None:
    before = poll(1000.0, 100_000, iface({"ifHCInOctets": 0, "ifHCOutOctets": 10**9}))
    after = poll(1060.0, 106_000, iface({"ifHCInOctets": 3_750_000_000, "ifHCOutOctets": 10**9 + 75_000_000}))
    assert fill_rates(before, after) == 1
    sample = after.interfaces[0]
    assert sample.in_bps == pytest.approx(500e6)  # 3.75 GB in 60 s
    assert sample.out_bps == pytest.approx(10e6)
    assert sample.utilisation == pytest.approx(0.5)


def test_errors_and_discards_per_second() -> None:
    names = ("ifInErrors", "ifOutErrors", "ifInDiscards", "ifOutDiscards")
    before = poll(0.0, 0, iface(dict.fromkeys(names, MAX32 - 30)))
    after = poll(10.0, 1000, iface(dict.fromkeys(names, 70)))  # wrapped: +100 each
    fill_rates(before, after)
    s = after.interfaces[0]
    assert (s.in_errors_ps, s.out_errors_ps, s.in_discards_ps, s.out_discards_ps) == (10.0, 10.0, 10.0, 10.0)


def test_a_32_bit_octet_wrap_on_a_100_mbit_port() -> None:
    before = poll(0.0, 0, iface({"ifInOctets": MAX32 - 1_000_000}, high_speed=None))
    before.interfaces[0].ifSpeed = after_speed = 100_000_000
    after = poll(60.0, 6000, iface({"ifInOctets": 249_000_000}, high_speed=None))
    after.interfaces[0].ifSpeed = after_speed
    fill_rates(before, after)
    assert after.interfaces[0].in_bps == pytest.approx(250_000_000 * 8 / 60)


def test_reboot_sysuptime_backwards_gives_no_rates() -> None:
    before = poll(0.0, 9_000_000, iface({"ifHCInOctets": 10**12}))
    after = poll(60.0, 3_000, iface({"ifHCInOctets": 5_000}))
    assert fill_rates(before, after) == 0
    assert after.interfaces[0].in_bps is None
    assert after.interfaces[0].utilisation is None


def test_a_counter_discontinuity_gives_no_rate_for_that_interface() -> None:
    before = poll(0.0, 1000, iface({"ifHCInOctets": 10**9}, disc=0))
    after = poll(60.0, 7000, iface({"ifHCInOctets": 10**9 + 1000}, disc=6500))
    fill_rates(before, after)
    assert after.interfaces[0].in_bps is None


def test_no_rate_after_a_failed_poll_or_a_counter_width_change() -> None:
    failed = poll(0.0, 1000, state="down")
    after = poll(60.0, 7000, iface({"ifHCInOctets": 1}))
    assert fill_rates(failed, after) == 0
    assert fill_rates(None, after) == 0
    # The device lost its ifXTable: 32-bit counters now, never compared with the 64-bit ones.
    before = poll(0.0, 1000, iface({"ifHCInOctets": 10**10}))
    after = poll(60.0, 7000, iface({"ifInOctets": 5}))
    fill_rates(before, after)
    assert after.interfaces[0].in_bps is None


def test_a_rate_above_what_the_link_carries_is_dropped() -> None:
    before = poll(0.0, 1000, iface({"ifHCInOctets": 0}, high_speed=100))
    after = poll(60.0, 7000, iface({"ifHCInOctets": 10**12}, high_speed=100))  # 133 Gbit/s on 100 Mbit/s
    fill_rates(before, after)
    assert after.interfaces[0].in_bps is None


counter32 = st.integers(0, MAX32 - 1)
counter64 = st.integers(0, MAX64 - 1)


@settings(max_examples=300, deadline=None)
@given(
    names=st.sampled_from(
        [("ifHCInOctets", counter64), ("ifInOctets", counter32), ("ifInErrors", counter32)]
    ),
    data=st.data(),
    elapsed=st.floats(0.001, 3600),
    uptime_before=st.integers(0, MAX32 - 1),
    uptime_after=st.integers(0, MAX32 - 1),
    speed=st.one_of(st.none(), st.integers(1, 400_000)),
    disc=st.tuples(st.one_of(st.none(), st.integers(0, 10)), st.one_of(st.none(), st.integers(0, 10))),
)
def test_rates_are_never_negative_nor_above_the_link(
    names: tuple[str, st.SearchStrategy[int]],
    data: st.DataObject,
    elapsed: float,
    uptime_before: int,
    uptime_after: int,
    speed: int | None,
    disc: tuple[int | None, int | None],
) -> None:
    name, values = names
    a, b = data.draw(values), data.draw(values)
    before = poll(1000.0, uptime_before, iface({name: a}, high_speed=speed, disc=disc[0]))
    after = poll(1000.0 + elapsed, uptime_after, iface({name: b}, high_speed=speed, disc=disc[1]))
    fill_rates(before, after)
    sample = after.interfaces[0]
    rates = [sample.in_bps, sample.in_errors_ps]
    assert all(r is None or r >= 0 for r in rates)
    if uptime_after < uptime_before or (None not in disc and disc[0] != disc[1]):
        assert rates == [None, None]
    if speed and sample.in_bps is not None:
        assert sample.in_bps <= speed * 1e6 * SPEED_TOLERANCE
        assert sample.utilisation is not None
        assert 0 <= sample.utilisation <= 1


def test_interface_rates_with_no_elapsed_time_are_empty() -> None:
    s = iface({"ifHCInOctets": 1})
    assert set(interface_rates(s, s, 0.0).values()) == {None}


@pytest.mark.parametrize(
    ("oid", "vendor"),
    [
        ("1.3.6.1.4.1.9.1.1227", "cisco"),
        (".1.3.6.1.4.1.2011.2.23.96", "huawei"),
        ("1.3.6.1.4.1.25506.1.1", "h3c"),
        ("1.3.6.1.4.1.11.2.3.7.11.181", "hpe"),
        ("1.3.6.1.4.1.47196.4.1.1", "hpe"),
        ("1.3.6.1.4.1.2636.1.1.1.2.25", "juniper"),
        ("1.3.6.1.4.1.14988.1", "mikrotik"),
        ("1.3.6.1.4.1.171.10.64.1", "dlink"),
        ("1.3.6.1.4.1.3902.3.100", "zte"),
        ("1.3.6.1.4.1.4881.1.1.10.1.1", "ruijie"),
        ("1.3.6.1.4.1.11863.1.1.1", "tp-link"),
        ("1.3.6.1.4.1.12356.101.1.1", "fortinet"),
        ("1.3.6.1.4.1.8072.3.2.10", "net-snmp"),
        ("1.3.6.1.4.1.99999.1", "enterprise-99999"),
        ("1.3.6.1.2.1.1", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_vendor_from_sysobjectid(oid: str | None, vendor: str | None) -> None:
    assert vendor_from_sysobjectid(oid) == vendor
