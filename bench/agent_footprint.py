"""Agent footprint: memory and CPU of the real `canhgac-agent run`, next to Debian's node_exporter.

    .venv/bin/python bench/agent_footprint.py [--json] [--cycles N] [--interval S]

1. Starts `canhgac serve` on 127.0.0.1 (SQLite in a temp dir) whose settings give agents a short
   interval, no gateway probe and four loopback targets: tcp to the server's port, http to
   /api/v1/health, dns "localhost", icmp 127.0.0.1 (the server's settings win over the agent's config).
2. `canhgac-agent enroll --server URL --key KEY --config F`, then `canhgac-agent run --config F`.
3. Watches the server's database for each report. CPU (utime+stime from /proc/<pid>/stat) is sampled
   after report 1 (start-up: process start, imports, first cycle with its security facts) and after
   report N; per cycle = difference / (N-1), sleep between cycles included. Memory: VmRSS and VmHWM
   (peak RSS) from /proc/<pid>/status after cycle N.
4. Idle: the server is restarted with interval 60 s; once the agent has applied it, CPU is sampled across
   a quiet stretch (`--idle-seconds`) with no cycle in it.
5. node_exporter (`/usr/bin/prometheus-node-exporter`) on a loopback port, scraped N times with urllib:
   CPU per scrape and RSS the same way.

The last line of output is a JSON object (see README.md).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common
from bench._common import (
    ENROLL_KEY,
    cpu_seconds,
    free_port,
    log,
    memory_kb,
    percentile,
    pss_kb,
    run_server,
    stop_process,
    tail,
    tool,
    wait_http,
)

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
IDLE_INTERVAL_S = 60.0


def agent_toml(workdir: Path, server_url: str, interval: float) -> Path:
    path = workdir / "agent.toml"
    path.write_text(
        f"""server_url = "{server_url}"
state_dir = "{workdir / "agent-state"}"
interval_s = {interval}
log_level = "info"

[identity]
machine_id = "bench-footprint-agent"
hostname = "bench-footprint"

[probes]
gateway = false
""",
        encoding="utf-8",
    )
    return path


def stored_reports(db: Path) -> tuple[int, int]:
    """(number of reports, highest seq) the server has stored, read while it runs (WAL)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = con.execute("SELECT count(*), coalesce(max(seq), 0) FROM reports").fetchone()
    finally:
        con.close()
    return int(row[0]), int(row[1])


def wait_for_seq(
    db: Path, seq: int, timeout: float, agent: subprocess.Popen[bytes], agent_log: Path
) -> float:
    """Poll until report `seq` is stored; returns when it was seen (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            raise RuntimeError(f"the agent exited with {agent.returncode}:\n{tail(agent_log)}")
        try:
            if stored_reports(db)[1] >= seq:
                return time.monotonic()
        except sqlite3.Error:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"report {seq} not stored within {timeout:.0f} s; agent log:\n{tail(agent_log)}")


def latest_cycle_cpu(db: Path) -> tuple[int, float] | None:
    """(seq, agent.cycle_cpu_s) of the host's newest stored report: the agent's own process_time() of
    its previous cycle. The server keeps only the newest body (ADR 0003), so the bench samples it."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = con.execute("SELECT latest_report FROM hosts WHERE latest_report IS NOT NULL").fetchone()
    finally:
        con.close()
    if row is None:
        return None
    report = json.loads(row[0])
    return int(report["seq"]), float(report["agent"]["cycle_cpu_s"])


