"""SNMPv3 USM: RFC 3414 key vectors, and real exchanges with net-snmp snmpd at every security level."""

from __future__ import annotations

import pytest

from canhgac_agent.snmp import usm
from canhgac_agent.snmp.client import SnmpEngine
from canhgac_agent.snmp.errors import SnmpAuthError
from canhgac_agent.snmp.types import AuthProtocol, Credentials, Tag, Target, Varbind
from canhgac_collector.lab.snmpd import Snmpd
from tests.agent.snmp.conftest import V3, run, target

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2)
RFC_ENGINE_ID = bytes.fromhex("000000000000000000000002")


def test_password_to_key_and_localisation_rfc3414_a3() -> None:
    md5 = usm.password_to_key("md5", b"maplesyrup")
    assert md5.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert usm.localize_key("md5", md5, RFC_ENGINE_ID).hex() == "526f5eed9fcce26f8964c2930787d82b"
    sha = usm.password_to_key("sha", b"maplesyrup")
    assert sha.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert usm.localize_key("sha", sha, RFC_ENGINE_ID).hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_hmac_lengths_rfc7860() -> None:
    key = bytes(64)
    protocols: list[AuthProtocol] = ["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
    assert {p: len(usm.sign(p, key, b"msg")) for p in protocols} == {
        "md5": 12,
        "sha": 12,
        "sha224": 16,
        "sha256": 24,
        "sha384": 32,
        "sha512": 48,
    }


def test_aes_and_des_round_trip() -> None:
    plain = b"0123456789abcdefXYZ"
    for proto, key in (("aes128", bytes(range(16))), ("aes256", bytes(range(32))), ("des", bytes(range(16)))):
        cipher, salt = usm.encrypt(proto, key, 3, 1000, plain)  # type: ignore[arg-type]
        assert cipher[: len(plain)] != plain
        assert usm.decrypt(proto, key, 3, 1000, salt, cipher)[: len(plain)] == plain  # type: ignore[arg-type]


@pytest.mark.parametrize("user", sorted(V3))
def test_v3_get_and_walk_against_snmpd(snmpd: Snmpd, user: str) -> None:
    creds = V3[user]

    async def scenario(engine: SnmpEngine) -> None:
        got = await engine.get(target(snmpd), creds, [SYS_DESCR])
        assert got[0][0] == SYS_DESCR
        assert got[0][1] == Tag.OCTET_STRING
        assert got[0][2]
        rows = await engine.walk(target(snmpd), creds, SYSTEM)
        assert any(oid == (1, 3, 6, 1, 2, 1, 1, 6, 0) and v == b"Canh Gac lab" for oid, _, v in rows)
        again = await engine.walk(target(snmpd), creds, SYSTEM)  # cached engine state + keys
        assert [o for o, _, _ in again] == [o for o, _, _ in rows]
        assert engine.stats.timeouts == 0

    run(scenario)


@pytest.mark.parametrize(
    "creds", [V3["privsha256"], Credentials("2c", community=b"public")], ids=["v3", "v2c"]
)
def test_a_device_on_ipv6_is_polled_like_on_ipv4(snmpd: Snmpd, creds: Credentials) -> None:
    async def scenario(engine: SnmpEngine) -> tuple[list[Varbind], list[Varbind]]:
        over_v4 = await engine.walk(target(snmpd), creds, SYSTEM)
        over_v6 = await engine.walk(Target(*snmpd.endpoint6, timeout_s=1.0, retries=1), creds, SYSTEM)
        return over_v4, over_v6

    over_v4, over_v6 = run(scenario)
    assert len(over_v6) >= 7
    assert [(o, t) for o, t, _ in over_v6] == [(o, t) for o, t, _ in over_v4]


def test_wrong_auth_password_is_an_auth_error_not_a_timeout(snmpd: Snmpd) -> None:
    creds = V3["privsha"]._replace(auth_key=b"not-the-password")

    async def scenario(engine: SnmpEngine) -> None:
        with pytest.raises(SnmpAuthError, match=r"127\.0\.0\.1:\d+: .*wrong digest"):
            await engine.get(target(snmpd, timeout_s=2, retries=0), creds, [SYS_DESCR])
        assert engine.stats.timeouts == 0
        # the engine still serves the right credentials afterwards
        got = await engine.get(target(snmpd), V3["privsha"], [SYS_DESCR])
        assert got[0][2]

    run(scenario)


def test_wrong_priv_password_is_an_auth_error(snmpd: Snmpd) -> None:
    creds = V3["privsha"]._replace(priv_key=b"not-the-privpass")

    async def scenario(engine: SnmpEngine) -> None:
        # snmpd drops what it cannot decrypt; an agent that answered discovery but not the request is
        # reported as an authentication problem, not as "down"
        with pytest.raises(SnmpAuthError, match="privacy"):
            await engine.get(target(snmpd, timeout_s=0.5, retries=1), creds, [SYS_DESCR])

    run(scenario)


def test_unknown_user_is_an_auth_error(snmpd: Snmpd) -> None:
    creds = Credentials("3", user=b"nobody", auth_protocol="sha", auth_key=b"whatever-pass")

    async def scenario(engine: SnmpEngine) -> None:
        with pytest.raises(SnmpAuthError, match="unknown user name"):
            await engine.get(target(snmpd, timeout_s=2, retries=0), creds, [SYS_DESCR])

    run(scenario)


def test_v3_column_walk_matches_v2c(snmpd: Snmpd) -> None:
    columns = [(*IF_TABLE, 1, c) for c in (1, 2, 3, 5, 7, 8)]

    async def scenario(engine: SnmpEngine) -> None:
        v2 = await engine.walk_columns(target(snmpd), Credentials("2c", community=b"public"), columns)
        v3 = await engine.walk_columns(target(snmpd), V3["privsha256"], columns)
        assert v2.keys() == v3.keys()
        assert all(v2[c].keys() == v3[c].keys() and v2[c] for c in columns)
        assert v2[(*IF_TABLE, 1, 2)] == v3[(*IF_TABLE, 1, 2)]

    run(scenario)
