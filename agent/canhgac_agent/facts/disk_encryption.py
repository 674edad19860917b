"""Disk encryption (`SecurityFacts.disk_encryption`).

Linux: each block-device mount of /proc/mounts, encrypted when its device is a dm-crypt mapping or
lies wholly on such mappings (LVM on LUKS), found through /sys. Windows: BitLocker's
`Win32_EncryptableVolume` (needs administrator rights, which the agent's service has).

Requirement HS-30 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import as_list, clip
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

# Filesystems that never hold data at rest of their own (read-only images, pseudo filesystems).
_NOT_DATA_FS = frozenset({"squashfs", "iso9660", "udf", "erofs"})


def parse_proc_mounts(text: str) -> list[tuple[str, str, str]]:
    """(device, mountpoint, fstype) of the block-device mounts in /proc/mounts: the first mount of each
    device (bind mounts and further subvolumes share its encryption); octal escapes (`\\040` for a
    space) are decoded. Garbage lines are skipped."""
    seen: set[str] = set()
    mounts: list[tuple[str, str, str]] = []
    for raw in text.splitlines():
        cols = raw.split()
        if len(cols) < 3 or not cols[0].startswith("/dev/") or cols[2] in _NOT_DATA_FS:
            continue
        device, mountpoint = (re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), c) for c in cols[:2])
        if device.startswith("/dev/loop"):
            continue  # loop devices: snaps and images, whose backing file lives on another mount
        entry = (clip(device, 2048), clip(mountpoint, 2048), clip(cols[2]))
        if device in seen:
            if mountpoint == "/":  # the root filesystem is always listed as itself
                mounts = [entry if m[0] == entry[0] else m for m in mounts]
            continue
        seen.add(device)
        mounts.append(entry)
    return mounts[:512]


def _block_name(host: LinuxHost, device: str) -> str | None:
    """The kernel name (dm-0, sda1, nvme0n1p2) of a /dev path: its symlink target's basename, or
    via the device number for nodes such as /dev/root."""
    name = os.path.basename(os.path.realpath(host.path(device)))
    if os.path.isdir(host.path(f"/sys/class/block/{name}")):
        return name
    try:
        rdev = os.stat(host.path(device)).st_rdev
    except OSError:
        return None
    target = host.path(f"/sys/dev/block/{os.major(rdev)}:{os.minor(rdev)}")
    return os.path.basename(os.path.realpath(target)) if os.path.exists(target) else None


def _crypt_backed(host: LinuxHost, name: str, depth: int = 0) -> bool:
    """The block device is a dm-crypt mapping, or every device under it (LVM on LUKS) is."""
    uuid = host.read(f"/sys/class/block/{name}/dm/uuid")
    if uuid is not None and uuid.strip().upper().startswith("CRYPT-"):
        return True
    try:
        slaves = sorted(os.listdir(host.path(f"/sys/class/block/{name}/slaves")))
    except OSError:
        return False
    return bool(slaves) and depth < 8 and all(_crypt_backed(host, s, depth + 1) for s in slaves)


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`DiskEncryption` on Linux."""
    mounts_text = host.read("/proc/mounts")
    if mounts_text is None:
        raise RuntimeError("/proc/mounts is not readable")
    filesystems: list[dict[str, Any]] = []
    for device, mountpoint, fstype in parse_proc_mounts(mounts_text):
        name = _block_name(host, device)
        filesystems.append(
            {
                "mountpoint": mountpoint,
                "device": device,
                "fstype": fstype,
                "encrypted": None if name is None else _crypt_backed(host, name),
            }
        )
    root = next((f for f in filesystems if f["mountpoint"] == "/"), None)
    detail = None
    if root is None:
        detail = "/ is not on a block device (container or network root); encryption unknown"
    elif root["encrypted"] is None:
        detail = f"{root['device']}: block device not found in /sys; encryption unknown"
    return {
        "root_encrypted": root["encrypted"] if root else None,
        "filesystems": filesystems,
        "detail": detail,
    }


def parse_bitlocker(volumes: Any, system_drive: Any) -> dict[str, Any]:
    """`DiskEncryption` from Win32_EncryptableVolume (DriveLetter, ProtectionStatus 0 off / 1 on /
    2 unknown (locked), VolumeType 0 = OS volume). Needs administrator rights (the agent's service)."""
    filesystems: list[dict[str, Any]] = []
    root: bool | None = None
    for volume in as_list(volumes):
        if not isinstance(volume, dict):
            continue
        letter = volume.get("DriveLetter") if isinstance(volume.get("DriveLetter"), str) else None
        status = volume.get("ProtectionStatus")
        encrypted = status == 1 if status in (0, 1) else None
        filesystems.append(
            {"mountpoint": clip(letter or "?"), "device": clip(letter or "?"), "fstype": "ntfs",
             "encrypted": encrypted}
        )  # fmt: skip
        is_system = volume.get("VolumeType") == 0 or (
            isinstance(system_drive, str) and letter is not None and letter.upper() == system_drive.upper()
        )
        if is_system:
            root = encrypted
    detail = None if filesystems else "Win32_EncryptableVolume listed no volume (BitLocker not available)"
    return {
        "root_encrypted": root if filesystems else None,
        "filesystems": filesystems[:512],
        "detail": detail,
    }


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`DiskEncryption` on Windows."""
    volumes = host.powershell("bitlocker")
    return parse_bitlocker(volumes, host.powershell_value("systemdrive"))


PLUGIN = FactFamily(name="disk_encryption", linux=read_linux, windows=read_windows)
