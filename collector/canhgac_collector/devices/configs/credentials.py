"""A device's SSH settings in the store: the columns an `ssh:` block (server.yaml or an API body) sets,
its secrets encrypted with the SNMP secrets' `SecretBox`, and the `SshTarget` a pull needs, with the
platform guessed from SNMP when none was given."""

from __future__ import annotations

import re
from typing import Any

from canhgac_collector.devices.configs.settings import DeviceSshConfig
from canhgac_collector.devices.configs.target import PLATFORMS, SshTarget
from canhgac_collector.store.models import Device
from canhgac_collector.store.secrets import SecretBox

SSH_COLUMNS = ("ssh_platform", "ssh_port", "ssh_username", "ssh_secret_enc")
NO_SSH: dict[str, Any] = dict.fromkeys(SSH_COLUMNS)

# sysDescr words that name one platform whatever the enterprise number says (or when it says nothing).
_DESCR_PLATFORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"IOS[ -]XE", re.IGNORECASE), "cisco_xe"),
    (re.compile(r"Cisco IOS Software|Cisco Internetwork Operating System", re.IGNORECASE), "cisco_ios"),
    (re.compile(r"Versatile Routing Platform|\bVRP\b", re.IGNORECASE), "huawei"),
    (re.compile(r"Comware", re.IGNORECASE), "hp_comware"),
    (re.compile(r"\bJUNOS\b", re.IGNORECASE), "juniper_junos"),
    (re.compile(r"RouterOS", re.IGNORECASE), "mikrotik_routeros"),
    (re.compile(r"JetStream", re.IGNORECASE), "tplink_jetstream"),
    (re.compile(r"Ruijie|RGOS", re.IGNORECASE), "ruijie_os"),
)
# Vendors (from sysObjectID) that run one platform only. Cisco (IOS, IOS-XE, NX-OS, ASA…) and HPE
# (ProCurve or Comware) are told apart by sysDescr alone.
_VENDOR_PLATFORMS = {
    "huawei": "huawei",
    "h3c": "hp_comware",
    "juniper": "juniper_junos",
    "mikrotik": "mikrotik_routeros",
    "tp-link": "tplink_jetstream",
    "ruijie": "ruijie_os",
}


class PlatformUnknownError(ValueError):
    """A device to pull whose platform is neither configured nor told apart by SNMP."""


def ssh_fields(ssh: DeviceSshConfig | None, box: SecretBox) -> dict[str, Any]:
    """The device columns an `ssh:` block sets, secrets encrypted (all None without a block). A key
    file is stored as its path and read by the pull, so replacing the file needs no config change."""
    if ssh is None:
        return dict(NO_SSH)
    secret: dict[str, str] = {}
    for name in ("password", "private_key", "enable_secret"):
        value = getattr(ssh, name)
        if value is not None:
            secret[name] = value.get_secret_value()
    if ssh.private_key_file is not None:
        secret["private_key_file"] = ssh.private_key_file
    return {
        "ssh_platform": ssh.platform,
        "ssh_port": ssh.port,
        "ssh_username": ssh.username,
        "ssh_secret_enc": box.encrypt(secret),
    }


def ssh_secret_flags(device: Device, box: SecretBox) -> dict[str, bool]:
    """Which SSH secrets a device has (for the API: whether, never what)."""
    secret = box.decrypt(device.ssh_secret_enc) if device.ssh_secret_enc else {}
    return {
        "has_password": "password" in secret,
        "has_private_key": "private_key" in secret or "private_key_file" in secret,
        "has_enable_secret": "enable_secret" in secret,
    }


def guess_platform(vendor: str | None, sys_descr: str | None, sys_object_id: str | None = None) -> str | None:
    """The netmiko platform from what the device told SNMP, or None when that is not unambiguous.
    `sys_object_id` is only a fallback for the vendor (the poller stores both)."""
    if vendor is None and sys_object_id:
        from canhgac_agent.snmp.vendors import vendor_from_sysobjectid

        vendor = vendor_from_sysobjectid(sys_object_id)
    found = {platform for pattern, platform in _DESCR_PLATFORMS if sys_descr and pattern.search(sys_descr)}
    if "cisco_xe" in found:
        found.discard("cisco_ios")  # IOS-XE's sysDescr says "Cisco IOS Software [...] IOS-XE"
    by_vendor = _VENDOR_PLATFORMS.get(vendor or "")
    if by_vendor is not None:
        found.add(by_vendor)
    return found.pop() if len(found) == 1 else None


def device_platform(device: Device) -> str | None:
    """The configured platform, else the guessed one, else None ("platform unknown")."""
    if device.ssh_platform:
        return device.ssh_platform
    return guess_platform(device.vendor, device.sys_descr, device.sys_object_id)


def ssh_target_for(device: Device, box: SecretBox) -> SshTarget | None:
    """What a pull of `device` needs, secrets decrypted; None when it has no `ssh:` block. Raises
    PlatformUnknownError when the platform is neither configured nor guessable (an operator must set
    it: record it as a failed pull of kind "usage"), and SecretsError when the secrets do not decrypt."""
    if device.ssh_username is None or device.ssh_secret_enc is None:
        return None
    platform = device_platform(device)
    if platform is None or platform not in PLATFORMS:
        raise PlatformUnknownError(
            f"thiết bị {device.name}: chưa rõ nền tảng / platform unknown: set ssh.platform "
            f"(one of {', '.join(PLATFORMS)})"
        )
    secret = box.decrypt(device.ssh_secret_enc)
    return SshTarget(
        name=device.name,
        host=device.address,
        platform=platform,
        username=device.ssh_username,
        port=device.ssh_port or 22,
        password=secret.get("password"),
        key_file=secret.get("private_key_file"),
        key_text=secret.get("private_key"),
        enable_secret=secret.get("enable_secret"),
        pinned_host_key=device.ssh_host_key,
    )
