"""History write throughput: points/s through `InfluxWriter` into a real VictoriaMetrics (v2 write API).

Starts VictoriaMetrics (Debian) on a loopback port with a temp storage dir, then measures:
1. formatting: line protocol for realistic device polls (48-port switches) with `telemetry.device_lines`;
2. writing: `--points` pre-formatted points (`--series` interface series × rounds, timestamps 1 s apart,
   the newest ending now) given to the writer as fast as it takes them, until the store has accepted
   every one (the writer's own count), then the store is asked how many samples it holds (must match).

    .venv/bin/python bench/influx_write.py [--json] [--points 1000000] [--series 50000] [--batch 10000]

Last line: JSON {"points", "write_s", "points_per_s", "format_points_per_s", "stored", ...}.
Target: >= 100k points/s sustained.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "collector"), str(ROOT)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    from canhgac_agent.snmp.results import DevicePoll, InterfaceSample
    from canhgac_collector.config import InfluxConfig
    from canhgac_collector.metrics.history import InfluxWriter, line, tag_set
    from canhgac_collector.metrics.telemetry import device_lines

    binary = shutil.which("victoria-metrics")
    if binary is None:
        print("victoria-metrics not found: run scripts/install-system-deps (as root)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="canhgac-bench-vm-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    vm = subprocess.Popen(
        [
            binary,
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={root / 'data'}",
            "-search.latencyOffset=0s",
            "-loggerLevel=ERROR",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        # 1. formatting cost, realistic polls
        polls = [
            DevicePoll(
                device=f"sw-{d:04d}",
                started_at=time.time(),
                duration_s=0.3,
                state="up",
                interfaces=[
                    InterfaceSample(
                        ifIndex=i,
                        ifName=f"GigabitEthernet1/0/{i}",
                        ifOperStatus="up",
                        in_bps=1e6 + i,
                        out_bps=2e6 + i,
                        utilisation=0.01,
                        in_errors_ps=0.0,
                        out_errors_ps=0.0,
                        in_discards_ps=0.0,
                        out_discards_ps=0.0,
                    )
                    for i in range(1, 49)
                ],
            )
            for d in range(500)
        ]
        started = time.perf_counter()
        formatted = sum(len(device_lines(f"HT-XA-{i % 100:03d}", p)) for i, p in enumerate(polls))
        format_s = time.perf_counter() - started

        # 2. writing
        rounds = max(1, args.points // args.series)
        now_ms = int(time.time() * 1000)
        heads = [
            tag_set(
                "interface",
                (
                    ("site", f"HT-XA-{s // 480:03d}"),
                    ("device", f"sw-{s // 48:05d}"),
                    ("ifName", f"Gi1/0/{s % 48 + 1}"),
                ),
            )
            for s in range(args.series)
        ]
        chunks = []
        for r in range(rounds):
            ts = now_ms - (rounds - r) * 1000
            chunks.append(
                [p for s, head in enumerate(heads) if (p := line(head, {"in_bps": float(r + s)}, ts))]
            )
        total = sum(len(c) for c in chunks)
        cfg = InfluxConfig(
            enabled=True, url=url, batch_size=args.batch, flush_interval_s=0.2, buffer_dir=str(root / "buf")
        )
        writer = InfluxWriter(cfg)
        writer.start()
        started = time.perf_counter()
        for chunk in chunks:
            writer.write(chunk)
            while writer.stats.pending_points > args.batch * 10:  # stay under the in-memory bound
                time.sleep(0.005)
        while writer.stats.points_written + sum(writer.stats.dropped.values()) < total:
            time.sleep(0.01)
        write_s = time.perf_counter() - started
        writer.stop()
        urllib.request.urlopen(f"{url}/internal/force_flush", timeout=30).close()
        query = urllib.parse.urlencode(
            {"query": "sum(count_over_time(interface_in_bps[1d]))", "time": str(now_ms / 1000)}
        )
        result = _get(f"{url}/api/v1/query?{query}")["data"]["result"]
        stored = int(float(result[0]["value"][1])) if result else 0
        out = {
            "points": total,
            "series": args.series,
            "write_s": round(write_s, 3),
            "points_per_s": round(total / write_s),
            "format_points_per_s": round(formatted / format_s),
            "stored": stored,
            "dropped": sum(writer.stats.dropped.values()),
            "write_errors": writer.stats.write_errors,
            "batch": args.batch,
        }
        if not args.json:
            print(
                f"format  {formatted} points from {len(polls)} polls in {format_s:.3f} s "
                f"= {out['format_points_per_s']:,} points/s"
            )
            print(
                f"write   {total:,} points ({args.series:,} series × {rounds}) in {write_s:.2f} s "
                f"= {out['points_per_s']:,} points/s; store holds {stored:,}; errors {out['write_errors']}"
            )
        print(json.dumps(out))
        return 0 if stored == total else 1
    finally:
        vm.terminate()
        vm.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
