"""Outage tail: seconds from a commune's line coming back until every report its PCs spooled during the
cut is stored, with the agents' link check off (before) and on (after).

    python bench/outage_tail.py [--agents 4] [--cut 60] [--interval 5] [--json]

Needs root and iproute2: `canhgac serve` runs in a "dc" network namespace, `--agents` real
`canhgac-agent run` processes in a "commune" namespace, joined by a veth pair (tests/harness/wan.py,
198.51.100.0/24). For each mode the line is cut for `--cut` seconds (the agents time out, spool and back
off: base 1 s doubling to the default 300 s cap, full jitter), then restored; at the restore each agent's
newest spooled seq is read (`canhgac-agent status --json`) and the server's database is polled until
every host's `last_seq` reaches it. Defaults otherwise: link checks every ~15 s, resume jitter 0–10 s.

The last line is JSON: per mode, the seconds per agent (sorted), their median and maximum.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.harness.wan import DC_IP, missing_reason, wan  # noqa: E402  (the repo's own harness)

KEY = "bench-outage-commune-key-0123456789"
PORT = 8472


def server_config(tmp: Path) -> dict[str, Any]:
    return {
        "listen": {"host": "0.0.0.0", "port": PORT},
        "database_url": f"sqlite:///{tmp / 'canhgac.sqlite'}",
        "snmp": {"enabled": False, "secrets_key_file": str(tmp / "secrets.key")},
        "alerting": {"enabled": False},
        "site_links": {"enabled": False},
        "sites": [{"code": "XA", "name": "Xã Đo Thử", "kind": "commune", "enrollment_keys": [KEY]}],
    }


def agent_config(state: Path, name: str, interval_s: float, link_check: bool) -> Path:
    cfg = state / "agent.toml"
    cfg.write_text(
        f'server_url = "http://{DC_IP}:{PORT}"\nenrollment_key = "{KEY}"\nstate_dir = "{state}"\n'
        f'interval_s = {interval_s}\n[identity]\nmachine_id = "bench-{name}"\nhostname = "{name}"\n'
        f"[probes]\ngateway = false\n[retry]\nlink_check = {'true' if link_check else 'false'}\n",
        encoding="utf-8",
    )
    return cfg


def newest_seq(cfg: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "canhgac_agent", "status", "--json", "--config", str(cfg)],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return int(json.loads(out.stdout)["next_seq"]) - 1


def stored_seqs(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {str(h): int(s or 0) for h, s in con.execute("SELECT hostname, last_seq FROM hosts")}
    finally:
        con.close()


def run_mode(link_check: bool, agents: int, cut_s: float, interval_s: float) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="canhgac-outage-") as d, wan("b") as w:
        tmp = Path(d)
        config = tmp / "server.yaml"
        config.write_text(yaml.safe_dump(server_config(tmp), allow_unicode=True), encoding="utf-8")
        log = (tmp / "server.log").open("ab")
        cli = [sys.executable, "-m", "canhgac_collector.cli"]
        subprocess.run([*cli, "db", "upgrade", "--config", str(config)], stdout=log, check=True, timeout=120)
        procs = [
            subprocess.Popen(
                [*w.run_in(w.dc), *cli, "serve", "--config", str(config)], stdout=log, stderr=log
            )
        ]
        cfgs: dict[str, Path] = {}
        try:
            for i in range(agents):
                name = f"pc{i + 1:02d}"
                state = tmp / name
                state.mkdir()
                cfgs[name] = agent_config(state, name, interval_s, link_check)
                run = [*w.run_in(w.commune), sys.executable, "-m", "canhgac_agent", "run"]
                procs.append(subprocess.Popen([*run, "--config", str(cfgs[name])], stdout=log, stderr=log))
            deadline = time.monotonic() + 90
            while len([s for s in stored_seqs(tmp / "canhgac.sqlite").values() if s >= 1]) < agents:
                if time.monotonic() > deadline:
                    raise SystemExit("agents did not report within 90 s")
                time.sleep(0.5)
            w.cut()
            time.sleep(cut_s)
            w.restore()
            restored = time.monotonic()
            wanted = {name: newest_seq(cfg) for name, cfg in cfgs.items()}
            done: dict[str, float] = {}
            while len(done) < agents and time.monotonic() - restored < 900:
                have = stored_seqs(tmp / "canhgac.sqlite")
                for name, seq in wanted.items():
                    if name not in done and have.get(name, 0) >= seq:
                        done[name] = round(time.monotonic() - restored, 1)
                time.sleep(0.2)
            return sorted(done.values()) + [float("inf")] * (agents - len(done))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
            log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--cut", type=float, default=60.0)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    reason = missing_reason()
    if reason:
        raise SystemExit(f"bench/outage_tail.py: {reason}")
    result: dict[str, Any] = {"agents": args.agents, "cut_s": args.cut, "interval_s": args.interval}
    for mode, check in (("backoff_only", False), ("link_check", True)):
        times = run_mode(check, args.agents, args.cut, args.interval)
        result[mode] = {"seconds": times, "median": round(statistics.median(times), 1), "max": max(times)}
        if not args.json:
            print(f"{mode:>13}: median {result[mode]['median']} s, max {result[mode]['max']} s — {times}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
