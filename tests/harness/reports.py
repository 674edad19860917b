"""Realistic agent reports (~4 KB of JSON) for API tests and the ingest benchmark."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

#: Reports are dated from three days ago (fixed for the whole run, so a resent report is identical):
#: inside the server's accepted window, and 30 s apart so seq 8,000 is still not in the future.
BASE_TIME = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)


def make_report(
    agent_id: str,
    seq: int,
    *,
    hostname: str = "pc-01",
    machine_id: str = "m-01",
    with_security: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    now = BASE_TIME + dt.timedelta(seconds=30 * seq)
    report: dict[str, Any] = {
        "schema_version": 1,
        "agent_id": agent_id,
        "seq": seq,
        "collected_at": now.isoformat(),
        "interval_s": 30,
        "host": {
            "machine_id": machine_id,
            "hostname": hostname,
            "os": {
                "system": "Linux",
                "release": "6.1.0-26-amd64",
                "version": "#1 SMP Debian 6.1.112-1",
                "arch": "x86_64",
                "distro_id": "debian",
                "distro_version": "12",
                "pretty_name": "Debian GNU/Linux 12 (bookworm)",
            },
            "hardware": {
                "vendor": "Dell Inc.",
                "model": "OptiPlex 3020",
                "serial": "7XK2Q32",
                "bios_version": "A18",
                "cpu_model": "Intel(R) Core(TM) i3-4150 CPU @ 3.50GHz",
                "cpu_cores_logical": 4,
                "cpu_cores_physical": 2,
                "memory_total_bytes": 4_000_000_000,
            },
            "boot_time": "2026-11-20T00:00:00+00:00",
        },
        "metrics": {
            "cpu": {
                "percent": 12.5,
                "count_logical": 4,
                "load_1m": 0.4,
                "load_5m": 0.3,
                "load_15m": 0.2,
                "iowait_percent": 0.5,
            },
            "memory": {
                "total_bytes": 4_000_000_000,
                "available_bytes": 2_100_000_000,
                "used_bytes": 1_900_000_000,
                "percent": 47.5,
                "swap_total_bytes": 2_000_000_000,
                "swap_used_bytes": 10_000_000,
                "swap_percent": 0.5,
            },
            "filesystems": [
                {
                    "mountpoint": m,
                    "device": d,
                    "fstype": "ext4",
                    "total_bytes": 250_000_000_000,
                    "used_bytes": 120_000_000_000 + seq,
                    "free_bytes": 130_000_000_000,
                    "percent": 48.0,
                    "inodes_total": 15_000_000,
                    "inodes_used": 400_000,
                }
                for m, d in (("/", "/dev/sda1"), ("/home", "/dev/sda3"), ("/var", "/dev/sda2"))
            ],
            "disk_io": [
                {
                    "device": "sda",
                    "read_bytes": 1_000_000 * seq,
                    "write_bytes": 2_000_000 * seq,
                    "read_count": 1000 * seq,
                    "write_count": 2000 * seq,
                    "busy_time_ms": 500 * seq,
                }
            ],
            "network": [
                {
                    "name": name,
                    "is_up": True,
                    "speed_mbps": 1000,
                    "duplex": "full",
                    "mtu": 1500,
                    "addresses": [
                        {"family": "ipv4", "address": addr, "netmask": "255.255.255.0"},
                        {"family": "mac", "address": "aa:bb:cc:dd:ee:0" + name[-1]},
                    ],
                    "bytes_sent": 10_000 * seq,
                    "bytes_recv": 90_000 * seq,
                    "packets_sent": 100 * seq,
                    "packets_recv": 900 * seq,
                    "errin": 0,
                    "errout": 0,
                    "dropin": 1,
                    "dropout": 0,
                }
                for name, addr in (("eth0", "192.0.2.10"), ("eth1", "198.51.100.10"))
            ],
            "sensors": {
                "temperatures": [
                    {
                        "sensor": "coretemp",
                        "label": f"Core {i}",
                        "current_c": 45.0 + i,
                        "high_c": 80.0,
                        "critical_c": 100.0,
                    }
                    for i in range(4)
                ],
                "fans": [{"sensor": "dell_smm", "label": "CPU fan", "rpm": 1800}],
                "battery": None,
            },
            "uptime": {"boot_time": "2026-11-20T00:00:00+00:00", "uptime_s": 200_000.0 + 30 * seq},
        },
        "probes": [
            {
                "name": name,
                "kind": kind,
                "target": target,
                "method": method,
                "sent": 4,
                "received": 4,
                "loss_ratio": 0.0,
                "rtt_min_ms": 1.2,
                "rtt_avg_ms": 2.5,
                "rtt_max_ms": 4.0,
                "jitter_ms": 0.8,
                "ok": True,
                "status_code": status,
            }
            for name, kind, target, method, status in (
                ("gateway", "gateway", "192.0.2.1", "icmp", None),
                ("provincial-dc", "tcp", "10.10.0.10:443", "tcp", None),
                ("egov-portal", "http", "https://dichvucong.example.gov.vn/", "http", 200),
                ("egov-dns", "dns", "dichvucong.example.gov.vn", "dns", None),
            )
        ],
        "security": None,
        "agent": {
            "version": "0.1.0",
            "spool_backlog": 0,
            "spool_dropped_total": 0,
            "rejected_total": 0,
            "cycle_cpu_s": 0.004,
        },
        "errors": [],
    }
    if with_security:
        report["security"] = {
            "platform": "linux",
            "listening_ports": [
                {"proto": "tcp", "address": "0.0.0.0", "port": 22, "pid": 500, "process": "sshd"}
            ],
            "firewall": {
                "backend": "nftables",
                "enabled": True,
                "default_input_policy": "drop",
                "rules_count": 12,
            },
            "time_sync": {"service": "systemd-timesyncd", "synchronized": True},
            "ssh_server": {
                "installed": True,
                "running": True,
                "settings": {"permitrootlogin": "no", "passwordauthentication": "no"},
            },
            "updates": {"manager": "apt", "total": 3, "security": 1},
            "password_policy": {"max_days": 90, "min_length": 8, "lockout_attempts": 5},
            "accounts": [
                {"name": "root", "uid": 0, "groups": ["root"], "is_admin": True},
                {"name": "canbo", "uid": 1000, "groups": ["canbo", "sudo"], "is_admin": True},
            ],
            "anti_malware": [{"name": "clamav", "installed": True, "running": True}],
        }
    report.update(overrides)
    return report


def gzip_batch(reports: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"reports": reports}).encode(), compresslevel=6)
