"""SNMP poll benchmark: CPU per ifTable+ifXTable walk of 48-port switches, ours vs snmp_exporter vs net-snmp.

    sudo .venv/bin/python bench/snmp_poll.py [--devices N] [--agents K] [--json] [--no-v3]

1. Builds a throw-away "switch": two network namespaces joined by 48 veth pairs, so the first namespace
   has 48 interfaces (+ lo) with real IF-MIB counters. Needs root (iproute2); both namespaces are
   deleted at the end. All traffic stays on that namespace's loopback.
2. Re-runs itself inside the namespace and starts K net-snmp `snmpd` agents there (v2c community
   `public`, v3 user SHA+AES): the fleet is N devices spread over the K agents (a device = one full
   ifTable+ifXTable poll). snmpd is used rather than snmpsim because snmpsim serves ~1 walk/s.
3. Polls the fleet with each tool, measuring only that tool's CPU (utime+stime):
   - ours: `SnmpEngine.walk_columns` over all ifTable + ifXTable columns (one GETBULK carries every
     open column), N devices with bounded concurrency, `time.process_time()` of this process;
   - `prometheus-snmp-exporter` (Debian, Go): generated snmp.yml with numeric OIDs walking ifTable and
     ifXTable, one scrape per device, CPU of the exporter process (/proc);
   - `snmpbulkwalk` (Debian `snmp`, C): ifTable then ifXTable per device, `-Cr25`, process start included,
     CPU of the exited children (getrusage RUSAGE_CHILDREN).
   Each tool gets one unmeasured warm-up poll per agent first. Every tool's varbind count is checked.
4. Repeats 3. with SNMPv3 authPriv (SHA + AES-128) unless `--no-v3`.

The last line is JSON: ours_cpu_s, snmp_exporter_cpu_s, netsnmp_cpu_s, ratio_vs_snmp_exporter,
ratio_vs_netsnmp, varbinds, devices_per_core_minute, us_per_varbind_*, and the v3_* equivalents.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common
from bench._common import cpu_seconds, free_port, log, machine_busy_seconds

PORTS = 48
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2)
IF_X_TABLE = (1, 3, 6, 1, 2, 1, 31, 1, 1)
MAX_REPETITIONS = 25
V3_USER = ("benchuser", "bench-auth-pass", "bench-priv-pass")
HARD_LIMIT_S = 600.0  # the whole inside run, whatever N


# --- namespaces ------------------------------------------------------------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def outside(argv: list[str]) -> int:
    """Create the namespaces, run the measured part inside, always clean up."""
    if os.geteuid() != 0:
        raise SystemExit("bench/snmp_poll.py needs root (it creates network namespaces with 48 veth pairs)")
    for tool_name in ("ip", "snmpd", "snmpbulkwalk", "prometheus-snmp-exporter"):
        if shutil.which(tool_name) is None and not Path("/usr/sbin", tool_name).exists():
            raise SystemExit(f"{tool_name} not found: run scripts/install-system-deps")
    ns_a, ns_b = f"canhgac-bench-{os.getpid()}-a", f"canhgac-bench-{os.getpid()}-b"
    try:
        _ip("netns", "add", ns_a)
        _ip("netns", "add", ns_b)
        _ip("-n", ns_a, "link", "set", "lo", "up")
        for i in range(1, PORTS + 1):
            _ip(
                "link",
                "add",
                f"port{i}",
                "netns",
                ns_a,
                "type",
                "veth",
                "peer",
                "name",
                f"peer{i}",
                "netns",
                ns_b,
            )
            _ip("-n", ns_a, "link", "set", f"port{i}", "up")
            _ip("-n", ns_b, "link", "set", f"peer{i}", "up")
        cmd = ["ip", "netns", "exec", ns_a, sys.executable, str(Path(__file__).resolve()), "--inside", *argv]
        return subprocess.run(cmd, timeout=HARD_LIMIT_S + 60, check=False).returncode
    finally:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)


# --- tools -----------------------------------------------------------------------------------------


def _columns() -> list[tuple[int, ...]]:
    return [(*IF_TABLE, 1, c) for c in range(1, 23)] + [(*IF_X_TABLE, 1, c) for c in range(1, 20)]


def poll_ours(endpoints: list[tuple[str, int]], v3: bool, concurrency: int) -> tuple[float, int]:
    """(CPU seconds, varbinds) for one poll of every endpoint with our engine."""
    from canhgac_agent.snmp.client import SnmpEngine
    from canhgac_agent.snmp.types import Credentials, Target

    if v3:
        user, auth, priv = V3_USER
        creds = Credentials(
            "3",
            user=user.encode(),
            auth_protocol="sha",
            auth_key=auth.encode(),
            priv_protocol="aes128",
            priv_key=priv.encode(),
        )
    else:
        creds = Credentials("2c", community=b"public")
    columns = _columns()

    async def main() -> tuple[float, int]:
        async with SnmpEngine() as engine:
            sem = asyncio.Semaphore(concurrency)

            async def one(host: str, port: int) -> int:
                async with sem:
                    table = await engine.walk_columns(
                        Target(host, port, timeout_s=5, retries=2),
                        creds,
                        columns,
                        max_repetitions=MAX_REPETITIONS,
                    )
                return sum(len(rows) for rows in table.values())

            for host, port in dict.fromkeys(endpoints):  # warm-up: engine discovery, keys, socket
                await one(host, port)
            start = time.process_time()
            counts = await asyncio.gather(*(one(h, p) for h, p in endpoints))
            cpu = time.process_time() - start
            log(f"    ours: {engine.stats}")
            return cpu, sum(counts)

    return asyncio.run(asyncio.wait_for(main(), HARD_LIMIT_S / 4))


def exporter_config(path: Path) -> None:
    """snmp.yml for snmp_exporter 0.21: numeric OIDs, one module for v2c, one for v3."""
    metrics: list[dict[str, Any]] = []
    names = {
        (*IF_TABLE, 1, 2): ("ifDescr", "DisplayString"),
        (*IF_TABLE, 1, 6): ("ifPhysAddress", "PhysAddress48"),
        (*IF_X_TABLE, 1, 1): ("ifName", "DisplayString"),
        (*IF_X_TABLE, 1, 18): ("ifAlias", "DisplayString"),
    }
    for column in _columns():
        name, kind = names.get(column, (f"if_{'_'.join(map(str, column[-3:]))}", "gauge"))
        metrics.append(
            {
                "name": name,
                "oid": ".".join(map(str, column)),
                "type": kind,
                "help": name,
                "indexes": [{"labelname": "ifIndex", "type": "gauge"}],
            }
        )
    walk = [".".join(map(str, IF_TABLE)), ".".join(map(str, IF_X_TABLE))]
    user, auth, priv = V3_USER
    common = {
        "walk": walk,
        "metrics": metrics,
        "max_repetitions": MAX_REPETITIONS,
        "timeout": "5s",
        "retries": 2,
    }
    config = {
        "if_v2": {**common, "version": 2, "auth": {"community": "public"}},
        "if_v3": {
            **common,
            "version": 3,
            "auth": {
                "username": user,
                "security_level": "authPriv",
                "password": auth,
                "auth_protocol": "SHA",
                "priv_protocol": "AES",
                "priv_password": priv,
            },
        },
    }
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")  # JSON is YAML


def poll_exporter(
    port: int, pid: int, endpoints: list[tuple[str, int]], v3: bool, concurrency: int
) -> tuple[float, int]:
    module = "if_v3" if v3 else "if_v2"

    def scrape(endpoint: tuple[str, int]) -> int:
        url = f"http://127.0.0.1:{port}/snmp?target={endpoint[0]}:{endpoint[1]}&module={module}"
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                body = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"snmp_exporter scrape failed: {exc}: {exc.read().decode(errors='replace')[:800]}"
            ) from None
        for line in body.splitlines():
            if line.startswith("snmp_scrape_pdus_returned "):
                return int(float(line.split()[1]))
        raise RuntimeError(
            f"snmp_exporter scrape of {endpoint} returned no snmp_scrape_pdus_returned:\n{body[-500:]}"
        )

    for endpoint in dict.fromkeys(endpoints):
        scrape(endpoint)
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        start = cpu_seconds(pid)
        counts = list(pool.map(scrape, endpoints))
        return cpu_seconds(pid) - start, sum(counts)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def poll_netsnmp(endpoints: list[tuple[str, int]], v3: bool, concurrency: int) -> tuple[float, int]:
    exe = shutil.which("snmpbulkwalk") or "snmpbulkwalk"
    if v3:
        user, auth, priv = V3_USER
        auth_args = ["-v3", "-l", "authPriv", "-u", user, "-a", "SHA", "-A", auth, "-x", "AES", "-X", priv]
    else:
        auth_args = ["-v2c", "-c", "public"]

    def walk(endpoint: tuple[str, int]) -> int:
        total = 0
        for root in (IF_TABLE, IF_X_TABLE):
            out = subprocess.run(
                [
                    exe,
                    *auth_args,
                    f"-Cr{MAX_REPETITIONS}",
                    "-On",
                    "-t5",
                    "-r2",
                    f"{endpoint[0]}:{endpoint[1]}",
                    ".".join(map(str, root)),
                ],
                capture_output=True,
                timeout=60,
                check=True,
            ).stdout
            total += out.count(b"\n")
        return total

    for endpoint in dict.fromkeys(endpoints):
        walk(endpoint)
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        start = _children_cpu()
        counts = list(pool.map(walk, endpoints))
        return _children_cpu() - start, sum(counts)


# --- inside the namespace --------------------------------------------------------------------------


def inside(args: argparse.Namespace) -> int:
    from canhgac_collector.lab.snmpd import Snmpd, SnmpdUser

    user, auth, priv = V3_USER
    results: dict[str, Any] = {"devices": args.devices, "agents": args.agents, "ports": PORTS}
    rows: list[tuple[str, str, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="canhgac-snmp-bench-") as tmp, contextlib.ExitStack() as stack:
        agents = [
            stack.enter_context(
                Snmpd(
                    Path(tmp, f"snmpd-{i}"),
                    communities=("public",),
                    users=(SnmpdUser(user, "SHA", auth, "AES", priv),),
                )
            )
            for i in range(args.agents)
        ]
        endpoints = [agents[i % len(agents)].endpoint for i in range(args.devices)]
        config = Path(tmp, "snmp.yml")
        exporter_config(config)
        exporter_port = free_port()
        exporter_log = Path(tmp, "snmp_exporter.log").open("wb")  # noqa: SIM115 - closed by the stack
        stack.callback(exporter_log.close)
        exporter = subprocess.Popen(
            [
                shutil.which("prometheus-snmp-exporter") or "prometheus-snmp-exporter",
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{exporter_port}",
                "--log.level=warn",
            ],
            stdout=exporter_log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_common.stop_process, exporter)
        _common.wait_http(f"http://127.0.0.1:{exporter_port}/metrics", exporter, timeout=30)

        for v3 in (False, True) if args.v3 else (False,):
            label = "v3 authPriv" if v3 else "v2c"
            busy0, wall0 = machine_busy_seconds(), time.monotonic()
            log(f"[{label}] ours …")
            ours = poll_ours(endpoints, v3, args.concurrency)
            log(f"[{label}] snmp_exporter …")
            exp = poll_exporter(exporter_port, exporter.pid, endpoints, v3, min(args.concurrency, 8))
            log(f"[{label}] snmpbulkwalk …")
            net = poll_netsnmp(endpoints, v3, min(args.concurrency, 4))
            prefix = "v3_" if v3 else ""
            results[f"{prefix}ours_cpu_s"] = round(ours[0], 3)
            results[f"{prefix}snmp_exporter_cpu_s"] = round(exp[0], 3)
            results[f"{prefix}netsnmp_cpu_s"] = round(net[0], 3)
            results[f"{prefix}ratio_vs_snmp_exporter"] = round(ours[0] / exp[0], 3) if exp[0] else None
            results[f"{prefix}ratio_vs_netsnmp"] = round(ours[0] / net[0], 3) if net[0] else None
            results[f"{prefix}varbinds"] = ours[1]
            results[f"{prefix}varbinds_snmp_exporter"] = exp[1]
            results[f"{prefix}varbinds_netsnmp"] = net[1]
            for name, (cpu, vbs) in (("ours", ours), ("snmp_exporter", exp), ("netsnmp", net)):
                results[f"{prefix}us_per_varbind_{name}"] = round(cpu / vbs * 1e6, 2) if vbs else None
                rows.append((label, name, cpu, vbs))
            results[f"{prefix}devices_per_core_minute"] = (
                round(60 / (ours[0] / args.devices)) if ours[0] else None
            )
            results[f"{prefix}wall_s"] = round(time.monotonic() - wall0, 1)
            results[f"{prefix}machine_busy_s"] = round(machine_busy_seconds() - busy0, 2)
            if not (ours[1] == exp[1] == net[1]):
                log(f"[{label}] varbind counts differ: ours {ours[1]}, exporter {exp[1]}, netsnmp {net[1]}")

    if not _common.QUIET:
        print(f"{'mode':<12} {'tool':<14} {'CPU s':>8} {'varbinds':>10} {'µs/varbind':>11} {'ms/device':>10}")
        for label, name, cpu, vbs in rows:
            print(
                f"{label:<12} {name:<14} {cpu:8.3f} {vbs:10d} {cpu / max(vbs, 1) * 1e6:11.2f} "
                f"{cpu / args.devices * 1e3:10.2f}"
            )
        print(f"devices per core-minute (ours, v2c): {results['devices_per_core_minute']}")
    print(json.dumps(results))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=100, help="devices polled per tool (default 100)")
    ap.add_argument("--agents", type=int, default=2, help="snmpd agents serving them (default 2)")
    ap.add_argument("--concurrency", type=int, default=16, help="devices in flight (default 16)")
    ap.add_argument("--no-v3", dest="v3", action="store_false", help="skip the SNMPv3 authPriv round")
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not 1 <= args.devices <= 5000 or not 1 <= args.agents <= 16:
        ap.error("--devices must be 1..5000 and --agents 1..16")
    _common.QUIET = args.json
    if args.inside:
        return inside(args)
    return outside(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
