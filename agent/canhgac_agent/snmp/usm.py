"""SNMPv3 User-based Security Model (RFC 3414, RFC 7860, RFC 3826): keys, HMAC, privacy, engine state.

Passwords become keys by the RFC 3414 A.2 1 MB expansion, then are localised to the agent's engine ID
(cached by the client per (engine ID, credentials): the expansion costs milliseconds). Authentication is
HMAC truncated per protocol (RFC 3414: 12 bytes for MD5/SHA-1; RFC 7860: 16/24/32/48 for SHA-224..512).
Privacy: AES-128/192/256 CFB (RFC 3826; 192/256 keys extended the "Blumenthal" way, as net-snmp does) and
DES-CBC (RFC 3414 8.1), both through `cryptography`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from canhgac_agent.snmp.errors import SnmpAuthError, SnmpMalformed
from canhgac_agent.snmp.types import OID, AuthProtocol, Credentials, PrivProtocol

HASHES: dict[str, Callable[..., Any]] = {
    "md5": hashlib.md5,
    "sha": hashlib.sha1,
    "sha224": hashlib.sha224,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
MAC_LENGTH = {"md5": 12, "sha": 12, "sha224": 16, "sha256": 24, "sha384": 32, "sha512": 48}
PRIV_KEY_LENGTH = {"des": 16, "aes128": 16, "aes192": 24, "aes256": 32}  # DES: 8 key + 8 pre-IV

FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
FLAG_REPORTABLE = 0x04

# usmStats counters an agent names in a Report PDU, and what they mean for the caller.
_USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
REPORT_REASONS: dict[OID, str] = {
    (*_USM_STATS, 1, 0): "unsupported security level",
    (*_USM_STATS, 2, 0): "not in time window",
    (*_USM_STATS, 3, 0): "unknown user name",
    (*_USM_STATS, 4, 0): "unknown engine ID",
    (*_USM_STATS, 5, 0): "wrong digest (wrong authentication password?)",
    (*_USM_STATS, 6, 0): "decryption error (wrong privacy password?)",
}
NOT_IN_TIME_WINDOW = (*_USM_STATS, 2, 0)
UNKNOWN_ENGINE_ID = (*_USM_STATS, 4, 0)


def password_to_key(protocol: AuthProtocol, password: bytes) -> bytes:
    """RFC 3414 A.2: hash 1,048,576 bytes of the password repeated."""
    if not password:
        raise ValueError("SNMPv3 password is empty")
    h = HASHES[protocol]()
    total = 1 << 20
    reps = total // len(password) + 1
    h.update((password * reps)[:total])
    return bytes(h.digest())


def localize_key(protocol: AuthProtocol, key: bytes, engine_id: bytes) -> bytes:
    """RFC 3414 A.2.2: Kul = H(Ku || engineID || Ku)."""
    return bytes(HASHES[protocol](key + engine_id + key).digest())


def localized_keys(creds: Credentials, engine_id: bytes) -> tuple[bytes, bytes]:
    """(auth key, priv key) localised to `engine_id`; empty when the level does not use them."""
    return localize_master_keys(creds, master_keys(creds), engine_id)


def master_keys(creds: Credentials) -> tuple[bytes, bytes]:
    """The passwords' (auth, priv) keys before localisation (the costly 1 MB expansion, done once per
    user by a receiver that meets many engines: a trap receiver localises per sender)."""
    if creds.auth_protocol == "none":
        return b"", b""
    auth = password_to_key(creds.auth_protocol, creds.auth_key)
    if creds.priv_protocol == "none":
        return auth, b""
    return auth, password_to_key(creds.auth_protocol, creds.priv_key)


def localize_master_keys(
    creds: Credentials, masters: tuple[bytes, bytes], engine_id: bytes
) -> tuple[bytes, bytes]:
    """`master_keys` localised to `engine_id` (one hash each), the privacy key extended as needed."""
    if creds.auth_protocol == "none":
        return b"", b""
    auth = localize_key(creds.auth_protocol, masters[0], engine_id)
    if creds.priv_protocol == "none":
        return auth, b""
    priv = localize_key(creds.auth_protocol, masters[1], engine_id)
    need = PRIV_KEY_LENGTH[creds.priv_protocol]
    h = HASHES[creds.auth_protocol]
    while len(priv) < need:  # Blumenthal key extension (aes192/aes256 with a short hash)
        priv += h(priv).digest()
    return auth, priv[:need]


def security_flags(creds: Credentials) -> int:
    if creds.auth_protocol == "none":
        return 0
    return FLAG_AUTH | (FLAG_PRIV if creds.priv_protocol != "none" else 0)


# Keyed objects per localised key: setting up an HMAC or an AES key costs more than using it on one
# message, and a poller uses the same few keys for days. Bounded; copies are used, so threads may share.
_CACHE_MAX = 4096
_hmacs: dict[tuple[str, bytes], Any] = {}


def _keyed_hmac(protocol: AuthProtocol, key: bytes) -> Any:
    h = _hmacs.get((protocol, key))
    if h is None:
        if len(_hmacs) >= _CACHE_MAX:
            _hmacs.clear()
        h = _hmacs[(protocol, key)] = hmac.new(key, digestmod=HASHES[protocol])
    return h


def sign(protocol: AuthProtocol, key: bytes, message: bytes) -> bytes:
    """The truncated HMAC of a whole message whose authParams are zeros."""
    h = _keyed_hmac(protocol, key).copy()
    h.update(message)
    return bytes(h.digest()[: MAC_LENGTH[protocol]])


def place_mac(protocol: AuthProtocol, key: bytes, message: bytes, auth_offset: int) -> bytes:
    mac = sign(protocol, key, message)
    return message[:auth_offset] + mac + message[auth_offset + len(mac) :]


def verify(protocol: AuthProtocol, key: bytes, message: bytes, auth_offset: int, mac: bytes) -> bool:
    n = MAC_LENGTH[protocol]
    if len(mac) != n:
        return False
    zeroed = message[:auth_offset] + bytes(n) + message[auth_offset + n :]
    return hmac.compare_digest(sign(protocol, key, zeroed), mac)


_salt = itertools.count(int.from_bytes(os.urandom(7), "big"))  # RFC 3826: a counter from a random start


def _next_salt() -> int:
    return next(_salt) & 0xFFFFFFFFFFFFFFFF


def encrypt(protocol: PrivProtocol, key: bytes, boots: int, etime: int, plain: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, msgPrivacyParameters)."""
    from canhgac_agent.snmp import privacy  # `cryptography`, imported only by a user with privacy

    if protocol == "des":
        salt = boots.to_bytes(4, "big") + (_next_salt() & 0xFFFFFFFF).to_bytes(4, "big")
        return privacy.des_encrypt(key, salt, plain), salt
    salt = _next_salt().to_bytes(8, "big")
    return privacy.aes_encrypt(key, boots, etime, salt, plain), salt


