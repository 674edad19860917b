"""Fixtures for the SNMP client tests: a live net-snmp `snmpd` with v2c and v3 users, and a runner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.types import Credentials, Target
from canhgac_collector.lab.snmpd import Snmpd, SnmpdError, SnmpdUser, snmpd_executable

T = TypeVar("T")

USERS = (
    SnmpdUser("authsha", "SHA", "auth-pass-1"),
    SnmpdUser("privsha", "SHA", "auth-pass-2", "AES", "priv-pass-2"),
    SnmpdUser("privsha256", "SHA-256", "auth-pass-3", "AES", "priv-pass-3"),
    SnmpdUser("privmd5des", "MD5", "auth-pass-4", "DES", "priv-pass-4"),
    SnmpdUser("privsha512", "SHA-512", "auth-pass-5", "AES", "priv-pass-5"),
    SnmpdUser("privaes192", "SHA-256", "auth-pass-6", "AES-192", "priv-pass-6"),
    SnmpdUser("privaes256", "SHA-512", "auth-pass-7", "AES-256", "priv-pass-7"),
)
V3 = {
    "authsha": Credentials("3", user=b"authsha", auth_protocol="sha", auth_key=b"auth-pass-1"),
    "privsha": Credentials(
        "3",
        user=b"privsha",
        auth_protocol="sha",
        auth_key=b"auth-pass-2",
        priv_protocol="aes128",
        priv_key=b"priv-pass-2",
    ),
    "privsha256": Credentials(
        "3",
        user=b"privsha256",
        auth_protocol="sha256",
        auth_key=b"auth-pass-3",
        priv_protocol="aes128",
        priv_key=b"priv-pass-3",
    ),
    "privmd5des": Credentials(
        "3",
        user=b"privmd5des",
        auth_protocol="md5",
        auth_key=b"auth-pass-4",
        priv_protocol="des",
        priv_key=b"priv-pass-4",
    ),
    "privsha512": Credentials(
        "3",
        user=b"privsha512",
        auth_protocol="sha512",
        auth_key=b"auth-pass-5",
        priv_protocol="aes128",
        priv_key=b"priv-pass-5",
    ),
    # AES-192/256 keys extended the Blumenthal way, as net-snmp 5.9 does
    "privaes192": Credentials(
        "3",
        user=b"privaes192",
        auth_protocol="sha256",
        auth_key=b"auth-pass-6",
        priv_protocol="aes192",
        priv_key=b"priv-pass-6",
    ),
    "privaes256": Credentials(
        "3",
        user=b"privaes256",
        auth_protocol="sha512",
        auth_key=b"auth-pass-7",
        priv_protocol="aes256",
        priv_key=b"priv-pass-7",
    ),
}


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """snmpd on a free port of 127.0.0.1 and ::1: community `public`, the USERS above."""
    try:
        snmpd_executable()
    except SnmpdError as exc:
        pytest.fail(str(exc))
    with Snmpd(tmp_path_factory.mktemp("snmpd"), communities=("public",), users=USERS, ipv6=True) as agent:
        yield agent


def target(agent: Snmpd, timeout_s: float = 1.0, retries: int = 1) -> Target:
    return Target(*agent.endpoint, timeout_s=timeout_s, retries=retries)


def run(coro_fn: Callable[[SnmpEngine], Awaitable[T]], timeout_s: float = 60.0) -> T:
    """Run `coro_fn(engine)` with a fresh engine in a fresh event loop, bounded in time."""

    async def main() -> T:
        async with asyncio.timeout(timeout_s), SnmpEngine() as engine:
            return await coro_fn(engine)

    return asyncio.run(main())
