"""Config backup settings in server.yaml: a device's `ssh:` block under `devices:`, and the top-level
`device_configs:` section (history retention).

Kept apart from `config.py` (which imports it) so the configs package owns its settings; it imports only
pydantic and the platform type (`target.Platform`), so there is no import cycle. Secrets are
`SecretStr`: the config's placeholder check refuses `change-me` values here as everywhere else, and they
never reach a log line.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from canhgac_collector.devices.configs.target import Platform  # the one list of pulled platforms

SSH_USERNAME_RE = r"^[A-Za-z0-9_][A-Za-z0-9_.@\\-]{0,63}$"
MAX_SECRET_CHARS = 256
MAX_PRIVATE_KEY_CHARS = 16_384  # an OpenSSH RSA-8192 private key is ~6.5 kB


class DeviceSshConfig(BaseModel):
    """How to log in to one device over SSH to read its running configuration. `platform` is the
    netmiko device type; absent, it is guessed from what the device tells SNMP when that is unambiguous.
    A private key is given as its text (`private_key`) or as a file on this server (`private_key_file`)."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    username: Annotated[str, Field(pattern=SSH_USERNAME_RE)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_CHARS)] | None = None
    private_key: Annotated[SecretStr, Field(min_length=1, max_length=MAX_PRIVATE_KEY_CHARS)] | None = None
    private_key_file: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    enable_secret: Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_CHARS)] | None = None

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> DeviceSshConfig:
        if self.private_key is not None and self.private_key_file is not None:
            raise ValueError("ssh: give private_key or private_key_file, not both")
        if self.password is None and self.private_key is None and self.private_key_file is None:
            raise ValueError("ssh: needs password, private_key or private_key_file")
        return self


class DeviceConfigsSettings(BaseModel):
    """Scheduled config pulls (devices with an `ssh:` block) and the stored history."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True  # scheduled pulls; `canhgac backup pull` and the history work either way
    pull_interval_h: Annotated[float, Field(gt=0, le=24 * 31)] = 24.0  # each device, this often
    # How often due devices and "pull now" requests are looked for; the first pass after start.
    check_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 60.0
    initial_delay_s: Annotated[float, Field(ge=0, le=3600)] = 30.0
    concurrency: Annotated[int, Field(ge=1, le=64)] = 8  # devices pulled at once (bench/config_pull.py)
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0  # per step of one pull: connect, login, read
    pass_deadline_s: Annotated[float, Field(gt=0, le=86400)] = 1800.0  # a pass gives up on the rest after
    max_per_pass: Annotated[int, Field(ge=1, le=100_000)] = 2000
    # Versions kept per device, newest first; the newest approved version is kept beyond this.
    retention_versions: Annotated[int, Field(ge=1, le=100_000)] = 100
