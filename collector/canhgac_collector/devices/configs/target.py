"""How to reach one device over SSH (secrets in clear: never log it)."""

from __future__ import annotations

from dataclasses import dataclass, field

PLATFORMS = (
    "cisco_ios",
    "cisco_xe",
    "huawei",
    "hp_comware",
    "juniper_junos",
    "tplink_jetstream",
    "mikrotik_routeros",
    "ruijie_os",
)  # netmiko device_type names we pull from

AUDIT_PLATFORM = {  # netmiko device_type → the auditor's parser (rules/canhgac_rules/configs/)
    "cisco_ios": "cisco_ios",
    "cisco_xe": "cisco_ios",
    "huawei": "huawei_vrp",
    "hp_comware": "hp_comware",
    "juniper_junos": "juniper_junos",
    "tplink_jetstream": "tplink_jetstream",
    "mikrotik_routeros": "mikrotik_routeros",
    "ruijie_os": "ruijie_rgos",
}


@dataclass(frozen=True)
class SshTarget:
    name: str  # the device's name, for messages
    host: str
    platform: str  # one of PLATFORMS
    username: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    key_file: str | None = None  # a private key file (the CLI)
    key_text: str | None = field(default=None, repr=False)  # a private key held in the store
    enable_secret: str | None = field(default=None, repr=False)
    pinned_host_key: str | None = None  # "ssh-ed25519 AAAA…"; None: first use, the key is learned
    timeout_s: float = 30.0
