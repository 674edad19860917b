"""Signed, expiring acknowledge links: `v1.<alert id>.<expiry unix>.<recipient b64>.<HMAC-SHA256 b64>`.

The HMAC key lives in a file like the device secrets key (storage/secrets.py): `alerting.link_key_file`,
else `<database file>.alerts.key` beside a SQLite store, else `$STATE_DIRECTORY/alerts.key` or
`~/.local/state/canhgac/alerts.key`; created with mode 0600 when missing, never stored in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from canhgac_collector.config import ServerConfig


class LinkError(Exception):
    """A link that must be refused; `reason` is expired | invalid."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def default_key_path(config: ServerConfig) -> Path:
    if config.alerting.link_key_file:
        return Path(config.alerting.link_key_file).expanduser()
    if config.snmp.secrets_key_file:  # keep the keys together
        return Path(config.snmp.secrets_key_file).expanduser().with_name("alerts.key")
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".alerts.key")
    state_dir = os.environ.get("STATE_DIRECTORY")
    if state_dir:
        return Path(state_dir.split(":")[0]) / "alerts.key"
    return Path.home() / ".local" / "state" / "canhgac" / "alerts.key"


def load_or_create_key(path: Path) -> bytes:
    """The key in `path` (64 hex digits), created 0600 when missing; an unusable file is a LinkError
    naming it (raised at startup, not at the first click)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise LinkError("invalid", f"cannot read the acknowledge-link key file {path}: {exc}") from exc
    else:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 32:
            raise LinkError("invalid", f"the acknowledge-link key file {path} does not hold 64 hex digits")
        return key
    key = secrets.token_bytes(32)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return load_or_create_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkClaim:
    alert_id: int
    recipient: str
    expires_at: float


class LinkSigner:
    def __init__(self, key: bytes, ttl_s: float) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, alert_id: int, recipient: str, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.ttl_s)
        payload = f"v1.{alert_id}.{expires}.{_b64(recipient.encode())}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float | None = None) -> LinkClaim:
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != "v1":
            raise LinkError("invalid", "not an acknowledge link token")
        payload, mac = ".".join(parts[:4]), parts[4]
        # bytes: compare_digest refuses str with non-ASCII characters (a forged link may hold any)
        if not hmac.compare_digest(self._mac(payload).encode(), mac.encode("utf-8", "replace")):
            raise LinkError("invalid", "the link's signature does not match (altered or from elsewhere)")
        try:
            alert_id, expires = int(parts[1]), int(parts[2])
            recipient = _unb64(parts[3]).decode()
        except (ValueError, UnicodeDecodeError) as exc:
            raise LinkError("invalid", "malformed acknowledge link") from exc
        if (now if now is not None else time.time()) >= expires:
            raise LinkError("expired", "the acknowledge link has expired")
        return LinkClaim(alert_id, recipient, float(expires))
