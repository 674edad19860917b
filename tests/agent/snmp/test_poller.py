"""poll_device against real agents: states and reasons, a failing module, rates across two real polls."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.poller import poll_device
from canhgac_agent.snmp.rates import MAX32
from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import Credentials, DeviceTarget, Target
from canhgac_collector.lab.snmpsim import SnmpsimFleet, SnmpsimV3User
from tests.harness.snmp_recordings import switch_rows, write_recording

V3 = SnmpsimV3User(
    "opsv3", auth_key="auth-pass-123", auth_proto="SHA", priv_key="priv-pass-123", priv_proto="AES"
)
INTERVAL = 60.0


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimFleet]:
    work = tmp_path_factory.mktemp("poller")
    rec = work / "rec"
    mbit100_10s = 75_000_000  # bytes in 60 s at 10 Mbit/s
    recordings = {
        "lab/t0": write_recording(rec / "t0.snmprec", switch_rows(uptime=100_000, in_hc=5_000_000)),
        "lab/t1": write_recording(
            rec / "t1.snmprec", switch_rows(uptime=106_000, in_hc=5_000_000 + mbit100_10s)
        ),
        "lab/rebooted": write_recording(rec / "rb.snmprec", switch_rows(uptime=500, in_hc=10)),
        "lab/w0": write_recording(rec / "w0.snmprec", switch_rows(in_hc=None, in_octets32=MAX32 - 1000)),
        "lab/w1": write_recording(
            rec / "w1.snmprec", switch_rows(in_hc=None, in_octets32=4000, uptime=129_456)
        ),
        "lab/v1-min": write_recording(
            rec / "v1.snmprec", [r for r in switch_rows() if not r[0].startswith("1.3.6.1.2.1.1.4.")]
        ),
        "lab/lldp-broken": write_recording(
            rec / "lb.snmprec",
            [
                *[r for r in switch_rows() if not r[0].startswith("1.0.8802.1.1.2.1.4.1.1.5.")],
                ("1.0.8802.1.1.2.1.4.1.1.5.0.1.1", "4:error", "op=any,status=genError"),
            ],
        ),
    }
    with SnmpsimFleet(recordings, work / "fleet", per_process=6, v3_users=[V3]) as f:
        yield f


def device(
    fleet: SnmpsimFleet, community: str, *, creds: Credentials | None = None, timeout: float = 5.0
) -> DeviceTarget:
    host, port = fleet.endpoint(community)
    return DeviceTarget(
        "sw-xa-1",
        "xa",
        Target(host, port, timeout_s=timeout, retries=1),
        creds or Credentials("2c", community.encode()),
    )


def run(target: DeviceTarget, previous: DevicePoll | None = None) -> DevicePoll:
    async def go() -> DevicePoll:
        async with SnmpEngine() as engine:
            return await poll_device(engine, target, previous=previous, max_repetitions=25)

    return asyncio.run(go())


def earlier(poll: DevicePoll, seconds: float) -> DevicePoll:
    """The same poll, as if taken `seconds` earlier (the recordings stand for one device a minute apart)."""
    return replace(poll, started_at=poll.started_at - seconds)


def test_rates_between_two_real_polls(fleet: SnmpsimFleet) -> None:
    first = run(device(fleet, "lab/t0"))
    second = run(device(fleet, "lab/t1"), previous=earlier(first, INTERVAL))
    assert second.state == "up"
    elapsed = second.started_at - first.started_at + INTERVAL
    up = second.interfaces[0]
    assert up.in_bps == pytest.approx(75_000_000 * 8 / elapsed)
    assert up.in_bps == pytest.approx(10e6, rel=0.02)
    assert up.utilisation == pytest.approx(0.2, rel=0.02)  # busier direction: 20 of 100 Mbit/s out
    assert up.out_bps == pytest.approx(2 * 75_000_000 * 8 / elapsed)
    assert up.in_errors_ps == 0.0


def test_a_32_bit_counter_wrap_between_polls(fleet: SnmpsimFleet) -> None:
    first = run(device(fleet, "lab/w0"))
    second = run(device(fleet, "lab/w1"), previous=earlier(first, INTERVAL))
    elapsed = second.started_at - first.started_at + INTERVAL
    assert second.interfaces[0].in_bps == pytest.approx(5000 * 8 / elapsed)


def test_no_rates_after_a_reboot(fleet: SnmpsimFleet) -> None:
    first = run(device(fleet, "lab/t1"))
    second = run(device(fleet, "lab/rebooted"), previous=earlier(first, INTERVAL))
    assert second.state == "up"
    assert all(s.in_bps is None and s.out_bps is None and s.utilisation is None for s in second.interfaces)


def test_a_failing_module_is_recorded_and_the_others_still_run(fleet: SnmpsimFleet) -> None:
    p = run(device(fleet, "lab/lldp-broken"))
    assert p.state == "up"
    assert set(p.module_errors) == {"lldp"}
    assert p.module_errors["lldp"].startswith("protocol_error")
    assert len(p.interfaces) == 4
    assert len(p.fdb) == 3
    assert len(p.arp) == 3
    assert p.resources is not None


def test_snmpv1_agent_missing_a_system_object_and_without_counter64(fleet: SnmpsimFleet) -> None:
    # v1 fails a whole GET for one missing object (noSuchName) and cannot carry Counter64 at all.
    p = run(device(fleet, "lab/v1-min", creds=Credentials("1", b"lab/v1-min")))
    assert p.state == "up", p.detail
    assert p.system is not None
    assert (p.system.sysName, p.system.sysContact, p.system.sysUpTime) == ("sw-xa-1", None, 123_456)
    counters = p.interfaces[0].counters
    assert "ifHCInOctets" not in counters
    assert (counters["ifInOctets"], counters["ifOutOctets"]) == (1000, 2000)
    assert len(p.fdb) == 3
    assert p.neighbors[0].remote_name == "sw-huyen-core"


class _GetOnlyProxy(asyncio.DatagramProtocol):
    """Forwards SNMPv2c GETs to a real agent and drops everything else: a device that answers the
    system GET, then stops answering (a congested commune link, or an agent that chokes on GETBULK)."""

    def __init__(self, agent: tuple[str, int]) -> None:
        self.agent = agent
        self.client: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if addr == self.agent:
            if self.client is not None:
                self.transport.sendto(data, self.client)
            return
        # message = SEQUENCE { version INTEGER(1 byte), community OCTET STRING, PDU }; short lengths here.
        community_len = data[6]
        if data[7 + community_len] == 0xA0:  # GetRequest
            self.client = addr
            self.transport.sendto(data, self.agent)


def test_a_device_that_stops_answering_mid_poll_costs_two_timeouts_not_six(fleet: SnmpsimFleet) -> None:
    async def go() -> DevicePoll:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _GetOnlyProxy(fleet.endpoint("lab/t0")), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        try:
            target = DeviceTarget(
                "stalls",
                "xa",
                Target("127.0.0.1", port, timeout_s=0.3, retries=1),
                Credentials("2c", b"lab/t0"),
            )
            async with SnmpEngine() as engine:
                return await poll_device(engine, target, previous=None, max_repetitions=10)
        finally:
            transport.close()

    p = asyncio.run(go())
    assert p.state == "up"
    assert p.system is not None
    assert p.system.sysName == "sw-xa-1"
    assert p.module_errors["interfaces"].startswith("timeout")
    assert p.module_errors["lldp"].startswith("timeout")
    assert all(p.module_errors[m].startswith("skipped") for m in ("cdp", "fdb", "arp", "resources"))
    assert p.duration_s < 2 * 2 * 0.3 + 1.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_no_reply_is_down_with_a_readable_sentence() -> None:
    port = _free_port()
    target = DeviceTarget(
        "gone", "xa", Target("127.0.0.1", port, timeout_s=0.3, retries=1), Credentials("2c", b"x")
    )
    p = run(target)
    assert (p.state, p.reason) == ("down", "timeout")
    assert p.detail is not None
    assert p.detail.startswith(f"no reply from 127.0.0.1:{port} after 2 tries of 0.3 s")
    assert p.system is None
    assert p.interfaces == []


def test_wrong_community_is_down_timeout(fleet: SnmpsimFleet) -> None:
    p = run(device(fleet, "lab/t0", creds=Credentials("2c", b"not-the-community"), timeout=0.5))
    assert (p.state, p.reason) == ("down", "timeout")


def test_v3_authpriv_works_and_a_wrong_key_is_an_auth_failure(fleet: SnmpsimFleet) -> None:
    good = Credentials(
        "3",
        user=b"opsv3",
        auth_protocol="sha",
        auth_key=b"auth-pass-123",
        priv_protocol="aes128",
        priv_key=b"priv-pass-123",
        context_name=b"lab/t0",
    )
    ok = run(device(fleet, "lab/t0", creds=good))
    assert ok.state == "up", ok.detail
    assert ok.system is not None
    assert ok.system.sysName == "sw-xa-1"
    bad = run(device(fleet, "lab/t0", creds=good._replace(auth_key=b"wrong-pass-1"), timeout=1.0))
    assert (bad.state, bad.reason) == ("error", "auth_failure")
    assert bad.detail is not None
    assert "opsv3" in bad.detail


class _Garbage(asyncio.DatagramProtocol):
    """Answers every datagram with bytes that are not SNMP."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(b"\x30\x82\xff\xff garbage", addr)


def test_a_garbage_reply_is_an_error_not_down() -> None:
    async def go() -> DevicePoll:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(_Garbage, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        try:
            target = DeviceTarget(
                "odd", "xa", Target("127.0.0.1", port, timeout_s=0.3, retries=1), Credentials("2c", b"public")
            )
            async with SnmpEngine() as engine:
                return await poll_device(engine, target, previous=None, max_repetitions=10)
        finally:
            with contextlib.suppress(Exception):
                transport.close()

    p = asyncio.run(go())
    assert (p.state, p.reason) == ("error", "malformed_reply")
    assert p.detail is not None
    assert "127.0.0.1" in p.detail
