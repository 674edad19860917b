"""Time sync: chronyc and ntpq output on Linux; w32tm on Windows."""

from __future__ import annotations

from canhgac_agent.facts.time_sync import parse_chronyc_tracking, parse_ntpq_peers, parse_w32tm_status
from canhgac_api.schemas.report import TimeSync
from tests.agent.facts.samples import W32TM_SYNCED

CHRONY_SYNCED = """\
Reference ID    : C0A80101 (192.168.1.1)
Stratum         : 3
Ref time (UTC)  : Sat Nov 22 03:58:11 2026
System time     : 0.000123456 seconds slow of NTP time
Last offset     : -0.000045678 seconds
RMS offset      : 0.000098765 seconds
Frequency       : 12.345 ppm fast
Residual freq   : -0.001 ppm
Skew            : 0.045 ppm
Root delay      : 0.012345678 seconds
Root dispersion : 0.001234567 seconds
Update interval : 1024.3 seconds
Leap status     : Normal
"""


CHRONY_UNSYNCED = """\
Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Leap status     : Not synchronised
"""


def test_parse_chronyc_tracking() -> None:
    assert parse_chronyc_tracking(CHRONY_SYNCED) == {
        "synchronized": True,
        "source": "192.168.1.1",
        "offset_ms": -0.123456,
    }
    unsynced = parse_chronyc_tracking(CHRONY_UNSYNCED)
    assert unsynced["synchronized"] is False
    assert unsynced["source"] is None
    assert parse_chronyc_tracking("506 Cannot talk to daemon\n") == {
        "synchronized": None,
        "source": None,
        "offset_ms": None,
    }


NTPQ = """\
     remote           refid      st t when poll reach   delay   offset  jitter
==============================================================================
 0.debian.pool.n .POOL.          16 p    -   64    0    0.000   +0.000   0.000
*203.0.113.10    .GPS.            1 u   33   64  377    8.123   -0.456   0.210
+198.51.100.5    192.0.2.1        2 u   40   64  377   12.001    1.234   0.500
"""


def test_parse_ntpq_peers() -> None:
    assert parse_ntpq_peers(NTPQ) == {"synchronized": True, "source": "203.0.113.10", "offset_ms": -0.456}
    assert parse_ntpq_peers(NTPQ.replace("*", " "))["synchronized"] is False
    assert parse_ntpq_peers("")["synchronized"] is None
    assert parse_ntpq_peers("*")["source"] is None


W32TM_CMOS = """\
Leap Indicator: 3(not synchronized)
Stratum: 0 (unspecified)
Precision: -23 (119.209ns per tick)
Root Delay: 0.0000000s
Root Dispersion: 0.0000000s
ReferenceId: 0x00000000 (unspecified)
Last Successful Sync Time: unspecified
Source: Local CMOS Clock
Poll Interval: 10 (1024s)
"""


W32TM_STOPPED = "The following error occurred: The service has not been started. (0x80070426)\n"


def test_w32tm() -> None:
    synced = parse_w32tm_status(W32TM_SYNCED)
    TimeSync.model_validate(synced)
    assert synced == {
        "service": "w32time",
        "synchronized": True,
        "source": "dc01.sotttt.gov.vn",
        "offset_ms": -1.2345,
    }
    assert parse_w32tm_status(W32TM_SYNCED.replace("dc01.sotttt.gov.vn", "time.windows.com,0x9"))[
        "source"
    ] == ("time.windows.com")
    cmos = parse_w32tm_status(W32TM_CMOS)
    assert cmos["synchronized"] is False
    assert cmos["source"] == "Local CMOS Clock"
    assert parse_w32tm_status(W32TM_STOPPED)["synchronized"] is False
    garbage = parse_w32tm_status("\x00\x01 nothing useful")
    TimeSync.model_validate(garbage)
    assert garbage["synchronized"] is None
