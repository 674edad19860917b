"""Values shared by the SNMP codec, client, MIB modules and poller.

Varbinds stay plain tuples on the hot path: `(oid, tag, value)` where `oid` is a tuple of ints, `tag` the
BER type byte and `value` a Python int (INTEGER, Counter32/64, Gauge32, TimeTicks), bytes (OCTET STRING,
Opaque, IpAddress as 4 bytes), an OID tuple, or None (NULL and the v2 exceptions noSuchObject,
noSuchInstance, endOfMibView — told apart by `tag`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, NamedTuple

OID = tuple[int, ...]
Value = int | bytes | OID | None
Varbind = tuple[OID, int, Value]


class Tag(IntEnum):
    INTEGER = 0x02
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    IP_ADDRESS = 0x40
    COUNTER32 = 0x41
    GAUGE32 = 0x42
    TIMETICKS = 0x43
    OPAQUE = 0x44
    COUNTER64 = 0x46
    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


EXCEPTION_TAGS = frozenset({Tag.NO_SUCH_OBJECT, Tag.NO_SUCH_INSTANCE, Tag.END_OF_MIB_VIEW})

AuthProtocol = Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["none", "des", "aes128", "aes192", "aes256"]


class Credentials(NamedTuple):
    """Plain-text credentials for one session (decrypted just before use, never logged)."""

    version: Literal["1", "2c", "3"]
    community: bytes = b""
    user: bytes = b""
    auth_protocol: AuthProtocol = "none"
    auth_key: bytes = b""
    priv_protocol: PrivProtocol = "none"
    priv_key: bytes = b""
    context_name: bytes = b""

    def __repr__(self) -> str:  # secrets never reach a log line
        return (
            f"Credentials(version={self.version!r}, user={self.user!r}, "
            f"auth={self.auth_protocol}, priv={self.priv_protocol})"
        )


class Target(NamedTuple):
    host: str
    port: int = 161
    timeout_s: float = 2.0
    retries: int = 1


def parse_oid(text: str) -> OID:
    """'1.3.6.1.2.1' or '.1.3.6.1.2.1' → (1, 3, 6, 1, 2, 1)."""
    return tuple(int(part) for part in text.strip().lstrip(".").split("."))


def format_oid(oid: OID) -> str:
    return ".".join(map(str, oid))


class DeviceTarget(NamedTuple):
    """One device as the scheduler sees it: storage builds these (secrets decrypted), the poller uses them."""

    name: str
    site: str
    target: Target
    credentials: Credentials
    interval_s: float = 60.0
