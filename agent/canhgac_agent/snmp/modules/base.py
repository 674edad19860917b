"""What every MIB module shares: the session it polls through, and value decoding helpers."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from canhgac_agent.snmp.results import DevicePoll
from canhgac_agent.snmp.types import (
    EXCEPTION_TAGS,
    OID,
    Credentials,
    Target,
    Value,
    Varbind,
)


class Engine(Protocol):
    """The part of `client.SnmpEngine` the modules use (kept as a protocol so tests can read it)."""

    async def get(self, target: Target, creds: Credentials, oids: Sequence[OID]) -> list[Varbind]: ...

    async def walk_columns(
        self,
        target: Target,
        creds: Credentials,
        columns: Sequence[OID],
        *,
        max_repetitions: int = 25,
        max_rows: int = 100_000,
    ) -> dict[OID, dict[OID, Value]]: ...


@dataclass(slots=True)
class Session:
    """One device's poll: engine + target + credentials, counting the varbinds the modules received."""

    engine: Engine
    target: Target
    creds: Credentials
    max_repetitions: int = 25
    varbinds: int = 0

    async def get(self, oids: Sequence[OID]) -> dict[OID, Value]:
        """GET `oids`; objects the agent does not have (noSuchObject/Instance) are left out."""
        answer = await self.engine.get(self.target, self.creds, oids)
        self.varbinds += len(answer)
        return {oid: value for oid, tag, value in answer if tag not in EXCEPTION_TAGS}

    async def columns(self, columns: Sequence[OID]) -> dict[OID, dict[OID, Value]]:
        """Walk table columns together: column → {index suffix: value}; absent columns are empty."""
        table = await self.engine.walk_columns(
            self.target, self.creds, columns, max_repetitions=self.max_repetitions
        )
        self.varbinds += sum(len(rows) for rows in table.values())
        return {col: table.get(col, {}) for col in columns}


class Module(NamedTuple):
    """A MIB module: its name (the key in `DevicePoll.module_errors`) and what fills the poll."""

    name: str
    collect: Callable[[Session, DevicePoll], Awaitable[None]]


# -- value decoding ------------------------------------------------------------------------------


def as_int(value: Value) -> int | None:
    return value if isinstance(value, int) else None


def as_text(value: Value) -> str | None:
    """An OCTET STRING as text (UTF-8, else Latin-1), trailing NULs and spaces dropped; None if empty."""
    if not isinstance(value, bytes):
        return None
    raw = value.rstrip(b"\x00")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.strip()
    return text or None


def as_mac(value: Value) -> str | None:
    """6 bytes → aa:bb:cc:dd:ee:ff; other non-empty byte strings as colon-separated hex; else None."""
    if not isinstance(value, bytes) or not value:
        return None
    return ":".join(f"{b:02x}" for b in value)


def mac_from_index(index: OID) -> str | None:
    """A MAC address spelled as six OID sub-identifiers (FDB table indexes)."""
    if len(index) != 6 or any(not 0 <= b <= 255 for b in index):
        return None
    return ":".join(f"{b:02x}" for b in index)


def printable_or_mac(value: Value) -> str | None:
    """Identifiers (LLDP chassis/port ids) that may be text or a binary MAC."""
    if not isinstance(value, bytes) or not value:
        return None
    if len(value) == 6 and not all(32 <= b < 127 for b in value):
        return as_mac(value)
    if all(32 <= b < 127 or b in (9, 10, 13) for b in value.rstrip(b"\x00")):
        return as_text(value)
    return value.hex(":")


def ip_from_bytes(value: Value) -> str | None:
    """IpAddress / InetAddress bytes → dotted or IPv6 text (4 or 16 bytes), else None."""
    if isinstance(value, bytes) and len(value) in (4, 16):
        return str(ipaddress.ip_address(value))
    return None


def ip_from_index(parts: OID) -> str | None:
    """An address in an index: 4 sub-ids (IPv4) or 16 (IPv6), each a byte."""
    if len(parts) in (4, 16) and all(0 <= b <= 255 for b in parts):
        return str(ipaddress.ip_address(bytes(parts)))
    return None


def oid_str(value: Value) -> str | None:
    if isinstance(value, tuple):
        return ".".join(map(str, value))
    return None
