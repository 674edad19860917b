"""Edge polling: the agent's footprint while it polls two 48-port switches, and the time to deliver a
commune cut's spool once the link is back.

    .venv/bin/python bench/edge_poll.py [--part footprint|restore|both] [--interval 60] [--cycles 5]
                                        [--cuts 1h,3d] [--restore-timeout 900] [--keep] [--json]

Two simulated 48-port switches (snmpsim on 127.0.0.1, tests/harness/snmp_recordings.py, one process
each, ifHCIn/OutOctets advancing at 1 Mbit/s) and a real `canhgac serve` (SQLite in a temp dir) whose
`devices:` list them with `poller: edge` in the agent's site.

1. Footprint: the same `canhgac-agent run` config with `[snmp]` off, then on (a new agent each time, both
   enrolled; the server's settings give `--interval`, and `[snmp] interval_s` is the same). After two
   warm-up reports, CPU (utime+stime, /proc) is sampled across `--cycles` report intervals; memory
   (VmRSS, VmHWM, PSS) at the end. Reference: net-snmp `snmpbulkwalk -Cr25` walking ifTable then
   ifXTable of the same two switches, `--cycles` times, CPU of the exited children (process start
   included). Our poll also walks system, LLDP, CDP, FDB, ARP and resources: its varbinds are printed.
2. Restore: for each cut (1 h, 3 days, …) the agent's spool is built as the cut leaves it: two real polls
   of each switch (the second has rates), then one report per 60 s of the cut, oldest first, made by the
   agent's own `build_report` and written by its own `Spool` (the bounds `[snmp]` gives it: 256 MiB,
   14 days), each carrying that minute's poll of each switch (`edge.wire.edge_poll`) with `started_at`
   shifted back and counters advanced at the rates seen, topology hourly, security facts hourly. Then
   the real agent starts (= the link is restored) against a fresh server that has never seen it, and the
   clock runs until the host's `last_seq` reaches the newest spooled seq and both devices' newest stored
   poll (`devices.edge_polled_at`) is the newest spooled one. The server runs with its default
   `ingest.max_report_age_s` (15 days), so it is the default that accepts (or refuses) a 3-day-old report.

Loopback only; every wait is bounded. The last line of output is a JSON object (see README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common
from bench._common import (
    ENROLL_KEY,
    SITE_CODE,
    Server,
    cpu_seconds,
    log,
    memory_kb,
    pss_kb,
    run_server,
    stop_process,
    tail,
    tool,
)

PORTS = 48
OCTETS_PER_S = 125_000  # 1 Mbit/s on every port, in and out
SWITCHES = {"xa-sw-a": "edge/sw-a", "xa-sw-b": "edge/sw-b"}  # inventory name → snmpsim community
IF_TABLE = "1.3.6.1.2.1.2.2"
IF_X_TABLE = "1.3.6.1.2.1.31.1.1"
CUT_INTERVAL_S = 60  # the restore part's agent interval and poll interval ("every minute")
CUTS = {"1h": 3600, "3d": 3 * 86400}
BASE_TARGET_MB = 25.0


# --- the switches and the server ------------------------------------------------------------------


def switch_recording(name: str) -> list[tuple[str, str, str]]:
    """A 48-port switch whose 64-bit octet counters grow while snmpsim runs."""
    from tests.harness.snmp_recordings import switch_rows

    grows = f"rate={OCTETS_PER_S},initial=5000000,wrap=1"
    hc = ("1.3.6.1.2.1.31.1.1.1.6.", "1.3.6.1.2.1.31.1.1.1.10.")
    rows = switch_rows(name=name, ports=PORTS)
    return [(row[0], "70:numeric", grows) if row[0].startswith(hc) else row for row in rows]


@contextlib.contextmanager
def switches(workdir: Path) -> Iterator[dict[str, tuple[str, int]]]:
    """device name → (host, port) of its snmpsim process."""
    from tests.harness.snmp_recordings import write_recording

    from canhgac_collector.lab.snmpsim import SnmpsimFleet

    recordings = {
        community: write_recording(workdir / "rec" / f"{community}.snmprec", switch_recording(name))
        for name, community in SWITCHES.items()
    }
    with SnmpsimFleet(recordings, workdir / "fleet", per_process=1) as fleet:
        yield {name: fleet.endpoint(community) for name, community in SWITCHES.items()}


def server_extra(workdir: Path, endpoints: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """`devices:` (the two switches, `poller: edge`, in the agents' site) and the server's own poller off."""
    devices = [
        {
            "name": name,
            "address": host,
            "port": port,
            "site": SITE_CODE,
            "snmp": {"version": "2c", "community": SWITCHES[name]},
            "poller": "edge",
            "poll_interval_s": CUT_INTERVAL_S,
        }
        for name, (host, port) in endpoints.items()
    ]
    return {"devices": devices, "snmp": {"enabled": False, "secrets_key_file": str(workdir / "secrets.key")}}


def agent_toml(
    state_dir: Path, url: str, name: str, interval: float, endpoints: dict[str, tuple[str, int]] | None
) -> Path:
    """agent.toml; `[snmp]` polling the two switches when `endpoints` is given."""
    text = (
        f'server_url = "{url}"\nstate_dir = "{state_dir}"\ninterval_s = {interval}\nlog_level = "info"\n'
        f'[identity]\nmachine_id = "bench-edge-{name}"\nhostname = "{name}"\n[probes]\ngateway = false\n'
    )
    if endpoints is not None:
        text += f"[snmp]\nenabled = true\ninterval_s = {interval}\n"
        for device, (host, port) in endpoints.items():
            text += (
                f'[[snmp.devices]]\nname = "{device}"\naddress = "{host}:{port}"\nversion = "2c"\n'
                f'community = "{SWITCHES[device]}"\n'
            )
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir.parent / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def enroll(config: Path, url: str) -> None:
    done = subprocess.run(
        [tool("canhgac-agent"), "enroll", "--server", url, "--key", ENROLL_KEY, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"canhgac-agent enroll failed ({done.returncode}): {done.stderr}")


def start_agent(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as logf:
        return subprocess.Popen(
            [tool("canhgac-agent"), "run", "--config", str(config)],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _db(server: Server) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True, timeout=5)


def host_row(server: Server, hostname: str) -> tuple[int, int, dict[str, Any] | None]:
    """(last_seq, reports_total, newest report body) of the host, (0, 0, None) before its first report."""
    con = _db(server)
    try:
        row = con.execute(
            "SELECT last_seq, reports_total, latest_report FROM hosts WHERE hostname = ?", (hostname,)
        ).fetchone()
    finally:
        con.close()
    if row is None:
        return 0, 0, None
    return int(row[0] or 0), int(row[1] or 0), json.loads(row[2]) if row[2] else None


def edge_polled_at(server: Server) -> dict[str, float]:
    """device → unix time of its newest stored edge poll (devices.edge_polled_at)."""
    con = _db(server)
    try:
        rows = con.execute("SELECT name, edge_polled_at FROM devices").fetchall()
    finally:
        con.close()
    out = {}
    for name, at in rows:
        if at:
            out[str(name)] = dt.datetime.fromisoformat(str(at)).replace(tzinfo=dt.UTC).timestamp()
    return out


def device_state_events(server: Server) -> dict[str, int]:
    """device.state events by new state (up ↔ delayed flips while the spool is replayed)."""
    con = _db(server)
    try:
        rows = con.execute("SELECT to_state, count(*) FROM events WHERE kind = 'device.state' GROUP BY 1")
        return {str(state): int(n) for state, n in rows}
    finally:
        con.close()


def edge_outcomes(server: Server) -> dict[str, float]:
    """canhgac_edge_polls_total by outcome, from the server's /metrics (a loopback client needs no token)."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    (server.workdir / "metrics.txt").write_text(text, encoding="utf-8")  # kept with --keep
    pattern = re.compile(r'^canhgac_edge_polls_total\{[^}]*outcome="([a-z_]+)"[^}]*\} ([0-9.e+]+)$', re.M)
    out: dict[str, float] = {}
    for outcome, value in pattern.findall(text):
        out[outcome] = out.get(outcome, 0.0) + float(value)
    return out


def wait_for_seq(
    server: Server, hostname: str, seq: int, timeout: float, agent: subprocess.Popen[bytes], agent_log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            raise RuntimeError(f"the agent exited with {agent.returncode}:\n{tail(agent_log)}")
        with contextlib.suppress(sqlite3.Error):
            if host_row(server, hostname)[0] >= seq:
                return
        time.sleep(0.05)
    raise RuntimeError(f"report {seq} of {hostname} not stored within {timeout:.0f} s:\n{tail(agent_log)}")


# --- part 1: footprint ----------------------------------------------------------------------------


def measure_agent(
    server: Server, workdir: Path, name: str, interval: float, cycles: int, endpoints: dict[str, Any] | None
) -> dict[str, Any]:
    """CPU and memory of one `canhgac-agent run` across `cycles` report intervals after 2 warm-up ones."""
    config = agent_toml(workdir / name, server.url, name, interval, endpoints)
    enroll(config, server.url)
    agent_log = workdir / f"{name}.log"
    agent = start_agent(config, agent_log)
    try:
        wait_for_seq(server, name, 2, interval * 2 + 60, agent, agent_log)
        time.sleep(min(2.0, interval / 4))  # the second report's cycle finishes its bookkeeping
        stored0 = edge_outcomes(server).get("stored", 0.0)
        cpu0, wall0 = cpu_seconds(agent.pid, children=True), time.monotonic()
        wait_for_seq(server, name, 2 + cycles, interval * (cycles + 1) + 60, agent, agent_log)
        time.sleep(min(2.0, interval / 4))
        cpu1, wall1 = cpu_seconds(agent.pid, children=True), time.monotonic()
        polls = edge_outcomes(server).get("stored", 0.0) - stored0
        mem = memory_kb(agent.pid)
        out: dict[str, Any] = {
            "cpu_s_per_cycle": (cpu1 - cpu0) / cycles,
            "window_s": wall1 - wall0,
            "edge_polls_stored": polls,
            "rss_kb": mem.get("VmRSS", 0),
            "hwm_kb": mem.get("VmHWM", 0),
            "anon_kb": mem.get("RssAnon", 0),
            "pss_kb": pss_kb(agent.pid),
        }
        report = host_row(server, name)[2] or {}
        section = report.get("snmp") or {}
        out["varbinds_per_poll"] = [p.get("varbinds", 0) for p in section.get("polls", [])]
    finally:
        out_code = stop_process(agent)
    if out_code != 0:
        log(f"  {name} exited with {out_code}:\n{tail(agent_log, 5)}")
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_netsnmp(endpoints: dict[str, tuple[str, int]], cycles: int) -> dict[str, Any]:
    """CPU of `snmpbulkwalk` walking ifTable then ifXTable of both switches, per cycle."""
    exe = shutil.which("snmpbulkwalk")
    if exe is None:
        raise SystemExit("snmpbulkwalk not found (Debian package snmp): run scripts/install-system-deps")

    def one_cycle() -> int:
        lines = 0
        for name, (host, port) in endpoints.items():
            for root in (IF_TABLE, IF_X_TABLE):
                done = subprocess.run(
                    [exe, "-v2c", "-c", SWITCHES[name], "-Cr25", "-On", "-t5", "-r1", f"{host}:{port}", root],
                    capture_output=True,
                    timeout=60,
                    check=True,
                )
                lines += done.stdout.count(b"\n")
        return lines

    one_cycle()  # warm-up (page cache, snmpsim's indexes)
    cpu0 = _children_cpu()
    varbinds = [one_cycle() for _ in range(cycles)]
    return {"cpu_s_per_cycle": (_children_cpu() - cpu0) / cycles, "varbinds_per_cycle": varbinds[-1]}


def footprint(
    workdir: Path, endpoints: dict[str, tuple[str, int]], interval: float, cycles: int
) -> dict[str, Any]:
    defaults = {"interval_s": interval, "probe_gateway": False}
    (workdir / "server-fp").mkdir()
    with run_server(
        workdir / "server-fp", agent_defaults=defaults, extra=server_extra(workdir, endpoints)
    ) as server:
        log(f"footprint: [snmp] off, {cycles} cycles at {interval:g} s …")
        off = measure_agent(server, workdir, "fp-off", interval, cycles, None)
        log(f"footprint: [snmp] on, {cycles} cycles at {interval:g} s …")
        on = measure_agent(server, workdir, "fp-on", interval, cycles, endpoints)
    log(f"footprint: snmpbulkwalk ifTable + ifXTable of both switches, {cycles} times …")
    net = measure_netsnmp(endpoints, cycles)
    return {"off": off, "on": on, "netsnmp": net}


# --- part 2: restore after a cut ------------------------------------------------------------------


def real_polls(config: Any) -> list[tuple[Any, list[Any]]]:
    """(device target, [poll, poll with rates]) for each configured switch, polled as the agent does."""
    from canhgac_agent.edge.poller import device_target
    from canhgac_agent.snmp.client import SnmpEngine
    from canhgac_agent.snmp.poller import poll_device

    targets = [device_target(d, config.snmp) for d in config.snmp.devices]

    async def go() -> list[tuple[Any, list[Any]]]:
        out = []
        async with SnmpEngine() as engine:
            for target in targets:
                first = await poll_device(engine, target, previous=None, max_repetitions=25)
                await asyncio.sleep(2.0)
                second = await poll_device(engine, target, previous=first, max_repetitions=25)
                if second.state != "up":
                    raise RuntimeError(f"poll of {target.name} failed: {second.detail}")
                out.append((target, [first, second]))
        return out

    return asyncio.run(asyncio.wait_for(go(), 120))


def counter_rates(first: Any, second: Any) -> dict[tuple[int, str], float]:
    """(ifIndex, counter) → growth per second between two real polls (never negative)."""
    elapsed = max(second.started_at - first.started_at, 0.001)
    before = {i.ifIndex: i.counters for i in first.interfaces}
    out = {}
    for sample in second.interfaces:
        for key, value in sample.counters.items():
            old = before.get(sample.ifIndex, {}).get(key)
            out[(sample.ifIndex, key)] = max(0.0, (value - old) / elapsed) if old is not None else 0.0
    return out


def shifted(poll: Any, rates: dict[tuple[int, str], float], at: float, ahead_s: float) -> Any:
    """`poll` as if taken at `at`, its counters `ahead_s` seconds of growth further on."""
    interfaces = []
    for sample in poll.interfaces:
        counters = {}
        for key, value in sample.counters.items():
            grown = value + round(rates.get((sample.ifIndex, key), 0.0) * ahead_s)
            counters[key] = grown % 2**64 if key.startswith("ifHC") else grown % 2**32
        interfaces.append(dataclasses.replace(sample, counters=counters))
    system = poll.system
    if system is not None and system.sysUpTime is not None:
        system = dataclasses.replace(system, sysUpTime=(system.sysUpTime + round(ahead_s * 100)) % 2**32)
    return dataclasses.replace(poll, started_at=at, interfaces=interfaces, system=system)


def build_spool(config_path: Path, cut_s: int) -> dict[str, Any]:
    """Fill the enrolled agent's spool with the reports a cut of `cut_s` leaves (agent code throughout)."""
    from canhgac_agent.config import load_config
    from canhgac_agent.edge.poller import address_of
    from canhgac_agent.edge.wire import edge_poll, topology_of
    from canhgac_agent.runner import agent_status, build_report, effective_settings
    from canhgac_agent.spool import STATE_FILE, Spool, StateFile

    config = load_config(config_path, env={})
    state = StateFile(config.state_dir / STATE_FILE)
    settings, _ = effective_settings(config, state.get("settings"))
    spool = Spool(config.state_dir, state, max_bytes=config.spool.max_bytes, max_age_s=config.spool.max_age_s)
    agent_id = str(state.get("agent_id"))
    taken = real_polls(config)
    switches_polled = [(t, polls[1], counter_rates(*polls)) for t, polls in taken]
    count = cut_s // CUT_INTERVAL_S
    security_every = max(1, round(settings.security_interval_s / CUT_INTERVAL_S))
    topology_every = max(1, round(config.snmp.topology_every_s / CUT_INTERVAL_S))
    start = time.time() - cut_s
    security: Any = None
    newest_poll: dict[str, float] = {}
    built0 = time.perf_counter()
    try:
        for k in range(count):
            at = start + k * CUT_INTERVAL_S
            polls = []
            for j, (target, template, rates) in enumerate(switches_polled):
                poll = shifted(template, rates, at + j * 0.5, k * CUT_INTERVAL_S)
                topology = topology_of(poll) if k % topology_every == 0 else None
                polls.append(edge_poll(poll, address_of(target.target), topology=topology))
                newest_poll[target.name] = poll.started_at
            counters = spool.counters()
            seq = spool.allocate_seq()
            report = build_report(
                config,
                settings,
                agent_id=agent_id,
                seq=seq,
                include_security=security is None,
                status=agent_status(counters.backlog, counters.dropped_total, counters.rejected_total, 0.01),
                collected_at=at + 5.0,
                facts_cache_dir=config.state_dir,
                snmp={"polls": polls, "polls_dropped": 0},
            )
            if security is None:
                security = report["security"]
            elif k % security_every == 0:
                report["security"] = security
            spool.add(seq, report, collected_at=at + 5.0)
        counters = spool.counters()
    finally:
        spool.close()
    files = {p.name: p.stat().st_size for p in config.state_dir.iterdir() if p.name.startswith("spool")}
    return {
        "reports": count,
        "polls": count * len(switches_polled),
        "newest_seq": seq,
        "newest_poll": newest_poll,
        "backlog": counters.backlog,
        "dropped": counters.dropped_total,
        "spool_max_bytes": config.spool.max_bytes,
        "spool_max_age_s": config.spool.max_age_s,
        "spool_payload_bytes": sum_payload(config.state_dir),
        "spool_files": files,
        "build_s": time.perf_counter() - built0,
    }


def sum_payload(state_dir: Path) -> int:
    con = sqlite3.connect(f"file:{state_dir / 'spool.sqlite'}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT coalesce(sum(size), 0) FROM pending").fetchone()[0])
    finally:
        con.close()


def restore(
    workdir: Path, endpoints: dict[str, tuple[str, int]], label: str, cut_s: int, timeout: float
) -> dict[str, Any]:
    """Seconds from the agent's start until every spooled report and edge poll of the cut is stored."""
    from canhgac_agent.spool import read_snapshot

    name = f"xa-{label}"
    defaults = {"interval_s": CUT_INTERVAL_S, "probe_gateway": False}
    server_dir = workdir / f"server-{label}"
    server_dir.mkdir()
    with run_server(server_dir, agent_defaults=defaults, extra=server_extra(workdir, endpoints)) as server:
        config = agent_toml(workdir / name, server.url, name, CUT_INTERVAL_S, endpoints)
        enroll(config, server.url)
        log(f"restore {label}: building the spool ({cut_s // CUT_INTERVAL_S} reports) …")
        spool = build_spool(config, cut_s)
        log(
            f"restore {label}: spool {spool['spool_payload_bytes'] / 2**20:.1f} MiB of reports "
            f"(built in {spool['build_s']:.0f} s, backlog {spool['backlog']}, dropped {spool['dropped']}); "
            "starting the agent …"
        )
        agent_log = workdir / f"{name}.log"
        started = time.monotonic()
        agent = start_agent(config, agent_log)
        reports_at = polls_at = None
        last_seq = 0
        try:
            while time.monotonic() - started < timeout:
                if agent.poll() is not None:
                    raise RuntimeError(f"the agent exited with {agent.returncode}:\n{tail(agent_log)}")
                with contextlib.suppress(sqlite3.Error):
                    last_seq = host_row(server, name)[0]
                    if reports_at is None and last_seq >= spool["newest_seq"]:
                        reports_at = time.monotonic() - started
                    newest = edge_polled_at(server)
                    handled = sum(edge_outcomes(server).values())
                    if (
                        polls_at is None
                        and handled >= spool["polls"]
                        and all(newest.get(d, 0.0) >= at - 0.002 for d, at in spool["newest_poll"].items())
                    ):
                        polls_at = time.monotonic() - started
                if reports_at is not None and polls_at is not None:
                    break
                time.sleep(0.25)
            outcomes = edge_outcomes(server)
            reports_total = host_row(server, name)[1]
            flips = device_state_events(server)
        finally:
            stop_process(agent)
        snapshot = read_snapshot(workdir / name)
        server_log = tail(server.log_path, 5)
    done = reports_at is not None and polls_at is not None
    seconds = max(reports_at or 0.0, polls_at or 0.0) if done else None
    return {
        **spool,
        "seconds": round(seconds, 1) if seconds is not None else None,
        "timed_out": not done,
        "timeout_s": timeout,
        "reports_stored_s": round(reports_at, 1) if reports_at is not None else None,
        "polls_stored_s": round(polls_at, 1) if polls_at is not None else None,
        "last_seq_reached": last_seq,
        "reports_total": reports_total,
        "edge_polls": outcomes,
        "reports_per_s": round(spool["reports"] / seconds, 1) if seconds else None,
        "polls_per_s": round(spool["polls"] / seconds, 1) if seconds else None,
        "device_state_events": flips,
        "lock_errors_logged": server.log_path.read_text(errors="replace").count("database is locked"),
        "agent_rejected_total": snapshot.counters.rejected_total if snapshot else None,
        "agent_dropped_total": snapshot.counters.dropped_total if snapshot else None,
        "server_log_tail": server_log,
        "agent_log_tail": tail(agent_log, 3),
    }


# --- output ---------------------------------------------------------------------------------------


def mb(kb: float | None) -> float:
    return round((kb or 0) / 1024, 1)


def say(line: str) -> None:
    """A line of the human-readable table (not with --json)."""
    if not _common.QUIET:
        print(line)


def print_footprint(fp: dict[str, Any], interval: float) -> dict[str, Any]:
    off, on, net = fp["off"], fp["on"], fp["netsnmp"]
    extra_cpu = on["cpu_s_per_cycle"] - off["cpu_s_per_cycle"]
    say(f"{'':<38} {'[snmp] off':>12} {'[snmp] on':>12} {'increase':>12}")
    for label, key in (
        ("RSS, VmRSS (MiB)", "rss_kb"),
        ("peak RSS, VmHWM (MiB)", "hwm_kb"),
        ("PSS (MiB)", "pss_kb"),
    ):
        say(f"{label:<38} {mb(off[key]):>12} {mb(on[key]):>12} {mb(on[key]) - mb(off[key]):>12.1f}")
    say(
        f"{'CPU per cycle (ms)':<38} {off['cpu_s_per_cycle'] * 1e3:>12.1f} "
        f"{on['cpu_s_per_cycle'] * 1e3:>12.1f} {extra_cpu * 1e3:>12.1f}"
    )
    say(
        f"{'% of a core, 1 cycle a minute':<38} {off['cpu_s_per_cycle'] / 60 * 100:>12.3f} "
        f"{on['cpu_s_per_cycle'] / 60 * 100:>12.3f} {extra_cpu / 60 * 100:>12.3f}"
    )
    say(
        f"edge polls stored in the window: {on['edge_polls_stored']:.0f} "
        f"(expected ≈ {2 * fp['cycles']}); varbinds per poll {on['varbinds_per_poll']}"
    )
    say(
        f"net-snmp snmpbulkwalk ifTable+ifXTable of both switches: {net['cpu_s_per_cycle'] * 1e3:.1f} ms CPU "
        f"per cycle ({net['varbinds_per_cycle']} varbinds); ours/net-snmp per poll cycle: "
        f"{extra_cpu / net['cpu_s_per_cycle']:.2f}"
        if net["cpu_s_per_cycle"]
        else "net-snmp: no CPU measured"
    )
    base_ok = mb(off["rss_kb"]) <= BASE_TARGET_MB and mb(off["hwm_kb"]) <= BASE_TARGET_MB
    say(f"base agent ≤ {BASE_TARGET_MB:g} MB RSS without edge polling: {'met' if base_ok else 'MISSED'}")
    return {
        "interval_s": interval,
        "cycles": fp["cycles"],
        "off_rss_mb": mb(off["rss_kb"]),
        "off_peak_rss_mb": mb(off["hwm_kb"]),
        "off_pss_mb": mb(off["pss_kb"]),
        "on_rss_mb": mb(on["rss_kb"]),
        "on_peak_rss_mb": mb(on["hwm_kb"]),
        "on_pss_mb": mb(on["pss_kb"]),
        "off_cpu_s_per_cycle": round(off["cpu_s_per_cycle"], 4),
        "on_cpu_s_per_cycle": round(on["cpu_s_per_cycle"], 4),
        "edge_cpu_s_per_cycle": round(extra_cpu, 4),
        "on_core_percent_at_60s": round(on["cpu_s_per_cycle"] / 60 * 100, 3),
        "edge_core_percent_at_60s": round(extra_cpu / 60 * 100, 3),
        "netsnmp_cpu_s_per_cycle": round(net["cpu_s_per_cycle"], 4),
        "ratio_vs_netsnmp": round(extra_cpu / net["cpu_s_per_cycle"], 2) if net["cpu_s_per_cycle"] else None,
        "edge_polls_stored": on["edge_polls_stored"],
        "varbinds_per_poll": on["varbinds_per_poll"],
        "netsnmp_varbinds_per_cycle": net["varbinds_per_cycle"],
        "base_target_met": base_ok,
    }


def print_restore(label: str, r: dict[str, Any]) -> dict[str, Any]:
    files = ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sorted(r["spool_files"].items()))
    verdict = (
        f"{r['seconds']} s ({r['reports_per_s']} reports/s, {r['polls_per_s']} polls/s)"
        if not r["timed_out"]
        else f"NOT DONE within {r['timeout_s']:.0f} s (last_seq {r['last_seq_reached']} of {r['newest_seq']})"
    )
    say(
        f"cut {label}: {r['reports']} reports, {r['polls']} polls, "
        f"spool {r['spool_payload_bytes'] / 2**20:.1f} MiB of gzip'd reports ({files}; "
        f"bound {r['spool_max_bytes'] / 2**20:.0f} MiB, "
        f"{r['spool_max_age_s'] / 86400:g} days), dropped by the spool {r['dropped']}: stored in {verdict}"
    )
    say(
        f"  reports stored at {r['reports_stored_s']} s, newest polls at {r['polls_stored_s']} s; "
        f"edge polls {r['edge_polls']}; agent rejected {r['agent_rejected_total']}"
    )
    say(
        f"  device.state events {r['device_state_events']}; 'database is locked' in the server log "
        f"{r['lock_errors_logged']} times"
    )
    keys = (
        "reports",
        "polls",
        "seconds",
        "timed_out",
        "reports_per_s",
        "polls_per_s",
        "reports_stored_s",
        "polls_stored_s",
        "spool_payload_bytes",
        "spool_max_bytes",
        "dropped",
        "agent_rejected_total",
        "edge_polls",
        "device_state_events",
        "lock_errors_logged",
    )
    return {k: r[k] for k in keys} | {"spool_file_bytes": sum(r["spool_files"].values())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=("footprint", "restore", "both"), default="both")
    ap.add_argument(
        "--interval", type=float, default=60.0, help="footprint: agent and poll interval (10..60 s)"
    )
    ap.add_argument("--cycles", type=int, default=5, help="footprint: cycles measured (default 5)")
    ap.add_argument("--cuts", default="1h,3d", help=f"restore: cuts to replay, of {', '.join(CUTS)}")
    ap.add_argument("--restore-timeout", type=float, default=900.0, help="restore: seconds per cut (900)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (databases, logs, spools)")
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = ap.parse_args()
    cuts = [c for c in args.cuts.split(",") if c]
    if not (10 <= args.interval <= 60 and 1 <= args.cycles <= 60 and 60 <= args.restore_timeout <= 3600):
        ap.error("--interval must be 10..60, --cycles 1..60, --restore-timeout 60..3600")
    if any(c not in CUTS for c in cuts):
        ap.error(f"--cuts: choose among {', '.join(CUTS)}")
    _common.QUIET = args.json
    result: dict[str, Any] = {}
    workdir = Path(tempfile.mkdtemp(prefix="canhgac-bench-edge-"))
    try:
        with switches(workdir) as endpoints:
            if args.part in ("footprint", "both"):
                fp = footprint(workdir, endpoints, args.interval, args.cycles) | {"cycles": args.cycles}
                result["footprint"] = print_footprint(fp, args.interval)
            if args.part in ("restore", "both"):
                result["restore"] = {}
                for label in cuts:
                    r = restore(workdir, endpoints, label, CUTS[label], args.restore_timeout)
                    result["restore"][label] = print_restore(label, r)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
