"""LAN sensor: the ARP+DHCP frames/s `canhgac-agent lan watch` handles on one core without kernel drops,
its CPU and memory at a commune's normal rate, next to Debian's arpwatch on the same traffic.

    .venv/bin/python bench/lan_sensor.py [--json] [--rates 2000,5000,...] [--step-seconds S]
                                         [--normal-rate 50] [--normal-seconds S]

Runs as root, in network namespaces only (tests/harness/netns.py: a bridge that floods every frame, a
sensor namespace and a traffic namespace; addresses in 198.51.100.0/24 exist only there).

1. Ramp: for each rate, a fresh `canhgac-agent lan watch --json` pinned to CPU 1 (`taskset`), then
   `tests/harness/lan_traffic.py blast` pinned to CPU 0 sends a fixed mix of ARP requests and DHCP
   DISCOVERs from 50 MACs for `--step-seconds`. The sensor's own summary gives the frames the kernel
   passed and dropped (PACKET_STATISTICS); its CPU comes from /proc/<pid>/stat. The ramp stops at the
   first rate with drops.
2. Normal: `--normal-rate` frames/s (default 50) for `--normal-seconds`: the sensor's CPU as % of one
   core, and its RSS / peak RSS (VmRSS / VmHWM).
3. arpwatch (`arpwatch -d -Q -N -p -i eth0 -f FILE`: foreground, no mail) on the same normal traffic
   and on the highest rate the sensor took without drops: CPU and RSS.
4. Parse cost: the sensor's `struct` reader against scapy's own dissection (`Ether(frame)`) of the same
   ARP reply and DHCP OFFER, µs per frame in this process (why the sensor hand-reads ARP and DHCP).

Every loop is bounded by the list of rates and the durations. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import cpu_seconds, machine_busy_seconds, memory_kb
from tests.harness.netns import ROOT, Lan, Machine, Watch, check_requirements, python_env

SENSOR_CPU, TRAFFIC_CPU = "1", "0"
SUMMARY = re.compile(r"packets seen (\d+), .* dropped by the kernel (\d+)")
OPTIONS = {"quiet": False}  # --json: progress lines off too


def log(message: str) -> None:
    if not OPTIONS["quiet"]:
        print(message, file=sys.stderr, flush=True)


def blast(machine: Machine, rate: float, seconds: float) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        machine.argv(
            "taskset",
            "-c",
            TRAFFIC_CPU,
            sys.executable,
            "-m",
            "tests.harness.lan_traffic",
            "--interface",
            "eth0",
            "blast",
            "--rate",
            str(rate),
            "--seconds",
            str(seconds),
        ),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
        cwd=ROOT,
        env=python_env(),
    )
    sent = json.loads(result.stdout.strip().splitlines()[-1])["sent"]
    return {"sent": sent, "achieved_pps": sent / max(1e-9, time.perf_counter() - started - 0.4)}


def run_sensor(lan_sensor: Machine, traffic: Machine, rate: float, seconds: float) -> dict[str, Any]:
    """One sensor run under `rate` frames/s: frames seen and dropped, CPU, memory."""
    watch = Watch(
        lan_sensor, ["lan", "watch", "--interface", "eth0", "--json"], prefix=("taskset", "-c", SENSOR_CPU)
    )
    watch.wait_ready()
    pid = watch.process.pid
    time.sleep(0.3)
    cpu0, busy0, wall0 = cpu_seconds(pid), machine_busy_seconds(), time.perf_counter()
    sent = blast(traffic, rate, seconds)
    time.sleep(0.3)
    cpu1, busy1, wall1 = cpu_seconds(pid), machine_busy_seconds(), time.perf_counter()
    memory = memory_kb(pid)
    assert watch.finish() == 0, watch.stderr
    match = next((m for line in watch.stderr if (m := SUMMARY.search(line))), None)
    seen, dropped = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    cpu = cpu1 - cpu0
    return {
        "rate": rate,
        **sent,
        "seen": seen,
        "dropped": dropped,
        "cpu_pct_of_core": round(100 * cpu / (wall1 - wall0), 2),
        "cpu_us_per_frame": round(1e6 * cpu / max(1, seen), 1),
        "rss_mb": round(memory.get("VmRSS", 0) / 1024, 1),
        "peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
        "other_cpu_pct": round(100 * max(0.0, (busy1 - busy0) - cpu) / (wall1 - wall0), 1),
    }


def run_arpwatch(
    lan_sensor: Machine, traffic: Machine, rate: float, seconds: float, workdir: Path
) -> dict[str, Any]:
    data = workdir / f"arp-{int(rate)}.dat"
    data.write_text("")
    process = subprocess.Popen(
        lan_sensor.argv(
            "taskset", "-c", SENSOR_CPU, "arpwatch", "-d", "-Q", "-N", "-p", "-i", "eth0", "-f", str(data)
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        if process.poll() is not None:
            raise RuntimeError(f"arpwatch exited with {process.returncode}")
        cpu0, wall0 = cpu_seconds(process.pid), time.perf_counter()
        sent = blast(traffic, rate, seconds)
        time.sleep(0.3)
        cpu1, wall1 = cpu_seconds(process.pid), time.perf_counter()
        memory = memory_kb(process.pid)
    finally:
        process.terminate()  # arpwatch writes its data file on SIGTERM
        process.wait(timeout=10)
    cpu = cpu1 - cpu0
    return {
        "rate": rate,
        **sent,
        "stations": len(data.read_text().splitlines()),  # what it learned: proof it saw the traffic
        "cpu_pct_of_core": round(100 * cpu / (wall1 - wall0), 2),
        "cpu_us_per_frame": round(1e6 * cpu / max(1, sent["sent"]), 1),
        "rss_mb": round(memory.get("VmRSS", 0) / 1024, 1),
    }


def parse_cost() -> dict[str, dict[str, float]]:
    """µs per frame: the sensor's reader vs scapy's dissection, on one ARP reply and one DHCP OFFER."""
    from scapy.compat import raw
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import ARP, Ether

    from canhgac_agent.lan.packets import parse_frame

    mac = "02:00:00:00:00:42"
    frames = {
        "arp": raw(
            Ether(src=mac, dst="02:00:00:00:00:43")
            / ARP(op=2, hwsrc=mac, psrc="198.51.100.1", pdst="198.51.100.2")
        ),
        "dhcp": raw(
            Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
            / IP(src="198.51.100.66", dst="255.255.255.255")
            / UDP(sport=67, dport=68)
            / BOOTP(op=2, yiaddr="198.51.100.50", chaddr=bytes.fromhex("020000000042"), xid=5)
            / DHCP(options=[("message-type", "offer"), ("server_id", "198.51.100.66"), "end"])
        ),
    }
    out: dict[str, dict[str, float]] = {}
    for name, frame in frames.items():
        if parse_frame(frame) is None:
            raise SystemExit(f"the sensor's reader refused the {name} frame")
        costs = {}
        for label, parse, count in (("sensor_us", parse_frame, 20_000), ("scapy_us", Ether, 2_000)):
            start = time.perf_counter()
            for _ in range(count):
                parse(frame)
            costs[label] = round((time.perf_counter() - start) / count * 1e6, 1)
        costs["ratio"] = round(costs["scapy_us"] / costs["sensor_us"], 1)
        out[name] = costs
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="only the JSON line")
    parser.add_argument("--rates", default="2000,5000,10000,15000,20000,30000")
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--normal-rate", type=float, default=50.0)
    parser.add_argument("--normal-seconds", type=float, default=20.0)
    args = parser.parse_args()
    OPTIONS["quiet"] = args.json
    check_requirements("arpwatch", "taskset")
    rates = [float(r) for r in args.rates.split(",")][:10]
    out: dict[str, Any] = {"ramp": [], "normal": None, "arpwatch": [], "parse_cost": parse_cost()}
    log(f"parse cost, µs per frame: {out['parse_cost']}")
    with Lan() as lan, tempfile.TemporaryDirectory(prefix="lan-bench-") as tmp:
        sensor = lan.add("sensor", 10)  # arpwatch wants an IPv4 address on its interface
        traffic = lan.add("traffic", 20, with_ip=False)
        for rate in rates:
            log(f"ramp: {rate:.0f} frames/s for {args.step_seconds:g} s")
            step = run_sensor(sensor, traffic, rate, args.step_seconds)
            out["ramp"].append(step)
            log(f"  {step}")
            if step["dropped"] != 0:
                break
        clean = [s["rate"] for s in out["ramp"] if s["dropped"] == 0]
        out["max_rate_without_drops"] = max(clean) if clean else None
        out["first_rate_with_drops"] = next((s["rate"] for s in out["ramp"] if s["dropped"] != 0), None)
        log(f"normal: {args.normal_rate:g} frames/s for {args.normal_seconds:g} s")
        out["normal"] = run_sensor(sensor, traffic, args.normal_rate, args.normal_seconds)
        log(f"  {out['normal']}")
        if shutil.which("arpwatch"):
            for rate, seconds in (
                (args.normal_rate, args.normal_seconds),
                (clean[-1] if clean else 2000, args.step_seconds),
            ):
                log(f"arpwatch: {rate:.0f} frames/s for {seconds:g} s")
                out["arpwatch"].append(run_arpwatch(sensor, traffic, rate, seconds, Path(tmp)))
                log(f"  {out['arpwatch'][-1]}")
    if not args.json:
        header = ("run", "rate/s", "achieved", "seen", "dropped", "CPU %", "µs/frame", "RSS MB")
        print(f"{header[0]:<22}" + "".join(f"{h:>10}" for h in header[1:]))
        rows = [("sensor ramp", s) for s in out["ramp"]] + [("sensor normal", out["normal"])]
        rows += [("arpwatch", a) for a in out["arpwatch"]]
        for name, r in rows:
            cells = (
                f"{r['rate']:.0f}",
                f"{r['achieved_pps']:.0f}",
                r.get("seen", "-"),
                r.get("dropped", "-"),
            )
            cells += (r["cpu_pct_of_core"], r["cpu_us_per_frame"], r["rss_mb"])
            print(f"{name:<22}" + "".join(f"{c!s:>10}" for c in cells))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
