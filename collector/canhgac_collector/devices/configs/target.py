"""What a config pull needs (how to reach one device over SSH; secrets in clear: never log it) and
what it gives back (the config, or why not)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Platform = Literal[  # netmiko device_type names we pull from; the config's `ssh.platform` type
    "cisco_ios",
    "cisco_xe",
    "huawei",
    "hp_comware",
    "juniper_junos",
    "tplink_jetstream",
    "mikrotik_routeros",
    "ruijie_os",
]
PLATFORMS: tuple[str, ...] = get_args(Platform)

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


PULL_ERROR_KINDS = (
    "unreachable",
    "timeout",
    "auth",
    "host_key_changed",
    "unknown_prompt",
    "paging",
    "device_error",
    "usage",
)


@dataclass(frozen=True)
class PullResult:
    """One successful pull: exactly the running config, and the host key the device presented."""

    config: str  # no echoed command, prompt or paging artefacts
    host_key: str  # "type base64"
    duration_s: float


class PullError(Exception):
    """Why a pull failed, in one line (Vietnamese / English, never a secret); `kind` is one of
    PULL_ERROR_KINDS. For `host_key_changed`, `presented_host_key` is the new key an operator may accept."""

    def __init__(self, kind: str, message: str, presented_host_key: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.presented_host_key = presented_host_key
