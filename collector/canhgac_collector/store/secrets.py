"""Encryption at rest of device secrets (SNMP communities, v3 keys) with a Fernet key kept in a file.

Where the key lives, in order:
1. `snmp.secrets_key_file` in the server config (or `CANHGAC_SNMP__SECRETS_KEY_FILE`);
2. with a SQLite store: beside the database file, as `<database file>.secrets.key` — the key travels
   with the data it protects, and a backup of the directory restores both;
3. otherwise (PostgreSQL): `$STATE_DIRECTORY/secrets.key` (systemd's StateDirectory=) or
   `~/.local/state/canhgac/secrets.key` — never the database itself, so a database dump alone does not
   reveal the secrets.
A missing key file is created (mode 0600, directory 0700 when we create it). A key file that cannot be
read, or a key that does not decrypt what the database holds, is a `SecretsError` naming the file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url

from canhgac_agent.snmp.types import Credentials
from canhgac_collector.config import ServerConfig, SnmpCredentialsConfig

log = logging.getLogger("canhgac.secrets")


class SecretsError(Exception):
    """The key file is unusable, or the stored secrets were encrypted with another key."""


def default_key_path(config: ServerConfig) -> Path:
    """Where the Fernet key is for this configuration (see the module docstring)."""
    if config.snmp.secrets_key_file:
        return Path(config.snmp.secrets_key_file).expanduser()
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".secrets.key")
    state_dir = os.environ.get("STATE_DIRECTORY")
    if state_dir:
        return Path(state_dir.split(":")[0]) / "secrets.key"
    return Path.home() / ".local" / "state" / "canhgac" / "secrets.key"


def _load_or_create_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SecretsError(f"cannot read the secrets key file {path}: {exc.strerror}") from exc
    else:
        try:
            Fernet(key)
        except ValueError as exc:
            raise SecretsError(f"the secrets key file {path} does not hold a Fernet key") from exc
        return key
    key = Fernet.generate_key()
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        # O_EXCL: two processes starting at once must not each write their own key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_or_create_key(path)
    except OSError as exc:
        raise SecretsError(f"cannot create the secrets key file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    log.info("created device secrets key file path=%s", path)
    return key


class SecretBox:
    """Encrypts and decrypts device credentials. The key file is read (or created) on first use, so
    a server without devices never needs one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fernet: Fernet | None = None

    @classmethod
    def for_config(cls, config: ServerConfig) -> SecretBox:
        return cls(default_key_path(config))

    def _f(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(_load_or_create_key(self.path))
        return self._fernet

    def encrypt(self, data: dict[str, Any]) -> bytes:
        return self._f().encrypt(orjson.dumps(data))

    def decrypt(self, token: bytes) -> dict[str, Any]:
        try:
            plain = self._f().decrypt(token)
        except InvalidToken as exc:
            raise SecretsError(
                f"device secrets do not decrypt with the key in {self.path}: "
                "was the key file replaced or taken from another installation?"
            ) from exc
        data: dict[str, Any] = orjson.loads(plain)
        return data

    def encrypt_snmp(self, snmp: SnmpCredentialsConfig) -> bytes:
        """One device's SNMP credentials (from the config or an API body) → ciphertext."""
        data: dict[str, Any] = {"version": snmp.version}
        if snmp.community is not None:
            data["community"] = snmp.community.get_secret_value()
        if snmp.v3 is not None:
            v3 = snmp.v3
            data["v3"] = {
                "user": v3.user,
                "auth_protocol": v3.auth_protocol,
                "auth_key": v3.auth_key.get_secret_value() if v3.auth_key else "",
                "priv_protocol": v3.priv_protocol,
                "priv_key": v3.priv_key.get_secret_value() if v3.priv_key else "",
                "context_name": v3.context_name,
            }
        return self.encrypt(data)

    def credentials(self, token: bytes) -> Credentials:
        """Ciphertext → the poller's plain `Credentials`."""
        data = self.decrypt(token)
        version = data["version"]
        if version == "3":
            v3 = data["v3"]
            return Credentials(
                version="3",
                user=v3["user"].encode(),
                auth_protocol=v3["auth_protocol"],
                auth_key=v3["auth_key"].encode(),
                priv_protocol=v3["priv_protocol"],
                priv_key=v3["priv_key"].encode(),
                context_name=v3.get("context_name", "").encode(),
            )
        return Credentials(version=version, community=data.get("community", "").encode())
