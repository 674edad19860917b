"""v1/v2c GET, walks and column walks against a live net-snmp snmpd, checked against snmpbulkwalk."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.types import Credentials, Tag, Target, Varbind, format_oid
from canhgac_collector.lab.snmpd import Snmpd
from tests.agent.snmp.conftest import run, target
from tests.harness.snmp_badagent import BadAgent

V2C = Credentials("2c", community=b"public")
V1 = Credentials("1", community=b"public")
SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2)
IF_ENTRY = (*IF_TABLE, 1)


def _netsnmp_oids(snmpd: Snmpd, root: str, version: str = "2c") -> list[str]:
    exe = shutil.which("snmpbulkwalk" if version == "2c" else "snmpwalk")
    if exe is None:
        pytest.fail("net-snmp tools (Debian package 'snmp') are missing: run scripts/install-system-deps")
    host, port = snmpd.endpoint
    out = subprocess.run(
        [exe, "-v", version, "-c", "public", "-On", "-r1", "-t2", f"{host}:{port}", root],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [line.split(" ", 1)[0].lstrip(".") for line in out.splitlines() if line.startswith(".")]


@pytest.mark.parametrize("creds", [V1, V2C], ids=["v1", "v2c"])
def test_get(snmpd: Snmpd, creds: Credentials) -> None:
    async def scenario(engine: SnmpEngine) -> list[Varbind]:
        return await engine.get(target(snmpd), creds, [(*SYSTEM, 6, 0), (*SYSTEM, 3, 0), (*SYSTEM, 2, 0)])

    loc, uptime, object_id = run(scenario)
    assert loc == ((*SYSTEM, 6, 0), Tag.OCTET_STRING, b"Canh Gac lab")
    assert uptime[1] == Tag.TIMETICKS
    assert isinstance(uptime[2], int)
    assert uptime[2] >= 0
    assert object_id[1] == Tag.OBJECT_IDENTIFIER
    assert isinstance(object_id[2], tuple)
    assert object_id[2][:6] == (1, 3, 6, 1, 4, 1)


def test_get_missing_instance_v2c(snmpd: Snmpd) -> None:
    async def scenario(engine: SnmpEngine) -> list[Varbind]:
        return await engine.get(target(snmpd), V2C, [(*SYSTEM, 6, 1), (1, 3, 6, 1, 9, 9, 9, 0)])

    assert [tag for _, tag, _ in run(scenario)] == [Tag.NO_SUCH_INSTANCE, Tag.NO_SUCH_OBJECT]


@pytest.mark.parametrize("version", ["1", "2c"])
def test_walk_matches_netsnmp(snmpd: Snmpd, version: str) -> None:
    creds = V1 if version == "1" else V2C
    root = (1, 3, 6, 1, 2, 1, 1)

    async def scenario(engine: SnmpEngine) -> list[Varbind]:
        return await engine.walk(target(snmpd), creds, root, max_repetitions=7)

    ours = [format_oid(oid) for oid, _, _ in run(scenario)]
    assert ours == _netsnmp_oids(snmpd, format_oid(root), version)
    assert len(ours) > 10


def test_walk_columns_matches_the_full_walk(snmpd: Snmpd) -> None:
    columns = [(*IF_ENTRY, c) for c in (1, 2, 3, 4, 5, 6, 7, 8, 10, 16)] + [(*IF_ENTRY, 99)]

    async def scenario(
        engine: SnmpEngine,
    ) -> tuple[dict[tuple[int, ...], dict[tuple[int, ...], object]], list[Varbind]]:
        cols = await engine.walk_columns(target(snmpd), V2C, columns, max_repetitions=3)
        full = await engine.walk(target(snmpd), V2C, IF_TABLE)
        return cols, full  # type: ignore[return-value]

    cols, full = run(scenario)
    assert cols[(*IF_ENTRY, 99)] == {}, "a column the device lacks comes back empty"
    by_column: dict[tuple[int, ...], dict[tuple[int, ...], object]] = {}
    for oid, _, value in full:
        by_column.setdefault(oid[:10], {})[oid[10:]] = value
    for column in columns[:-1]:
        assert cols[column].keys() == by_column[column].keys(), format_oid(column)
    assert cols[(*IF_ENTRY, 2)] == by_column[(*IF_ENTRY, 2)]


def test_too_big_halves_max_repetitions_and_completes() -> None:
    """snmpd truncates large GETBULK replies instead of answering tooBig, so a scripted agent answers
    tooBig above 5 repetitions (tests/harness/snmp_badagent.py)."""

    async def scenario(engine: SnmpEngine) -> tuple[int, int, int]:
        async with BadAgent("too_big", too_big_above=5) as agent:
            rows = await engine.walk(
                Target(*agent.endpoint, timeout_s=1, retries=0), V2C, IF_TABLE, max_repetitions=64
            )
            cols = await engine.walk_columns(
                Target(*agent.endpoint, timeout_s=1, retries=0),
                V2C,
                [(*IF_ENTRY, 1), (*IF_ENTRY, 10)],
                max_repetitions=64,
            )
        return len(rows), len(cols[(*IF_ENTRY, 10)]), engine.stats.too_big

    rows, col_rows, too_big = run(scenario)
    assert (rows, col_rows) == (3 * 48, 48)
    assert too_big == 2 * 4  # 64 → 32 → 16 → 8 → 4, once per walk


def test_concurrent_walks_share_one_socket(snmpd: Snmpd) -> None:
    async def scenario(engine: SnmpEngine) -> list[int]:
        walks = [engine.walk(target(snmpd), V2C, SYSTEM, max_repetitions=3) for _ in range(20)]
        results = await asyncio.gather(*walks)
        assert len(engine._transports) == 1
        return [len(r) for r in results]

    sizes = run(scenario)
    assert len(set(sizes)) == 1
    assert sizes[0] > 10
