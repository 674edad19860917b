"""Scope 8: misbehaving agents give a clear per-device SnmpError, and the engine keeps serving the others."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.errors import (
    SnmpError,
    SnmpMalformed,
    SnmpProtocolError,
    SnmpTimeout,
    SnmpWalkError,
)
from canhgac_agent.snmp.types import Credentials, Tag, Target
from canhgac_collector.lab.snmpsim import SnmpsimFleet, snmpsim_data_recordings
from tests.harness.snmp_badagent import DEFAULT_TABLE, BadAgent

V2C = Credentials("2c", community=b"public")
V1 = Credentials("1", community=b"public")
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2)
MIB2 = (1, 3, 6, 1, 2, 1)
T = TypeVar("T")


def run(coro_fn: Callable[[SnmpEngine], Awaitable[T]], timeout_s: float = 20.0) -> T:
    async def main() -> T:
        async with asyncio.timeout(timeout_s), SnmpEngine() as engine:
            return await coro_fn(engine)

    return asyncio.run(main())


async def _good_walk_still_works(engine: SnmpEngine) -> None:
    """The same engine answers a healthy agent after (and while) another one misbehaved."""
    async with BadAgent("normal") as good:
        rows = await engine.walk(Target(*good.endpoint, timeout_s=1, retries=0), V2C, IF_TABLE)
    assert len(rows) == 3 * 48


def _check_mode(mode: str, error: type[SnmpError], *, creds: Credentials = V2C, **agent_kw: Any) -> str:
    """Walk a BadAgent in `mode` next to a healthy one; return the error message."""

    async def scenario(engine: SnmpEngine) -> str:
        async with BadAgent(mode, **agent_kw) as bad, BadAgent("normal") as good:
            target = Target(*bad.endpoint, timeout_s=0.3, retries=1)
            bad_walk = asyncio.create_task(engine.walk(target, creds, IF_TABLE, max_varbinds=500))
            good_rows = await engine.walk(Target(*good.endpoint, timeout_s=1, retries=0), creds, IF_TABLE)
            assert len(good_rows) == 3 * 48  # served while the bad walk was in flight
            with pytest.raises(error) as info:
                await bad_walk
            await _good_walk_still_works(engine)
            host, port = bad.endpoint
            assert f"{host}:{port}" in str(info.value), "the error names the device"
            return str(info.value)

    return run(scenario)


def test_timeout_from_an_agent_that_never_answers() -> None:
    started = time.monotonic()
    message = _check_mode("silent", SnmpTimeout)
    assert "no reply" in message
    assert time.monotonic() - started < 5  # timeout × (retries + 1), not more


def test_timeout_on_a_plain_udp_socket_that_never_answers() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]

        async def scenario(engine: SnmpEngine) -> None:
            with pytest.raises(SnmpTimeout, match=f"127.0.0.1:{port}"):
                await engine.get(
                    Target("127.0.0.1", port, timeout_s=0.2, retries=2), V2C, [(1, 3, 6, 1, 2, 1, 1, 1, 0)]
                )
            assert engine.stats.retries == 2
            assert engine.stats.timeouts == 1

        run(scenario)


def test_truncated_reply_is_malformed() -> None:
    message = _check_mode("truncated", SnmpMalformed)
    assert "truncated" in message


def test_garbage_reply_is_malformed() -> None:
    assert "malformed" in _check_mode("garbage", SnmpMalformed)


def test_replies_with_a_wrong_request_id_are_ignored() -> None:
    async def scenario(engine: SnmpEngine) -> None:
        async with BadAgent("wrong_id") as agent:
            rows = await engine.walk(Target(*agent.endpoint, timeout_s=1, retries=0), V2C, IF_TABLE)
        assert rows == [vb for vb in DEFAULT_TABLE if vb[0][:8] == IF_TABLE]
        assert engine.stats.unmatched_replies >= 1

    run(scenario)


def test_too_big_halves_max_repetitions_and_completes() -> None:
    async def scenario(engine: SnmpEngine) -> None:
        async with BadAgent("too_big", too_big_above=5) as agent:
            rows = await engine.walk(
                Target(*agent.endpoint, timeout_s=1, retries=0), V2C, IF_TABLE, max_repetitions=40
            )
            cols = await engine.walk_columns(
                Target(*agent.endpoint, timeout_s=1, retries=0), V2C, [(*IF_TABLE, 1, 1), (*IF_TABLE, 1, 2)]
            )
        assert len(rows) == 3 * 48
        assert cols[(*IF_TABLE, 1, 2)][(7,)] == b"port7"
        assert engine.stats.too_big >= 2

    run(scenario)


def test_too_big_even_for_one_repetition_is_a_protocol_error() -> None:
    message = _check_mode("too_big", SnmpProtocolError, too_big_above=0)
    assert "tooBig" in message


def test_end_of_mib_view_ends_the_walk() -> None:
    async def scenario(engine: SnmpEngine) -> None:
        async with BadAgent("end_of_mib") as agent:
            rows = await engine.walk(Target(*agent.endpoint, timeout_s=1, retries=0), V2C, IF_TABLE)
            cols = await engine.walk_columns(
                Target(*agent.endpoint, timeout_s=1, retries=0), V2C, [(*IF_TABLE, 1, 10)]
            )
        assert len(rows) == 3 * 48
        assert all(tag != Tag.END_OF_MIB_VIEW for _, tag, _ in rows)
        assert len(cols[(*IF_TABLE, 1, 10)]) == 48

    run(scenario)


def test_non_increasing_oids_are_a_walk_error() -> None:
    assert "not increasing" in _check_mode("non_increasing", SnmpWalkError)


def test_non_increasing_oids_in_a_v1_walk() -> None:
    assert "not increasing" in _check_mode("non_increasing", SnmpWalkError, creds=V1)


def test_an_endless_walk_stops_at_the_cap() -> None:
    assert "exceeded 500" in _check_mode("endless", SnmpWalkError)


def test_endless_column_walk_stops_at_the_row_cap() -> None:
    async def scenario(engine: SnmpEngine) -> None:
        async with BadAgent("endless") as agent:
            with pytest.raises(SnmpWalkError, match="exceeded 300 rows"):
                await engine.walk_columns(
                    Target(*agent.endpoint, timeout_s=1, retries=0), V2C, [(*IF_TABLE, 1, 1)], max_rows=300
                )

    run(scenario)


def test_wrong_community_against_snmpsim_is_a_timeout(tmp_path: Path) -> None:
    recordings = snmpsim_data_recordings(("switch",))
    community, path = next(iter(recordings.items()))
    with SnmpsimFleet({community: path}, tmp_path) as fleet:
        host, port = fleet.endpoint(community)

        async def scenario(engine: SnmpEngine) -> None:
            target = Target(host, port, timeout_s=0.5, retries=1)
            with pytest.raises(SnmpTimeout, match=f"{host}:{port}"):
                await engine.get(
                    target, Credentials("2c", community=b"not-" + community.encode()), [(*MIB2, 1, 1, 0)]
                )
            good = await engine.get(
                target, Credentials("2c", community=community.encode()), [(*MIB2, 1, 1, 0)]
            )
            assert good[0][1] == Tag.OCTET_STRING
            assert good[0][2]

        run(scenario)
