"""Scope 4, the correctness oracle: on every switch/router recording of `snmpsim-data`, served by snmpsim, our
walk returns exactly the varbinds net-snmp's `snmpbulkwalk` returns (OID, type and value).

snmpsim serves ~1 device walk/s per process and indexes slowly here, and the recordings hold 12 M records,
so each recording is served reduced to the subtrees the poller walks (system, ifTable, ifXTable, ip,
bridge, LLDP, CDP, host resources, entity, entity-sensor), at most `PER_ROOT` records of each, without
snmpsim variation records (they change between two walks). Both walkers then walk the whole served
recording (root 1) — every served record, every value type.

`CANHGAC_ORACLE_PER_ROOT=N` serves up to N records per subtree (0: all of them — ~1.6 M records, a
long run for a quiet machine, not for CI).
"""

from __future__ import annotations

import asyncio
import bz2
import concurrent.futures
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.errors import SnmpError
from canhgac_agent.snmp.types import Credentials, Tag, Target, Varbind, format_oid, parse_oid
from canhgac_collector.lab.snmpsim import SnmpsimFleet, snmpsim_data_recordings

ROOTS = (
    "1.3.6.1.2.1.1.",  # system
    "1.3.6.1.2.1.2.",  # interfaces (ifTable)
    "1.3.6.1.2.1.31.",  # ifMIB (ifXTable)
    "1.3.6.1.2.1.4.",  # ip (ARP / ipNetToMedia, addresses)
    "1.3.6.1.2.1.17.",  # bridge (FDB, Q-BRIDGE)
    "1.0.8802.",  # LLDP
    "1.3.6.1.4.1.9.9.23.",  # CISCO-CDP-MIB
    "1.3.6.1.2.1.25.",  # host resources
    "1.3.6.1.2.1.47.",  # entity
    "1.3.6.1.2.1.99.",  # entity sensor
)
PER_ROOT = int(os.environ.get("CANHGAC_ORACLE_PER_ROOT", "250")) or 1 << 62
WALK_TIMEOUT_S = 240 if PER_ROOT <= 250 else 7200
LAST_ROOT = (1, 3, 6, 1, 4, 1, 9, 9, 23)
TYPE_NAMES = {
    "INTEGER": Tag.INTEGER,
    "Counter32": Tag.COUNTER32,
    "Gauge32": Tag.GAUGE32,
    "Counter64": Tag.COUNTER64,
    "Timeticks": Tag.TIMETICKS,
}


class Outcome(NamedTuple):
    ours: list[Varbind] | str  # varbinds, or the error
    netsnmp: list[Varbind] | str


def _reduce(source: Path, dest: Path) -> int:
    """Write the poller subtrees of a recording (plain .snmprec); returns the number of records kept."""
    counts = dict.fromkeys(ROOTS, 0)
    opener = bz2.open if source.name.endswith(".bz2") else open
    records: dict[tuple[int, ...], str] = {}
    with opener(source, "rt", encoding="utf-8", errors="surrogateescape") as src:
        for line in src:
            if line.startswith("1.3.6.1.4.1.") and not line.startswith("1.3.6.1.4.1.9."):
                try:
                    if parse_oid(line.split("|", 1)[0]) > (*LAST_ROOT, 1 << 32):
                        break  # nothing the poller walks comes later (in the mostly sorted recordings)
                except ValueError:
                    continue
            for root in ROOTS:
                if line.startswith(root):
                    parts = line.split("|", 2)
                    if len(parts) == 3 and ":" not in parts[1] and parts[1] and counts[root] < PER_ROOT:
                        try:
                            oid = parse_oid(parts[0])
                        except ValueError:
                            break
                        if oid not in records:
                            counts[root] += 1
                            records[oid] = line if line.endswith("\n") else line + "\n"
                    break
    # a few recordings are not in OID order, and snmpsim serves file order: sort, so the walk is valid
    with dest.open("w", encoding="utf-8", errors="surrogateescape") as out:
        out.writelines(records[oid] for oid in sorted(records))
    return len(records)


