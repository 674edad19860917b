"""ifLastChange (ticks of sysUpTime) → the wall-clock time a port last changed state."""

from __future__ import annotations

import pytest

from canhgac_agent.snmp.modules.interfaces import TIMETICKS_WRAP, last_change_time

POLLED = 1_800_000_000.0
DAY = 86400 * 100  # ticks


def test_a_change_after_boot_is_poll_time_less_the_ticks_since() -> None:
    # up 10 days; the port changed on day 4: 6 days before the poll
    assert last_change_time(POLLED, 10 * DAY, 4 * DAY) == pytest.approx(POLLED - 6 * 86400)


def test_zero_means_before_the_last_restart_so_the_boot_time_stands_in() -> None:
    assert last_change_time(POLLED, 10 * DAY, 0) == pytest.approx(POLLED - 10 * 86400)


def test_a_change_ahead_of_sys_uptime_means_sys_uptime_wrapped_since() -> None:
    # changed 100 ticks before sysUpTime wrapped past 2^32; now 500 ticks after the wrap
    assert last_change_time(POLLED, 500, TIMETICKS_WRAP - 100) == pytest.approx(POLLED - 6.0)


@pytest.mark.parametrize(("uptime", "change"), [(None, 5), (500, None), (-1, 5), (500, -3)])
def test_unknown_or_impossible_values_give_no_time(uptime: int | None, change: int | None) -> None:
    assert last_change_time(POLLED, uptime, change) is None
