"""Trap receiver benchmark: traps/s received and stored, losses and CPU, ours vs Debian `snmptrapd`.

    python bench/traps.py [--rate 3000] [--count 30000] [--max-seconds 60] [--json]

1. Pre-encodes 1,000 distinct SNMPv2c linkDown trap datagrams (sysUpTime, snmpTrapOID, ifIndex,
   ifAdminStatus, ifOperStatus, ifDescr), so the sender costs next to nothing per trap.
2. For each receiver, on its own high loopback port, sends `--count` datagrams at `--rate` per second
   (paced every millisecond; one socket, no process per trap), then waits until nothing more arrives:
   - ours: `TrapService` in a child process, storing into a fresh SQLite database (one device at
     127.0.0.1, rate limit out of the way); "stored" is the count of trap events in the database;
   - snmptrapd: `snmptrapd -f -C -c <conf>` with `disableAuthorization yes`, logging each trap to a
     file (`-Lf`); "stored" is the count of trap lines in that file.
   CPU is the receiver process's user+system time (/proc), the sender's is not counted.

The last line is JSON: rate, count and per receiver received/stored per second, lost, cpu_s, cpu per trap.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

COMMUNITY = "bench-trap-community"
TICK_S = 0.001


def datagrams(n: int = 1000) -> list[bytes]:
    from canhgac_agent.snmp import ber

    out = []
    for i in range(n):
        index = 1 + i % 48
        varbinds = ber.encode_varbinds(
            [
                ((1, 3, 6, 1, 2, 1, 1, 3, 0), 0x43, 100_000 + i),
                ((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), 0x06, (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, index), 0x02, index),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, index), 0x02, 1),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, index), 0x02, 2),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, index), 0x04, f"GigabitEthernet0/{index}".encode()),
            ]
        )
        out.append(
            ber.encode_message(1, COMMUNITY.encode(), ber.encode_pdu(ber.TRAP_V2, i + 1, 0, 0, varbinds))
        )
    return out


def send(port: int, packets: list[bytes], rate: float, count: int, max_seconds: float) -> tuple[int, float]:
    """Paced sending; returns (sent, seconds)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    started = time.perf_counter()
    sent = 0
    while sent < count:
        elapsed = time.perf_counter() - started
        if elapsed > max_seconds:
            break
        due = min(count, int(elapsed * rate) + 1)
        while sent < due:
            sock.sendto(packets[sent % len(packets)], ("127.0.0.1", port))
            sent += 1
        time.sleep(TICK_S)
    sock.close()
    return sent, time.perf_counter() - started


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ours(conn: Connection, workdir: str, port: int) -> None:
    """Child: our receiver with storage until the parent says stop; then report counts."""
    from sqlalchemy import func, select

    from canhgac_collector.config import ServerConfig
    from canhgac_collector.devices.store import sync_config_devices
    from canhgac_collector.devices.traps.service import TrapService
    from canhgac_collector.sitetree import resolve_tree
    from canhgac_collector.store.db import make_engine, session_factory, upgrade
    from canhgac_collector.store.models import Event
    from canhgac_collector.store.secrets import SecretBox
    from canhgac_collector.store.sites import sync_sites

    config = ServerConfig(
        database_url=f"sqlite:///{workdir}/bench.sqlite",
        sites=[{"code": "B", "name": "Bench"}],
        devices=[
            {"name": "sw-bench", "address": "127.0.0.1", "site": "B", "snmp": {"community": "poll-9e8d7c6b"}}
        ],
        snmp={"secrets_key_file": f"{workdir}/secrets.key"},
        traps={
            "enabled": True,
            "listen_host": "127.0.0.1",
            "listen_port": port,
            "communities": [COMMUNITY],
            "rate_per_s": 10_000,
            "burst": 100_000,
            "queue_max": 1_000_000,
        },
    )
    engine = make_engine(config.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(config))
        sync_config_devices(session, config, SecretBox.for_config(config))
    service = TrapService(config.traps, sessions)
    service.start()
    conn.send("ready")
    conn.recv()  # stop
    service.stop()
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Event).where(Event.actor == "snmp-trap"))
    conn.send({"received": sum(service.received.values()), "stored": int(stored or 0)})


