"""Config pull benchmark: pulls per minute and client CPU per pull, ours (`pull_many`) vs a bare netmiko loop.

    python bench/config_pull.py [--devices 200] [--lines 1500] [--workers N] [--max-seconds 300] [--json]

1. Starts the SSH device simulator (canhgac_collector.lab.sshdevice) in a child process: N devices on
   127.0.0.1, one port each, platforms taken in turn from the eight pulled ones, each serving a
   realistic config of `--lines` lines (canhgac_collector.lab.sshconfigs). Loopback only.
2. One unmeasured warm-up pull (imports, first handshakes), then the same devices pulled by:
   - ours: `pull_many(targets, max_workers)` (netmiko login + our output read and quick logout);
   - bare: a thread pool of the same size running plain `ConnectHandler(...)`, `enable()` where the
     platform needs it, `send_command(show)`, `disconnect()` for each device.
   Each run is bounded by `--max-seconds`; a pull counts only when its text equals what the device
   serves (ours: byte-for-byte; bare: after netmiko's own stripping, compared without surrounding
   whitespace). CPU is this process's user+system time (the simulator's is not counted).

The last line is JSON: devices, lines, workers, ours_/bare_ pulls_per_min, cpu_s_per_pull, ok, seconds,
and the ratios.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import logging
import multiprocessing as mp
import resource
import time
import warnings
from multiprocessing.connection import Connection
from typing import Any

PASSWORD = "bench-pass"  # noqa: S105 - the simulated devices' login
SECRET = "bench-enable"  # noqa: S105


def _serve(conn: Connection, devices: int, lines: int) -> None:
    """Child process: run the simulated fleet until the parent says stop."""
    warnings.simplefilter("ignore")
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # clients closing early make asyncio chatty
    from canhgac_collector.devices.configs.target import PLATFORMS
    from canhgac_collector.lab.sshconfigs import sample_config
    from canhgac_collector.lab.sshdevice import SimDevice, SshDeviceLab

    with SshDeviceLab() as lab:
        fleet = []
        for i in range(devices):
            platform = PLATFORMS[i % len(PLATFORMS)]
            name = f"sw{i:03d}"
            config = sample_config(platform, name, lines)
            secret = SECRET if platform in ("cisco_ios", "cisco_xe", "ruijie_os") else None
            port = lab.add(SimDevice(name, platform, config, password=PASSWORD, enable_secret=secret))
            fleet.append((name, platform, port, config))
        conn.send(fleet)
        conn.recv()  # any message: stop


def _bare_pull(platform: str, port: int) -> str:
    from netmiko import ConnectHandler

    from canhgac_collector.devices.configs.pull import NEEDS_ENABLE, SHOW_COMMAND

    session: Any = ConnectHandler(
        device_type=platform,
        host="127.0.0.1",
        port=port,
        username="netadmin",
        password=PASSWORD,
        secret=SECRET,
    )
    try:
        if platform in NEEDS_ENABLE:
            session.enable()
        return str(session.send_command(SHOW_COMMAND[platform], read_timeout=60))
    finally:
        session.disconnect()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--lines", type=int, default=1500)
    ap.add_argument("--workers", type=int, default=None, help="default: pool.DEFAULT_CONCURRENCY")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="bound on each run")
    ap.add_argument("--only", choices=("ours", "bare"), default=None, help="run one side only")
    ap.add_argument("--json", action="store_true", help="print only the JSON line")
    args = ap.parse_args()
    if not (1 <= args.devices <= 1000 and 10 <= args.lines <= 20000):
        raise SystemExit("--devices must be 1-1000 and --lines 10-20000")
    warnings.simplefilter("ignore")  # cryptography's DSA deprecation, printed by asyncssh and paramiko
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    from canhgac_collector.devices.configs.pool import DEFAULT_CONCURRENCY, pull_many
    from canhgac_collector.devices.configs.target import PullResult, SshTarget

    workers = args.workers or DEFAULT_CONCURRENCY
    parent, child = mp.Pipe()
    sim = mp.get_context("spawn").Process(target=_serve, args=(child, args.devices, args.lines), daemon=True)
    sim.start()
    try:
        fleet = parent.recv()
        targets = [
            SshTarget(
                name=name,
                host="127.0.0.1",
                port=port,
                platform=platform,
                username="netadmin",
                password=PASSWORD,
                enable_secret=SECRET,
                timeout_s=60,
            )
            for name, platform, port, _ in fleet
        ]
        served = [config for *_, config in fleet]
        pull_many(targets[:1])  # warm-up, unmeasured
        _bare_pull(fleet[0][1], fleet[0][2])
        out: dict[str, Any] = {"devices": args.devices, "lines": args.lines, "workers": workers}

        if args.only in (None, "ours"):
            cpu0, t0 = _cpu(), time.perf_counter()
            results = pull_many(targets, max_workers=workers, deadline_s=args.max_seconds)
            seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
            ok = sum(
                isinstance(r, PullResult) and r.config == want
                for r, want in zip(results, served, strict=True)
            )
            out |= _figures("ours", ok, seconds, cpu)

        if args.only in (None, "bare"):
            cpu0, t0 = _cpu(), time.perf_counter()
            pool = cf.ThreadPoolExecutor(max_workers=workers)
            futures = [pool.submit(_bare_pull, platform, port) for _, platform, port, _ in fleet]
            cf.wait(futures, timeout=args.max_seconds)
            pool.shutdown(wait=False, cancel_futures=True)
            seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
            ok = sum(
                f.done()
                and not f.cancelled()
                and f.exception() is None
                and f.result().strip() == want.strip()
                for f, want in zip(futures, served, strict=True)
            )
            out |= _figures("bare", ok, seconds, cpu)
    finally:
        parent.send("stop")
        sim.join(timeout=30)
        if sim.is_alive():
            sim.kill()

    if "ours_ok" in out and "bare_ok" in out and out["bare_pulls_per_min"] and out["ours_cpu_s_per_pull"]:
        out["pulls_per_min_ratio_ours_vs_bare"] = round(
            out["ours_pulls_per_min"] / out["bare_pulls_per_min"], 2
        )
        out["cpu_per_pull_ratio_bare_vs_ours"] = round(
            out["bare_cpu_s_per_pull"] / out["ours_cpu_s_per_pull"], 2
        )
    if not args.json:
        print(f"{args.devices} devices x {args.lines} lines, {workers} threads, loopback simulator")
        print(f"{'':6} {'ok':>5} {'seconds':>8} {'pulls/min':>10} {'CPU s/pull':>11}")
        for side in ("ours", "bare"):
            if f"{side}_ok" in out:
                print(
                    f"{side:6} {out[side + '_ok']:5d} {out[side + '_seconds']:8.1f} "
                    f"{out[side + '_pulls_per_min']:10.1f} {out[side + '_cpu_s_per_pull']:11.4f}"
                )
    print(json.dumps(out), flush=True)


def _figures(side: str, ok: int, seconds: float, cpu: float) -> dict[str, Any]:
    return {
        f"{side}_ok": ok,
        f"{side}_seconds": round(seconds, 2),
        f"{side}_pulls_per_min": round(ok * 60 / seconds, 1) if seconds else 0.0,
        f"{side}_cpu_s_per_pull": round(cpu / ok, 4) if ok else None,
    }


if __name__ == "__main__":
    main()