def decrypt(protocol: PrivProtocol, key: bytes, boots: int, etime: int, salt: bytes, data: bytes) -> bytes:
    from canhgac_agent.snmp import privacy

    if len(salt) != 8:
        raise SnmpMalformed(f"msgPrivacyParameters of {len(salt)} bytes (expected 8)")
    if protocol == "des":
        if len(data) % 8:
            raise SnmpMalformed(f"DES ciphertext of {len(data)} bytes is not a multiple of 8")
        return privacy.des_decrypt(key, salt, data)
    return privacy.aes_decrypt(key, boots, etime, salt, data)


@dataclass
class EngineState:
    """What we know of one agent's SNMP engine: its ID, boots and time (to stay in its time window)."""

    engine_id: bytes = b""
    boots: int = 0
    time_at: float = 0.0  # monotonic time when `engine_time` was learned
    engine_time: int = 0
    keys: dict[Credentials, tuple[bytes, bytes]] = field(default_factory=dict)

    def now(self) -> int:
        return min(self.engine_time + int(time.monotonic() - self.time_at), 0x7FFFFFFF)

    def learn(self, engine_id: bytes, boots: int, engine_time: int) -> None:
        if engine_id != self.engine_id:
            self.keys.clear()
        self.engine_id, self.boots, self.engine_time = engine_id, boots, engine_time
        self.time_at = time.monotonic()

    def keys_for(self, creds: Credentials) -> tuple[bytes, bytes]:
        keys = self.keys.get(creds)
        if keys is None:
            keys = self.keys[creds] = localized_keys(creds, self.engine_id)
        return keys


def report_error(oid: OID, device: str) -> SnmpAuthError:
    reason = REPORT_REASONS.get(oid, f"report {'.'.join(map(str, oid))}")
    return SnmpAuthError(f"{device}: SNMPv3 authentication failed: {reason}")


def privacy_missing() -> str | None:
    """None when DES/AES privacy can run here, else why not (the package to install)."""
    try:
        from canhgac_agent.snmp import privacy  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None
