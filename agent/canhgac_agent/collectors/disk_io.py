"""Per-disk I/O counters since boot (Report.metrics.disk_io).

Only physical disks: on Linux, psutil also lists partitions, loop/ram/zram devices and device-mapper or
md volumes, which would double count the same I/O. A block device in /sys/block with a `device` link
is backed by hardware (sda, nvme0n1, vda, mmcblk0); partitions are not in /sys/block at all.
"""

from __future__ import annotations

import os
from typing import Any

import psutil

from canhgac_agent.collectors.base import MetricCollector

_SYS_BLOCK = "/sys/block"


def physical_disks(sys_block: str = _SYS_BLOCK) -> set[str] | None:
    """Names of hardware-backed block devices, or None where /sys/block does not exist (not Linux)."""
    try:
        names = os.listdir(sys_block)
    except OSError:
        return None
    return {
        name
        for name in names
        if not name.startswith(("loop", "ram", "zram"))
        and os.path.exists(os.path.join(sys_block, name, "device"))
    }


def collect() -> list[dict[str, Any]]:
    """Return a list of dicts matching `DiskIO`, one per physical disk."""
    counters = psutil.disk_io_counters(perdisk=True, nowrap=True) or {}
    physical = physical_disks()
    result: list[dict[str, Any]] = []
    for name, c in sorted(counters.items()):
        if physical is not None and name not in physical:
            continue
        if physical is None and name.startswith(("loop", "ram")):
            continue
        busy = getattr(c, "busy_time", None)
        result.append(
            {
                "device": name[:256],
                "read_bytes": c.read_bytes,
                "write_bytes": c.write_bytes,
                "read_count": c.read_count,
                "write_count": c.write_count,
                "busy_time_ms": None if busy is None else int(busy),
            }
        )
    return result[:512]


PLUGIN = MetricCollector(name="disk_io", collect=collect)
