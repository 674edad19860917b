"""Device profile benchmark: what reading health with vendor profiles costs per poll.

    .venv/bin/python bench/device_profiles.py [--rounds R] [--json]

Serves snmpsim-data recordings of real devices (Huawei S5720, Cisco C3560 and N5000, Juniper MX960,
H3C Comware, HPE ProCurve, D-Link, Ruijie) from one snmpsim process on 127.0.0.1 and polls each device
R times (default 5, after one unmeasured warm-up) three ways, measuring only this process's CPU
(`time.process_time`; snmpsim is a separate process):

- `if_only`: the `system` and `interfaces` modules (IF-MIB), the floor of any poll;
- `profiles`: `system`, `interfaces` and `resources` (the matched profile's columns only);
- `every_profile`: `system`, `interfaces` and every shipped profile evaluated on every device, i.e. what
  walking all vendors' tables would cost without the match.

The last line is JSON: cpu ms per poll for each mode, ratio_profiles_vs_if_only,
ratio_every_profile_vs_if_only, varbinds per poll for each mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common
from bench._common import log

RECORDINGS = (
    "network/router/huawei-s5720",
    "network/switch/cisco-c3560",
    "network/switch/cisco-n5000",
    "network/router/juniper-mx960-13-3r9-13",
    "network/switch/h3c-comware-7-1-075",
    "network/switch/hpe-procurve-516733-b21",
    "network/switch/dlink-des3200",
    "network/switch/ruijie-s5750-24gt12sfp",
)
MAX_ROUNDS = 50


async def _poll_all(fleet: Any, mode: str, rounds: int) -> tuple[float, int, int]:
    """CPU seconds, varbinds and polls of `rounds` polls of every device in `mode`."""
    from canhgac_agent.snmp.client import SnmpEngine
    from canhgac_agent.snmp.modules import MODULES, Module, Session
    from canhgac_agent.snmp.poller import poll_device
    from canhgac_agent.snmp.profiles.evaluate import evaluate
    from canhgac_agent.snmp.profiles.loader import load_profiles
    from canhgac_agent.snmp.results import DevicePoll
    from canhgac_agent.snmp.types import Credentials, DeviceTarget, Target

    every = [lp.profile for lp in load_profiles()[0]]

    async def all_profiles(session: Session, poll: DevicePoll) -> None:
        for profile in every:
            await evaluate(session, profile, None)

    base = [MODULES["system"], MODULES["interfaces"]]
    modules = {
        "if_only": base,
        "profiles": [*base, MODULES["resources"]],
        "every_profile": [*base, Module("every_profile", all_profiles)],
    }[mode]
    varbinds = polls = 0
    async with SnmpEngine() as engine:
        devices = []
        for community in RECORDINGS:
            host, port = fleet.endpoint(community)
            target = Target(host, port, timeout_s=5.0, retries=1)
            devices.append(DeviceTarget(community, "bench", target, Credentials("2c", community.encode())))
        for device in devices:  # warm-up: snmpsim indexes a recording on first use
            await poll_device(engine, device, previous=None, max_repetitions=25, modules=modules)
        started = time.process_time()
        for _ in range(rounds):
            for device in devices:
                p = await poll_device(engine, device, previous=None, max_repetitions=25, modules=modules)
                if p.state != "up" or p.module_errors:
                    raise SystemExit(f"{device.name}: {p.state} {p.detail} {p.module_errors}")
                varbinds += p.varbinds
                polls += 1
        return time.process_time() - started, varbinds, polls


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    _common.QUIET = args.json
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    from canhgac_collector.lab.snmpsim import SnmpsimFleet, snmpsim_data_recordings

    recordings = {c: p for c, p in snmpsim_data_recordings().items() if c in RECORDINGS}
    result: dict[str, Any] = {"devices": len(recordings), "rounds": rounds}
    with (
        tempfile.TemporaryDirectory(prefix="canhgac-bench-profiles-") as work,
        SnmpsimFleet(recordings, Path(work), per_process=len(recordings)) as fleet,
    ):
        for mode in ("if_only", "profiles", "every_profile"):
            log(f"polling {len(recordings)} devices × {rounds} rounds: {mode}")
            cpu, varbinds, polls = asyncio.run(_poll_all(fleet, mode, rounds))
            result[f"{mode}_cpu_ms_per_poll"] = round(1000 * cpu / polls, 3)
            result[f"{mode}_varbinds_per_poll"] = round(varbinds / polls, 1)
    floor = result["if_only_cpu_ms_per_poll"]
    result["ratio_profiles_vs_if_only"] = round(result["profiles_cpu_ms_per_poll"] / floor, 3)
    result["ratio_every_profile_vs_if_only"] = round(result["every_profile_cpu_ms_per_poll"] / floor, 3)
    if not args.json:
        print(f"{'mode':<16}{'CPU ms/poll':>14}{'varbinds/poll':>16}")
        for mode in ("if_only", "profiles", "every_profile"):
            cpu_ms, vb = result[f"{mode}_cpu_ms_per_poll"], result[f"{mode}_varbinds_per_poll"]
            print(f"{mode:<16}{cpu_ms:>14.3f}{vb:>16.1f}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
