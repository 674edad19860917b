"""Disk encryption: /proc/mounts and dm-crypt through /sys on Linux; BitLocker volumes on Windows."""

from __future__ import annotations

import os
from pathlib import Path

from canhgac_agent.facts import FACTS, collect_from
from canhgac_agent.facts.disk_encryption import parse_bitlocker, parse_proc_mounts
from canhgac_api.schemas.report import DiskEncryption, SecurityFacts
from tests.agent.facts.samples import MOUNTS
from tests.agent.facts.trees import linux_host, write_tree


def _luks_tree(root: Path, *, root_on_luks: bool) -> None:
    """LVM on LUKS for / (dm-1 → dm-0 CRYPT), a plain /boot partition, and /srv on bare LVM."""
    write_tree(root, {"/proc/mounts": MOUNTS})
    (root / "dev/mapper").mkdir(parents=True)
    for link, target in (("vg-root", "../dm-1"), ("data", "../dm-2")):
        os.symlink(target, root / "dev/mapper" / link)
    (root / "dev/sda1").write_text("")
    blocks = root / "sys/class/block"
    write_tree(
        root,
        {
            "/sys/class/block/dm-0/dm/uuid": "CRYPT-LUKS2-3f2a-sda3_crypt\n" if root_on_luks else "LVM-pv\n",
            "/sys/class/block/dm-1/dm/uuid": "LVM-abc\n",
            "/sys/class/block/dm-2/dm/uuid": "LVM-def\n",
        },
    )
    (blocks / "dm-1/slaves/dm-0").mkdir(parents=True)
    (blocks / "dm-0/slaves/sda3").mkdir(parents=True)
    (blocks / "dm-2/slaves/sda4").mkdir(parents=True)
    (blocks / "sda1").mkdir()
    (blocks / "sda3").mkdir()
    (blocks / "sda4").mkdir()


def test_disk_encryption_lvm_on_luks(tmp_path: Path) -> None:
    _luks_tree(tmp_path, root_on_luks=True)
    facts = FACTS["disk_encryption"].linux(linux_host(tmp_path))
    assert facts is not None
    DiskEncryption.model_validate(facts)
    assert facts["root_encrypted"] is True
    by_mount = {f["mountpoint"]: f for f in facts["filesystems"]}
    assert set(by_mount) == {"/", "/boot", "/srv/d l"}  # no proc/tmpfs/squashfs/bind mount
    assert by_mount["/boot"]["encrypted"] is False
    assert by_mount["/srv/d l"]["encrypted"] is False


def test_disk_encryption_plain_lvm_is_not_encrypted(tmp_path: Path) -> None:
    _luks_tree(tmp_path, root_on_luks=False)
    facts = FACTS["disk_encryption"].linux(linux_host(tmp_path))
    assert facts is not None
    assert facts["root_encrypted"] is False


def test_disk_encryption_unknown_device_and_container_root(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/proc/mounts": "/dev/nvme9n9p9 / xfs rw 0 0\n"})
    facts = FACTS["disk_encryption"].linux(linux_host(tmp_path))
    assert facts is not None
    assert facts["root_encrypted"] is None  # not found in /sys: unknown, not "unencrypted"
    assert "unknown" in facts["detail"]
    write_tree(tmp_path, {"/proc/mounts": "overlay / overlay rw 0 0\n\x00garbage\n"})
    facts = FACTS["disk_encryption"].linux(linux_host(tmp_path))
    assert facts is not None
    assert facts["root_encrypted"] is None
    assert facts["filesystems"] == []


def test_parse_proc_mounts_garbage() -> None:
    assert parse_proc_mounts("\x00\n/dev/x\n\n") == []


def test_missing_proc_mounts_fails_that_fact_alone(tmp_path: Path) -> None:
    facts, errors = collect_from(linux_host(tmp_path))
    SecurityFacts.model_validate(facts)
    assert facts["disk_encryption"] is None
    assert "security.disk_encryption" in [e["collector"] for e in errors]
    assert facts["autologin"] == {"enabled": False, "entries": []}


def test_windows_bitlocker() -> None:
    volumes = [
        {"DriveLetter": "C:", "ProtectionStatus": 1, "VolumeType": 0},
        {"DriveLetter": "D:", "ProtectionStatus": 0, "VolumeType": 1},
    ]
    facts = parse_bitlocker(volumes, "C:")
    DiskEncryption.model_validate(facts)
    assert facts["root_encrypted"] is True
    assert parse_bitlocker([{**volumes[0], "ProtectionStatus": 0}], "C:")["root_encrypted"] is False
    assert parse_bitlocker([{**volumes[0], "ProtectionStatus": 2}], "C:")["root_encrypted"] is None  # locked
    assert parse_bitlocker(None, None)["root_encrypted"] is None