def settings_interval(state_dir: Path) -> float | None:
    try:
        state = json.loads((state_dir / "state.json").read_text())
        return float(state["settings"]["interval_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def measure_agent(
    workdir: Path, cycles: int, interval: float, idle_seconds: float, agent_bin: str
) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    targets = [
        {"name": "server-tcp", "kind": "tcp", "host": "127.0.0.1", "port": port},
        {"name": "server-http", "kind": "http", "url": f"{url}/api/v1/health"},
        {"name": "localhost-dns", "kind": "dns", "host": "localhost"},
        {"name": "loopback-icmp", "kind": "icmp", "host": "127.0.0.1", "port": port},
    ]
    defaults: dict[str, Any] = {
        "interval_s": interval,
        "probe_gateway": False,
        "probe_count": 4,
        "probe_timeout_s": 2.0,
    }
    config = agent_toml(workdir, url, interval)
    agent_log = workdir / "agent.log"
    out: dict[str, Any] = {}
    with run_server(workdir, port=port, probe_targets=targets, agent_defaults=defaults) as server:
        enrolled = subprocess.run(
            [agent_bin, "enroll", "--server", url, "--key", ENROLL_KEY, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if enrolled.returncode != 0:
            raise RuntimeError(f"canhgac-agent enroll failed ({enrolled.returncode}): {enrolled.stderr}")
        with open(agent_log, "wb") as logf:
            agent = subprocess.Popen(
                [agent_bin, "run", "--config", str(config)],
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            started = time.monotonic()
            wait_for_seq(server.db_path, 1, 60, agent, agent_log)
            time.sleep(0.3)  # let cycle 1 finish its bookkeeping after the server stored the report
            cpu_after_first = cpu_seconds(agent.pid, children=True)
            out["startup_wall_s"] = time.monotonic() - started
            self_reported: dict[int, float] = {}
            for seq in range(2, cycles + 1):
                wait_for_seq(server.db_path, seq, interval * 2 + 30, agent, agent_log)
                sample = latest_cycle_cpu(server.db_path)
                if sample is not None:
                    self_reported[sample[0]] = sample[1]
            time.sleep(0.3)
            cpu_after_n = cpu_seconds(agent.pid, children=True)
            mem = memory_kb(agent.pid)
            out.update(
                startup_cpu_s=cpu_after_first,
                cpu_s_per_cycle=(cpu_after_n - cpu_after_first) / (cycles - 1),
                rss_kb=mem.get("VmRSS", 0),
                hwm_kb=mem.get("VmHWM", 0),
                anon_kb=mem.get("RssAnon", 0),
                pss_kb=pss_kb(agent.pid),
                children_cpu_s=cpu_seconds(agent.pid, children=True) - cpu_seconds(agent.pid),
                self_reported=self_reported,
            )
            server_log_tail = tail(server.log_path)
        except BaseException:
            stop_process(agent)
            raise
    # Idle: a server whose settings say 60 s; once the agent has them, nothing runs for ~a minute.
    try:
        with run_server(
            workdir,
            port=port,
            probe_targets=targets,
            agent_defaults={**defaults, "interval_s": IDLE_INTERVAL_S},
        ) as server:
            deadline = time.monotonic() + 60
            while settings_interval(workdir / "agent-state") != IDLE_INTERVAL_S:
                if time.monotonic() > deadline or agent.poll() is not None:
                    raise RuntimeError(f"the agent did not take the 60 s interval:\n{tail(agent_log)}")
                time.sleep(0.05)
            time.sleep(1.0)  # the rest of that cycle (spool bookkeeping)
            before_reports = stored_reports(server.db_path)[0]
            cpu0, t0 = cpu_seconds(agent.pid, children=True), time.monotonic()
            time.sleep(idle_seconds)
            cpu1, t1 = cpu_seconds(agent.pid, children=True), time.monotonic()
            quiet = stored_reports(server.db_path)[0] == before_reports
            out["idle_cpu_s_per_min"] = (cpu1 - cpu0) / (t1 - t0) * 60
            out["idle_window_s"] = t1 - t0
            out["idle_window_quiet"] = quiet
            out["hwm_kb"] = max(out["hwm_kb"], memory_kb(agent.pid).get("VmHWM", 0))
    finally:
        code = stop_process(agent)
    out["agent_exit"] = code
    out["agent_log_tail"] = tail(agent_log, 5)
    out["server_log_tail"] = server_log_tail
    return out


def measure_node_exporter(workdir: Path, scrapes: int) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    logf = open(workdir / "node_exporter.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=logf,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_http(url, proc, timeout=30)  # the first scrape
        sizes = []
        cpu0 = cpu_seconds(proc.pid)
        for _ in range(scrapes):
            with urllib.request.urlopen(url, timeout=10) as resp:
                sizes.append(len(resp.read()))
            time.sleep(0.05)
        cpu1 = cpu_seconds(proc.pid)
        mem = memory_kb(proc.pid)
        return {
            "cpu_s_per_scrape": (cpu1 - cpu0) / scrapes,
            "rss_kb": mem.get("VmRSS", 0),
            "hwm_kb": mem.get("VmHWM", 0),
            "pss_kb": pss_kb(proc.pid),
            "bytes_per_scrape": sum(sizes) / len(sizes),
        }
    finally:
        stop_process(proc)
        logf.close()


def mb(kb: float | None) -> float:
    return round((kb or 0) / 1024, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    ap.add_argument("--cycles", type=int, default=20, help="agent cycles measured (default 20)")
    ap.add_argument("--interval", type=float, default=2.0, help="agent interval in seconds (default 2)")
    ap.add_argument("--idle-seconds", type=float, default=20.0, help="quiet stretch measured (default 20)")
    ap.add_argument(
        "--agent-bin",
        metavar="PATH",
        help="canhgac-agent executable to measure (default: this venv's), e.g. one installed from a wheel",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs, agent state)")
    args = ap.parse_args()
    if args.json:
        _common.QUIET = True
    if not (2 <= args.cycles <= 500 and 1 <= args.interval <= 30 and 5 <= args.idle_seconds <= 50):
        ap.error(
            "--cycles must be 2..500, --interval 1..30 (whole seconds are what the server allows), "
            "--idle-seconds 5..50"
        )
    if not Path(NODE_EXPORTER).exists():
        raise SystemExit(f"{NODE_EXPORTER} not found (Debian package prometheus-node-exporter)")

    tmp = tempfile.TemporaryDirectory(prefix="canhgac-bench-agent-")
    workdir = Path(tmp.name)
    try:
        log(f"agent: {args.cycles} cycles at {args.interval:g} s, then {args.idle_seconds:g} s idle …")
        agent_bin = args.agent_bin or tool("canhgac-agent")
        agent = measure_agent(workdir, args.cycles, args.interval, args.idle_seconds, agent_bin)
        log(f"node_exporter: {args.cycles} scrapes …")
        node = measure_node_exporter(workdir, args.cycles)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            tmp.cleanup()

    result = {
        "agent_rss_mb": mb(agent["rss_kb"]),
        "agent_peak_rss_mb": mb(agent["hwm_kb"]),
        "agent_cpu_s_per_cycle": round(agent["cpu_s_per_cycle"], 4),
        "agent_idle_cpu_s_per_min": round(agent["idle_cpu_s_per_min"], 4),
        "agent_startup_cpu_s": round(agent["startup_cpu_s"], 3),
        "node_exporter_rss_mb": mb(node["rss_kb"]),
        "node_exporter_cpu_s_per_scrape": round(node["cpu_s_per_scrape"], 4),
        "cycles": args.cycles,
    }
    if not args.json:
        reported: dict[int, float] = agent["self_reported"]
        print(f"{'':<34} {'canhgac-agent':>14} {'node_exporter':>14}")
        print(f"{'RSS now (MiB)':<34} {mb(agent['rss_kb']):>14} {mb(node['rss_kb']):>14}")
        print(f"{'peak RSS, VmHWM (MiB)':<34} {mb(agent['hwm_kb']):>14} {mb(node['hwm_kb']):>14}")
        print(f"{'PSS (MiB)':<34} {mb(agent['pss_kb']):>14} {mb(node['pss_kb']):>14}")
        print(f"{'anonymous RSS (MiB)':<34} {mb(agent['anon_kb']):>14} {'':>14}")
        print(
            f"{'CPU per cycle / scrape (ms)':<34} {agent['cpu_s_per_cycle'] * 1000:>14.1f} "
            f"{node['cpu_s_per_scrape'] * 1000:>14.1f}"
        )
        print(f"{'CPU idle (ms per minute)':<34} {agent['idle_cpu_s_per_min'] * 1000:>14.1f} {'':>14}")
        print(f"{'start-up + first cycle CPU (ms)':<34} {agent['startup_cpu_s'] * 1000:>14.0f} {'':>14}")
        # Report k carries cycle k-1; cycle 1 includes the first (uncached) security facts.
        own = [cpu for seq, cpu in sorted(reported.items()) if seq > 2]
        if own:
            first = f"{reported[2] * 1000:.0f} ms" if 2 in reported else "not sampled"
            print(
                f"agent's own cycle_cpu_s, cycles 2..{max(reported) - 1}: "
                f"median {percentile(own, 50) * 1000:.1f} ms, max {max(own) * 1000:.1f} ms; "
                f"cycle 1 (with security facts, own process only): {first}"
            )
        print(
            f"child processes' CPU: {agent['children_cpu_s'] * 1000:.0f} ms in total; idle window "
            f"{agent['idle_window_s']:.1f} s {'without' if agent['idle_window_quiet'] else 'WITH'} a cycle; "
            f"/proc CPU resolution is 10 ms"
        )
        ok = (
            result["agent_rss_mb"] <= 25
            and result["agent_peak_rss_mb"] <= 25
            and result["agent_cpu_s_per_cycle"] <= 0.010
        )
        print(f"targets (RSS ≤ 25 MB, ≤ 10 ms CPU per cycle, ~0 between cycles): {'met' if ok else 'MISSED'}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