def settle(count_now: Any, limit_s: float = 30.0) -> None:
    """Wait until the receiver's count stops growing (1 s without change), at most `limit_s`."""
    last, still = -1, time.monotonic()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        now = count_now()
        if now != last:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= 1.0:
            return
        time.sleep(0.1)


def run_ours(packets: list[bytes], rate: float, count: int, max_seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        parent, child = mp.Pipe()
        proc = mp.get_context("spawn").Process(target=_ours, args=(child, workdir, port))
        proc.start()
        assert parent.recv() == "ready"
        pid = proc.pid
        assert pid is not None
        cpu0 = cpu_of(pid)
        sent, seconds = send(port, packets, rate, count, max_seconds)
        started = time.monotonic()
        settle(lambda: cpu_of(pid))  # idle: everything queued has been stored
        drained = time.monotonic() - started
        cpu = cpu_of(pid) - cpu0
        parent.send("stop")
        counts = parent.recv()
        proc.join(30)
    return _figures(sent, seconds, drained, counts["received"], counts["stored"], cpu)


def run_snmptrapd(packets: list[bytes], rate: float, count: int, max_seconds: float) -> dict[str, Any]:
    binary = shutil.which("snmptrapd") or "/usr/sbin/snmptrapd"
    if not Path(binary).exists():
        sys.exit("snmptrapd not found: run scripts/install-system-deps (Debian `snmptrapd`)")
    with tempfile.TemporaryDirectory() as workdir:
        conf = Path(workdir, "snmptrapd.conf")
        conf.write_text("disableAuthorization yes\ndontRetainLogs yes\n")
        log = Path(workdir, "traps.log")
        port = free_port()
        env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent", SNMP_PERSISTENT_DIR=workdir)
        proc = subprocess.Popen(
            [binary, "-f", "-C", "-c", str(conf), "-Lf", str(log), "-On", f"udp:127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (log.exists() and "NET-SNMP" in log.read_text()):
                time.sleep(0.05)
            cpu0 = cpu_of(proc.pid)
            sent, seconds = send(port, packets, rate, count, max_seconds)
            started = time.monotonic()
            settle(lambda: log.stat().st_size)
            drained = time.monotonic() - started
            cpu = cpu_of(proc.pid) - cpu0
        finally:
            proc.terminate()
            proc.wait(10)
        stored = sum(
            1 for line in log.read_text(errors="replace").splitlines() if "1.3.6.1.6.3.1.1.5.3" in line
        )
    return _figures(sent, seconds, drained, stored, stored, cpu)


def _figures(
    sent: int, seconds: float, drained: float, received: int, stored: int, cpu: float
) -> dict[str, Any]:
    total = seconds + drained
    return {
        "sent": sent,
        "send_seconds": round(seconds, 2),
        "received": received,
        "stored": stored,
        "lost": sent - stored,
        "stored_per_s": round(stored / total, 1) if total else 0.0,
        "cpu_s": round(cpu, 2),
        "cpu_us_per_trap": round(cpu / stored * 1e6, 1) if stored else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=3000.0, help="traps per second sent")
    parser.add_argument("--count", type=int, default=30_000, help="traps sent per receiver")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap on sending time per receiver")
    parser.add_argument("--json", action="store_true", help="only the JSON line")
    args = parser.parse_args()
    count = max(1, min(args.count, 1_000_000))
    rate = max(1.0, min(args.rate, 100_000.0))
    packets = datagrams()
    result: dict[str, Any] = {"rate": rate, "count": count}
    result["ours"] = run_ours(packets, rate, count, args.max_seconds)
    result["snmptrapd"] = run_snmptrapd(packets, rate, count, args.max_seconds)
    if not args.json:
        for name in ("ours", "snmptrapd"):
            r = result[name]
            print(
                f"{name:10s} sent {r['sent']} stored {r['stored']} lost {r['lost']} "
                f"({r['stored_per_s']}/s) cpu {r['cpu_s']} s = {r['cpu_us_per_trap']} µs/trap"
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
