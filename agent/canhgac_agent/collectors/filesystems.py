"""Mounted filesystems: space and inodes (Report.metrics.filesystems).

`psutil.disk_partitions(all=False)` already keeps only filesystems backed by a device (on Linux: types
not marked `nodev` in /proc/filesystems), which leaves out network mounts whose `statvfs` can hang on
a dead server. The explicit skip list below catches the pseudo/virtual types that slip through, and a
device mounted several times (bind mounts) is reported once, at its first mount point.
"""

from __future__ import annotations

import os
from typing import Any

import psutil

from canhgac_agent.collectors.base import MetricCollector

SKIP_FSTYPES = frozenset(
    {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
        "efivarfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc", "pstore",
        "ramfs", "rpc_pipefs", "securityfs", "squashfs", "sysfs", "tmpfs", "tracefs", "udf", "aufs",
        "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "fuse.snapfuse", "nullfs", "devfs",
    }
)  # fmt: skip


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def _usage(mountpoint: str) -> dict[str, Any]:
    """Space (as `df` counts it: percent of what non-root users can use) and inodes from one statvfs."""
    if not hasattr(os, "statvfs"):  # Windows
        du = psutil.disk_usage(mountpoint)
        return {"total_bytes": du.total, "used_bytes": du.used, "free_bytes": du.free, "percent": du.percent}
    st = os.statvfs(mountpoint)
    total = st.f_blocks * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    free = st.f_bavail * st.f_frsize
    percent = used / (used + free) * 100 if used + free > 0 else 0.0
    usage: dict[str, Any] = {
        "total_bytes": total,
        "used_bytes": max(0, used),
        "free_bytes": max(0, free),
        "percent": round(min(100.0, max(0.0, percent)), 1),
    }
    if st.f_files > 0:  # btrfs and some others report 0: no fixed inode table
        usage["inodes_total"] = st.f_files
        usage["inodes_used"] = max(0, st.f_files - st.f_ffree)
    return usage


def collect() -> list[dict[str, Any]]:
    """Return a list of dicts matching `Filesystem`, one per real mounted filesystem."""
    result: list[dict[str, Any]] = []
    seen_devices: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        fstype = part.fstype.lower()
        if fstype in SKIP_FSTYPES or part.device in seen_devices:
            continue
        # Windows lists empty card readers/DVD drives with an empty fstype; statvfs on them errors.
        if not fstype and os.name == "nt":
            continue
        try:
            usage = _usage(part.mountpoint)
        except OSError:  # vanished mount, permission, not ready: skip rather than fail the section
            continue
        seen_devices.add(part.device)
        result.append(
            {
                "mountpoint": _clip(part.mountpoint, 2048),
                "device": _clip(part.device, 2048),
                "fstype": _clip(part.fstype, 256),
                **usage,
            }
        )
        if len(result) >= 512:
            break
    return result


PLUGIN = MetricCollector(name="filesystems", collect=collect)
