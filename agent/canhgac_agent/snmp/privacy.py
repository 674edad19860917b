"""SNMPv3 privacy ciphers (RFC 3414 DES-CBC, RFC 3826 AES-CFB and its 192/256-bit extension).

The one module of the SNMP code that needs `cryptography`: the server has it, an agent gets it with the
`edge` extra. `usm` imports this module only when a message is encrypted or decrypted, and
`require_privacy` turns a missing package into a clear error when credentials are configured.
"""

from __future__ import annotations

from typing import Any

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError as exc:  # pragma: no cover - exercised by the base-install test
    raise ImportError(
        "SNMPv3 privacy (DES/AES) needs the `cryptography` package: pip install 'canhgac[edge]'"
    ) from exc

try:  # cryptography ≥ 47 keeps CFB (and TripleDES) in "decrepit"; RFC 3826 still needs them
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

# Setting up an AES key costs more than using it on one message, and a poller uses the same few keys for
# days. Bounded.
_CACHE_MAX = 4096
_aes: dict[bytes, algorithms.AES] = {}


def _aes_key(key: bytes) -> algorithms.AES:
    algorithm = _aes.get(key)
    if algorithm is None:
        if len(_aes) >= _CACHE_MAX:
            _aes.clear()
        algorithm = _aes[key] = algorithms.AES(key)
    return algorithm


def _des_cipher(key: bytes, iv: bytes) -> Cipher[Any]:
    try:  # cryptography ≥ 43 keeps TripleDES (a repeated 8-byte key is single DES) in "decrepit"
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # pragma: no cover - older cryptography
        TripleDES = algorithms.TripleDES  # type: ignore[misc]
    return Cipher(TripleDES(key[:8] * 3), modes.CBC(iv))


def des_encrypt(key: bytes, salt: bytes, plain: bytes) -> bytes:
    iv = bytes(a ^ b for a, b in zip(key[8:16], salt, strict=True))
    pad = (-len(plain)) % 8
    des = _des_cipher(key, iv).encryptor()
    return bytes(des.update(plain + bytes(pad)) + des.finalize())


def des_decrypt(key: bytes, salt: bytes, data: bytes) -> bytes:
    iv = bytes(a ^ b for a, b in zip(key[8:16], salt, strict=True))
    des = _des_cipher(key, iv).decryptor()
    return bytes(des.update(data) + des.finalize())


def aes_encrypt(key: bytes, boots: int, etime: int, salt: bytes, plain: bytes) -> bytes:
    iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
    enc = Cipher(_aes_key(key), CFB(iv)).encryptor()
    return bytes(enc.update(plain) + enc.finalize())


def aes_decrypt(key: bytes, boots: int, etime: int, salt: bytes, data: bytes) -> bytes:
    iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
    dec = Cipher(_aes_key(key), CFB(iv)).decryptor()
    return bytes(dec.update(data) + dec.finalize())
