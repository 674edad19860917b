"""The demo's config backups: its generated switches also answer SSH (the SSH device simulator), each
with a running config as its platform prints it; during the run one switch's config is changed on the
device, so the operator sees a new backup version and its `config_changed` alert.

Platforms follow what a province runs: Cisco at the data center's core and distribution, TP-Link
JetStream in the communes' access closets.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from canhgac_collector.lab.sshconfigs import sample_config
from canhgac_collector.lab.sshdevice import SimDevice, SshDeviceLab

DEMO_SSH_USER = "canhgac-backup"
PLATFORM_BY_ROLE = {"core": "cisco_ios", "distribution": "cisco_ios", "router": "cisco_ios"}
ACCESS_PLATFORM = "tplink_jetstream"
CONFIG_LINES = 300
CHANGE_LINE = "ip http server"  # what the demo's change turns on: a finding the next scan reports too


@dataclass
class DemoConfigLab:
    """SSH devices for the demo's switches (name → role); `ssh_block(name)` goes into server.yaml."""

    roles: dict[str, str]
    lab: SshDeviceLab = field(default_factory=SshDeviceLab)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    enable_secret: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    changed: str | None = None

    def start(self) -> DemoConfigLab:
        self.lab.start()
        try:
            for name, role in self.roles.items():
                platform = PLATFORM_BY_ROLE.get(role, ACCESS_PLATFORM)
                self.lab.add(
                    SimDevice(
                        name,
                        platform,
                        sample_config(platform, name, CONFIG_LINES),
                        username=DEMO_SSH_USER,
                        password=self.password,
                        enable_secret=self.enable_secret,
                    )
                )
        except BaseException:
            self.lab.stop()
            raise
        return self

    def stop(self) -> None:
        self.lab.stop()

    def ssh_block(self, name: str) -> dict[str, Any]:
        _host, port = self.lab.endpoint(name)
        return {
            "platform": self.lab.device(name).platform,
            "port": port,
            "username": DEMO_SSH_USER,
            "password": self.password,
            "enable_secret": self.enable_secret,
        }

    def change_one(self) -> str:
        """Turn the plain-HTTP server on in the first access switch (or any switch); returns its name."""
        name = next((n for n, r in self.roles.items() if r not in PLATFORM_BY_ROLE), next(iter(self.roles)))
        config = self.lab.device(name).config
        lines = config.split("\n")
        at = next((i + 1 for i, line in enumerate(lines) if line.startswith("hostname")), 1)
        lines.insert(at, CHANGE_LINE)
        self.lab.set_config(name, "\n".join(lines))
        self.changed = name
        return name
