"""Storing one SNMP poll cycle of a province's switches: wall and CPU seconds per cycle.

    .venv/bin/python bench/device_store.py [--devices 1000] [--database-url URL] [--json]

Each device is a 48-port switch with 2 LLDP neighbours, 40 learned MACs and 40 ARP entries. The cycle
is written the way `SnmpService` writes it (its `DeviceSink`, batches of `WRITE_BATCH_MAX`, one
transaction each), twice: the first cycle inserts every row, the second is the steady state (updates).
The poll itself is bench/snmp_poll.py's job; poll + store of 1,000 switches must fit one core-minute.
Last line (JSON): `devices`, `insert_s`, `steady_s`, `steady_cpu_s`, `polls_per_s` (steady state).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from canhgac_agent.snmp.results import (
    ArpEntry,
    DevicePoll,
    FdbEntry,
    InterfaceSample,
    Neighbor,
)
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.snmp.service import WRITE_BATCH_MAX
from canhgac_collector.devices.store import DeviceSink, sync_config_devices
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.secrets import SecretBox
from canhgac_collector.store.sites import sync_sites

SITE = {"code": "P", "name": "Tỉnh", "kind": "province", "level": 3}


def ports(device: int, at: float) -> list[InterfaceSample]:
    return [
        InterfaceSample(
            ifIndex=i,
            ifName=f"Gi1/0/{i}",
            ifDescr=f"GigabitEthernet1/0/{i}",
            ifType=6,
            ifHighSpeed=1000,
            ifSpeed=1_000_000_000,
            ifAdminStatus="up",
            ifOperStatus="up" if (i + device) % 5 else "down",
            counters={"ifHCInOctets": int(at) * i, "ifHCOutOctets": int(at) * i // 2, "ifInErrors": 0},
            in_bps=1e6 * i,
            out_bps=5e5 * i,
            utilisation=1e-3 * i,
        )
        for i in range(1, 49)
    ]


def cycle(names: list[str], at: float) -> list[DevicePoll]:
    return [
        DevicePoll(
            device=name,
            started_at=at,
            duration_s=0.2,
            state="up",
            interfaces=ports(n, at),
            neighbors=[
                Neighbor("lldp", 48, "Gi1/0/48", f"dist-{n // 20}", "Gi1/0/1"),
                Neighbor("lldp", 47, "Gi1/0/47", f"dist-{n // 20 + 1}", "Gi1/0/2"),
            ],
            fdb=[
                FdbEntry(f"02:{n // 256:02x}:{n % 256:02x}:00:00:{k:02x}", 10, k + 1, k + 1, "learned")
                for k in range(40)
            ],
            arp=[
                ArpEntry(
                    f"10.{n // 250}.{n % 250}.{k + 1}", f"02:{n // 256:02x}:{n % 256:02x}:00:00:{k:02x}", 1
                )
                for k in range(40)
            ],
        )
        for n, name in enumerate(names)
    ]


def run(devices: int, database_url: str | None, work: Path) -> dict[str, Any]:
    url = database_url or f"sqlite:///{work / 'bench.sqlite'}"
    names = [f"sw-{i:04d}" for i in range(devices)]
    config = ServerConfig(
        database_url=url,
        sites=[SITE],
        devices=[
            {"name": n, "address": "127.0.0.1", "site": "P", "snmp": {"version": "2c", "community": "c"}}
            for n in names
        ],
        snmp={"secrets_key_file": str(work / "secrets.key")},
    )
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(config))
        sync_config_devices(session, config, SecretBox(work / "secrets.key"))

    sink = DeviceSink(sessions)

    def write(polls: list[DevicePoll]) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(polls), WRITE_BATCH_MAX):
            sink.write_many(polls[i : i + WRITE_BATCH_MAX])
        return time.perf_counter() - wall, time.process_time() - cpu

    now = time.time()
    insert_s, insert_cpu = write(cycle(names, now - 60))
    steady_s, steady_cpu = write(cycle(names, now))
    return {
        "devices": devices,
        "database": url.split(":", 1)[0],
        "insert_s": round(insert_s, 2),
        "insert_cpu_s": round(insert_cpu, 2),
        "steady_s": round(steady_s, 2),
        "steady_cpu_s": round(steady_cpu, 2),
        "polls_per_s": round(devices / steady_s, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=1000, help="48-port switches per cycle (default 1000)")
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = ap.parse_args()
    if not 1 <= args.devices <= 20_000:
        ap.error("--devices must be 1..20000")
    with tempfile.TemporaryDirectory(prefix="canhgac-bench-") as tmp:
        result = run(args.devices, args.database_url, Path(tmp))
    if not args.json:
        print(
            f"{result['devices']} switches on {result['database']}: insert cycle {result['insert_s']} s, "
            f"steady cycle {result['steady_s']} s wall / {result['steady_cpu_s']} s CPU "
            f"({result['polls_per_s']} polls/s)"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