def _netsnmp_walk(host: str, port: int, community: str) -> list[Varbind] | str:
    exe = shutil.which("snmpbulkwalk")
    if exe is None:
        pytest.fail("snmpbulkwalk (Debian package 'snmp') is missing: run scripts/install-system-deps")
    proc = subprocess.run(
        [
            exe,
            "-v2c",
            "-c",
            community,
            "-On",
            "-Oe",
            "-Ot",
            "-Ox",
            "-OU",
            "-Cr25",
            "-t10",
            "-r2",
            f"{host}:{port}",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=WALK_TIMEOUT_S / 2,
        check=False,
        env={**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"},
    )
    if proc.returncode != 0 or "Timeout" in proc.stderr or "not increasing" in proc.stderr:
        return f"snmpbulkwalk failed ({proc.returncode}): {proc.stderr.strip()[:300]}"
    return _parse_netsnmp(proc.stdout)


def _parse_netsnmp(text: str) -> list[Varbind]:
    """net-snmp's `-On -Oe -Ot -Ox -OU` printing → (oid, tag, value), as our decoder returns them."""
    lines: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("."):
            lines.append([line])
        elif lines:  # a long Hex-STRING continues on the next lines
            lines[-1].append(line)
    out: list[Varbind] = []
    for group in lines:
        oid_text, _, value = group[0].partition(" = ")
        value = " ".join([value, *group[1:]]).strip()
        if value.startswith("No more variables left"):
            continue  # net-snmp prints the endOfMibView that ended the walk
        tag, parsed = _parse_value(value)
        out.append((parse_oid(oid_text), tag, parsed))  # type: ignore[arg-type]  # Opaque: net-snmp's text
    return out


def _parse_value(text: str) -> tuple[int, object]:
    if text == '""':
        return Tag.OCTET_STRING, b""
    if text == "NULL":
        return Tag.NULL, None
    kind, sep, rest = text.partition(": ")
    if not sep:
        return Tag.TIMETICKS, int(text)  # -Ot prints bare numbers for TimeTicks
    if kind == "Hex-STRING":
        return Tag.OCTET_STRING, bytes.fromhex(rest)
    if kind == "STRING":
        return Tag.OCTET_STRING, rest.strip('"').encode()
    if kind == "OID":
        return Tag.OBJECT_IDENTIFIER, parse_oid(rest)
    if kind == "IpAddress":
        return Tag.IP_ADDRESS, bytes(int(x) for x in rest.split("."))
    if kind == "Opaque":
        return Tag.OPAQUE, ("opaque", rest)
    if kind in TYPE_NAMES:
        return TYPE_NAMES[kind], int(rest.split()[0])
    return -1, text


def _comparable(vb: Varbind) -> tuple[object, ...]:
    """Our varbind in the terms net-snmp prints (Opaque floats are decoded by net-snmp)."""
    oid, tag, value = vb
    if tag == Tag.OPAQUE and isinstance(value, bytes):
        if len(value) == 7 and value[:3] == b"\x9f\x78\x04":
            return oid, tag, ("opaque", f"Float: {struct.unpack('>f', value[3:])[0]:f}")
        if len(value) == 11 and value[:3] == b"\x9f\x79\x08":
            return oid, tag, ("opaque", f"Double: {struct.unpack('>d', value[3:])[0]:f}")
        return oid, tag, ("opaque", " ".join(f"{b:02X}" for b in value))
    return oid, tag, value


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Serve every reduced recording, walk each with both walkers in parallel; community → outcome."""
    data = tmp_path_factory.mktemp("oracle-data")
    reduced: dict[str, Path] = {}
    sources = snmpsim_data_recordings(("switch", "router"))
    assert len(sources) >= 35, "snmpsim-data ships 39 switch/router recordings"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        dests = {c: data / (c.replace("/", "__") + ".snmprec") for c in sources}
        kept = dict(zip(sources, pool.map(_reduce, sources.values(), dests.values()), strict=True))
    for community, count in kept.items():
        if count:  # a recording with none of the poller's subtrees has nothing to compare
            reduced[community] = dests[community]
    with SnmpsimFleet(reduced, tmp_path_factory.mktemp("oracle-fleet"), per_process=15) as fleet:

        async def ours_all() -> dict[str, list[Varbind] | str]:
            async with SnmpEngine() as engine:
                sem = asyncio.Semaphore(6)

                async def one(community: str) -> list[Varbind] | str:
                    host, port = fleet.endpoint(community)
                    async with sem:
                        try:
                            return await engine.walk(
                                Target(host, port, timeout_s=10, retries=2),
                                Credentials("2c", community=community.encode()),
                                (1,),
                                max_repetitions=25,
                            )
                        except SnmpError as exc:
                            return f"{type(exc).__name__}: {exc}"

                results = await asyncio.gather(*(one(c) for c in reduced))
                return dict(zip(reduced, results, strict=True))

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            theirs = dict(
                zip(reduced, pool.map(lambda c: _netsnmp_walk(*fleet.endpoint(c), c), reduced), strict=True)
            )
        ours = asyncio.run(asyncio.wait_for(ours_all(), WALK_TIMEOUT_S))
    return {c: Outcome(ours[c], theirs[c]) for c in reduced}


ALL = sorted(snmpsim_data_recordings(("switch", "router")))


@pytest.mark.parametrize("community", ALL)
def test_walk_matches_snmpbulkwalk(outcomes: dict[str, Outcome], community: str) -> None:
    if community not in outcomes:
        pytest.fail(f"{community}: none of the poller's subtrees in the recording")  # none expected
    ours, theirs = outcomes[community]
    assert not isinstance(theirs, str), theirs
    assert not isinstance(ours, str), ours
    assert len(ours) == len(theirs), f"{len(ours)} varbinds vs snmpbulkwalk's {len(theirs)}"
    mismatches = [
        (format_oid(b[0]), a[1:], b[1:])
        for a, b in zip(map(_comparable, ours), theirs, strict=True)
        if a != b
    ]
    assert not mismatches, mismatches[:5]
    assert len(ours) > 0


def test_oracle_covered_every_value_type(outcomes: dict[str, Outcome]) -> None:
    """The recordings exercise the codec: strings, OIDs, IP addresses, every integer type, Counter64."""
    seen = {tag for ours, _ in outcomes.values() if isinstance(ours, list) for _, tag, _ in ours}
    assert {Tag.TIMETICKS, Tag.COUNTER64} <= seen
    assert {
        Tag.INTEGER,
        Tag.OCTET_STRING,
        Tag.OBJECT_IDENTIFIER,
        Tag.IP_ADDRESS,
        Tag.COUNTER32,
        Tag.GAUGE32,
    } <= seen
    total = sum(len(o) for o, _ in outcomes.values() if isinstance(o, list))
    assert total > 20_000
