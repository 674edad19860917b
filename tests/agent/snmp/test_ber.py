"""The lean BER codec: round-trips, agrees with pysnmp/pyasn1 both ways, and fails only with SnmpMalformed."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder as pyasn1_decoder  # type: ignore[import-untyped]
from pyasn1.codec.ber import encoder as pyasn1_encoder
from pysnmp.proto import api  # type: ignore[import-untyped]

from canhgac_agent.snmp import ber
from canhgac_agent.snmp.errors import SnmpMalformed
from canhgac_agent.snmp.types import OID, Tag, Value, Varbind

P = api.v2c
MAX32 = 2**32 - 1

arcs = st.one_of(st.integers(0, 127), st.integers(0, 2**32 - 1))
oids: st.SearchStrategy[OID] = st.builds(
    lambda first, second, rest: (first, second, *rest),
    st.integers(0, 2),
    st.integers(0, 39),
    st.lists(arcs, min_size=0, max_size=20),
)
values: st.SearchStrategy[tuple[int, Value]] = st.one_of(
    st.tuples(st.just(Tag.INTEGER), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(Tag.OCTET_STRING), st.binary(max_size=300)),
    st.tuples(st.just(Tag.NULL), st.none()),
    st.tuples(st.just(Tag.OBJECT_IDENTIFIER), oids),
    st.tuples(st.just(Tag.IP_ADDRESS), st.binary(min_size=4, max_size=4)),
    st.tuples(st.sampled_from([Tag.COUNTER32, Tag.GAUGE32, Tag.TIMETICKS]), st.integers(0, MAX32)),
    st.tuples(st.just(Tag.COUNTER64), st.integers(0, 2**64 - 1)),
    st.tuples(st.just(Tag.OPAQUE), st.binary(max_size=20)),
    st.tuples(st.sampled_from([Tag.NO_SUCH_OBJECT, Tag.NO_SUCH_INSTANCE, Tag.END_OF_MIB_VIEW]), st.none()),
)
varbinds: st.SearchStrategy[list[Varbind]] = st.lists(
    st.builds(lambda o, tv: (o, int(tv[0]), tv[1]), oids, values), max_size=30
)
request_ids = st.integers(-(2**31), 2**31 - 1)


def _encode(version: int, community: bytes, request_id: int, vbs: list[Varbind]) -> bytes:
    return ber.encode_message(
        version, community, ber.encode_pdu(ber.RESPONSE, request_id, 0, 0, ber.encode_varbinds(vbs))
    )


@settings(max_examples=300, deadline=None)
@given(varbinds, request_ids, st.binary(max_size=40), st.sampled_from([0, 1]))
def test_round_trip(vbs: list[Varbind], request_id: int, community: bytes, version: int) -> None:
    data = _encode(version, community, request_id, vbs)
    got_version, got_community, pdu = ber.decode_message(data)
    assert (got_version, got_community, pdu.request_id, pdu.varbinds) == (version, community, request_id, vbs)
    assert ber.peek_request_id(data) == (version, request_id)


def _to_pysnmp(tag: int, value: Value) -> Any:
    if tag == Tag.INTEGER:
        return P.Integer(value)
    if tag == Tag.OCTET_STRING:
        return P.OctetString(value)
    if tag == Tag.NULL:
        return P.Null("")
    if tag == Tag.OBJECT_IDENTIFIER:
        return P.ObjectIdentifier(value)
    if tag == Tag.IP_ADDRESS:
        return P.IpAddress(value)
    if tag == Tag.COUNTER32:
        return P.Counter32(value)
    if tag == Tag.GAUGE32:
        return P.Gauge32(value)
    if tag == Tag.TIMETICKS:
        return P.TimeTicks(value)
    if tag == Tag.COUNTER64:
        return P.Counter64(value)
    if tag == Tag.OPAQUE:
        return P.Opaque(value)
    return {Tag.NO_SUCH_OBJECT: P.NoSuchObject, Tag.NO_SUCH_INSTANCE: P.NoSuchInstance}.get(
        Tag(tag), P.EndOfMibView
    )("")


def _from_pysnmp(value: Any) -> tuple[int, Value]:
    tag = value.tagSet[0]
    number = (tag.tagClass | tag.tagFormat) | tag.tagId
    if number in (Tag.NULL, Tag.NO_SUCH_OBJECT, Tag.NO_SUCH_INSTANCE, Tag.END_OF_MIB_VIEW):
        return number, None
    if number == Tag.OBJECT_IDENTIFIER:
        return number, tuple(value)
    if number in (Tag.OCTET_STRING, Tag.IP_ADDRESS, Tag.OPAQUE):
        return number, bytes(value)
    return number, int(value)


def _pysnmp_message(request_id: int, community: bytes, vbs: list[Varbind]) -> bytes:
    pdu = P.ResponsePDU()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, request_id)
    P.apiPDU.set_varbinds(pdu, [(P.ObjectIdentifier(o), _to_pysnmp(t, v)) for o, t, v in vbs])
    msg = P.Message()
    P.apiMessage.set_defaults(msg)
    P.apiMessage.set_community(msg, community)
    P.apiMessage.set_pdu(msg, pdu)
    return bytes(pyasn1_encoder.encode(msg))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(varbinds, request_ids, st.binary(max_size=20))
def test_decodes_what_pysnmp_encodes(vbs: list[Varbind], request_id: int, community: bytes) -> None:
    _, got_community, pdu = ber.decode_message(_pysnmp_message(request_id, community, vbs))
    assert got_community == community
    assert pdu.request_id == request_id
    assert pdu.varbinds == vbs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(varbinds, request_ids, st.binary(max_size=20))
def test_pysnmp_decodes_what_we_encode(vbs: list[Varbind], request_id: int, community: bytes) -> None:
    data = _encode(1, community, request_id, vbs)
    msg, rest = pyasn1_decoder.decode(data, asn1Spec=P.Message())
    assert rest == b""
    assert bytes(P.apiMessage.get_community(msg)) == community
    pdu = P.apiMessage.get_pdu(msg)
    assert int(P.apiPDU.get_request_id(pdu)) == request_id
    got = [(tuple(o), *_from_pysnmp(v)) for o, v in P.apiPDU.get_varbinds(pdu)]
    assert got == vbs
    # and the bytes are the same canonical DER-like encoding pyasn1 produces
    assert data == _pysnmp_message(request_id, community, vbs)


def test_known_encodings() -> None:
    """Hand-checked bytes: negative ints, large sub-ids, Counter64 with the top bit set."""
    assert ber.encode_value(Tag.INTEGER, -1) == b"\x02\x01\xff"
    assert ber.encode_value(Tag.INTEGER, 128) == b"\x02\x02\x00\x80"
    assert ber.encode_value(Tag.COUNTER64, 2**64 - 1) == b"\x46\x09\x00" + b"\xff" * 8
    assert ber.encode_oid_body((1, 3, 6, 1, 4, 1, 2**32 - 1)) == bytes.fromhex("2b06010401") + bytes.fromhex(
        "8fffffff7f"
    )
    assert ber.decode_oid(bytes.fromhex("2b06010401") + bytes.fromhex("8fffffff7f")) == (
        1,
        3,
        6,
        1,
        4,
        1,
        2**32 - 1,
    )
    assert ber.decode_oid(b"\x88\x37\x03") == (2, 999, 3)


def _assert_only_malformed(data: bytes) -> None:
    for decode in (ber.decode_message, ber.peek_request_id, ber.decode_v3_message, ber.decode_scoped_pdu):
        with contextlib.suppress(SnmpMalformed):
            decode(data)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_malformed(data: bytes) -> None:
    _assert_only_malformed(data)


@settings(max_examples=500, deadline=None)
@given(varbinds, st.data())
def test_truncated_and_mutated_messages_raise_only_malformed(vbs: list[Varbind], data: st.DataObject) -> None:
    message = _encode(1, b"public", 1234, vbs)
    cut = data.draw(st.integers(0, len(message) - 1))
    with pytest.raises(SnmpMalformed):
        ber.decode_message(message[:cut])
    mutated = bytearray(message)
    for _ in range(data.draw(st.integers(1, 5))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    _assert_only_malformed(bytes(mutated))


def test_malformed_messages_say_where() -> None:
    message = _encode(1, b"public", 7, [((1, 3, 6, 1), Tag.INTEGER, 5)])
    with pytest.raises(SnmpMalformed, match="truncated"):
        ber.decode_message(message[:-2])
    with pytest.raises(SnmpMalformed, match="expected message SEQUENCE"):
        ber.decode_message(b"\x04\x00")
    with pytest.raises(SnmpMalformed, match="version"):
        ber.decode_message(
            ber.encode_message(3, b"x", ber.encode_pdu(ber.GET, 1, 0, 0, ber.encode_varbinds([])))
        )
