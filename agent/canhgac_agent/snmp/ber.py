"""A lean BER codec for SNMP messages: v1/v2c messages and SNMPv3 message envelopes / scoped PDUs.

Why not pyasn1: its generic codec costs ~200-400 µs of CPU per varbind, which cannot poll a province every
minute. This codec knows only SNMP's few shapes, slices `bytes` directly and keeps varbinds as plain
`(oid, tag, value)` tuples (types.py). Every decoder entry point raises `SnmpMalformed` and nothing else on
bad input (fuzzed in tests/agent/snmp/test_ber.py); offsets in messages say where it broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from canhgac_agent.snmp.errors import SnmpMalformed
from canhgac_agent.snmp.types import OID, Value, Varbind

# PDU tags (context-specific, constructed)
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
TRAP_V1 = 0xA4
GETBULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8
PDU_TAGS = frozenset({GET, GETNEXT, RESPONSE, SET, GETBULK, INFORM, TRAP_V2, REPORT})

SEQUENCE = 0x30
_UNSIGNED_TAGS = frozenset({0x41, 0x42, 0x43, 0x46, 0x47})  # Counter32, Gauge32, TimeTicks, Counter64, UInt32
_NULL_TAGS = frozenset({0x05, 0x80, 0x81, 0x82})

ERROR_STATUS_NAMES = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)


def error_status_name(status: int) -> str:
    return ERROR_STATUS_NAMES[status] if 0 <= status < len(ERROR_STATUS_NAMES) else f"error({status})"


class Pdu(NamedTuple):
    """A decoded PDU. For GETBULK, `error_status`/`error_index` hold non-repeaters/max-repetitions."""

    tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[Varbind]


class V3Message(NamedTuple):
    """An SNMPv3 message envelope; `data` is the scopedPDU (plain) or the encryptedPDU's bytes."""

    msg_id: int
    max_size: int
    flags: int
    security_model: int
    engine_id: bytes
    engine_boots: int
    engine_time: int
    user: bytes
    auth_params: bytes
    priv_params: bytes
    data: bytes
    auth_offset: int  # offset of authParams' value inside the whole message (-1 if absent), for HMAC checks


# --- encoding --------------------------------------------------------------------------------------


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    return bytes((tag,)) + encode_length(n) + body


def encode_int_body(value: int) -> bytes:
    """Two's complement, minimal length."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def encode_unsigned_body(value: int) -> bytes:
    """Unsigned, with a leading zero byte when the top bit is set (so it never reads as negative)."""
    if value < 0:
        raise ValueError(f"unsigned value {value} < 0")
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def encode_int(value: int) -> bytes:
    return tlv(0x02, encode_int_body(value))


def encode_oid_body(oid: OID) -> bytes:
    if len(oid) < 2:
        raise ValueError(f"OID {oid} needs at least two sub-identifiers")
    first, second = oid[0], oid[1]
    if 0 <= first < 2 and 0 <= second < 40:  # fast path: every arc < 128 is one byte
        try:
            body = bytes((first * 40 + second, *oid[2:]))
        except (ValueError, TypeError):
            body = b"\x80"
        if body.isascii():
            return body
    return _encode_oid_slow(oid)


def _encode_oid_slow(oid: OID) -> bytes:
    first, second = oid[0], oid[1]
    if first > 2 or (first < 2 and second >= 40) or second < 0:
        raise ValueError(f"OID {oid} has an invalid first arc")
    out = bytearray()
    for arc in (first * 40 + second, *oid[2:]):
        if arc < 0x80:
            if arc < 0:
                raise ValueError(f"negative sub-identifier in {oid}")
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def encode_value(tag: int, value: Value) -> bytes:
    """One varbind value as TLV (for requests, tests and the misbehaving test agents)."""
    if value is None:
        return bytes((tag, 0))
    if isinstance(value, bytes):
        return tlv(tag, value)
    if isinstance(value, tuple):
        return tlv(tag, encode_oid_body(value))
    if tag == 0x02:
        return tlv(tag, encode_int_body(value))
    return tlv(tag, encode_unsigned_body(value))


_NULL_VALUE = b"\x05\x00"


def encode_varbinds(varbinds: Sequence[Varbind]) -> bytes:
    body = b"".join(tlv(SEQUENCE, tlv(0x06, encode_oid_body(o)) + encode_value(t, v)) for o, t, v in varbinds)
    return tlv(SEQUENCE, body)


# A poller asks for the same OIDs every cycle (a walk's next request names the last OID of each column),
# and decodes the same OIDs in every reply: bounded caches skip re-encoding them (~1.2 µs each; ~4 µs
# when an arc is ≥ 128, as ifIndex 10101 on Cisco) and the slow decode of multi-byte arcs.
_CACHE_MAX = 1 << 16
_null_varbind_cache: dict[OID, bytes] = {}
_oid_cache: dict[bytes, OID] = {}


def _null_varbind(o: OID) -> bytes:
    body = encode_oid_body(o)
    n = len(body)
    if n < 124:
        encoded = bytes((SEQUENCE, n + 4, 0x06, n)) + body + _NULL_VALUE
    else:
        encoded = tlv(SEQUENCE, tlv(0x06, body) + _NULL_VALUE)
    if len(_null_varbind_cache) >= _CACHE_MAX:
        _null_varbind_cache.clear()
    _null_varbind_cache[o] = encoded
    return encoded


def encode_null_varbinds(oids: Sequence[OID]) -> bytes:
    """The request varbind list: each OID with a NULL value."""
    cache = _null_varbind_cache
    parts = [cache.get(o) or _null_varbind(o) for o in oids]
    return tlv(SEQUENCE, b"".join(parts))


def _decode_oid_cached(body: bytes) -> OID:
    oid = _oid_cache.get(body)
    if oid is None:
        oid = decode_oid(body)
        if len(_oid_cache) >= _CACHE_MAX:
            _oid_cache.clear()
        _oid_cache[body] = oid
    return oid


def encode_pdu(tag: int, request_id: int, error_status: int, error_index: int, varbinds: bytes) -> bytes:
    """`varbinds` is an already encoded varbind list (encode_varbinds / encode_null_varbinds)."""
    return tlv(tag, encode_int(request_id) + encode_int(error_status) + encode_int(error_index) + varbinds)


def encode_message(version: int, community: bytes, pdu: bytes) -> bytes:
    """A v1 (version 0) or v2c (version 1) message around an encoded PDU."""
    return tlv(SEQUENCE, encode_int(version) + tlv(0x04, community) + pdu)


def encode_scoped_pdu(context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    return tlv(SEQUENCE, tlv(0x04, context_engine_id) + tlv(0x04, context_name) + pdu)


def encode_v3_message(
    msg_id: int,
    max_size: int,
    flags: int,
    engine_id: bytes,
    engine_boots: int,
    engine_time: int,
    user: bytes,
    auth_params: bytes,
    priv_params: bytes,
    data: bytes,
    encrypted: bool,
) -> tuple[bytes, int]:
    """An SNMPv3 message (USM). `data` is the scopedPDU, or the ciphertext when `encrypted`.

    Returns the message and the offset of authParams' value, where the HMAC goes once computed.
    """
    global_data = tlv(
        SEQUENCE, encode_int(msg_id) + encode_int(max_size) + tlv(0x04, bytes((flags,))) + encode_int(3)
    )
    usm_head = tlv(0x04, engine_id) + encode_int(engine_boots) + encode_int(engine_time) + tlv(0x04, user)
    usm_tail = tlv(0x04, priv_params)
    auth_tlv = tlv(0x04, auth_params)
    usm = tlv(SEQUENCE, usm_head + auth_tlv + usm_tail)
    sec = tlv(0x04, usm)
    payload = tlv(0x04, data) if encrypted else data
    body = encode_int(3) + global_data + sec + payload
    msg = tlv(SEQUENCE, body)
    # authParams' value sits right before usm_tail inside `sec`; compute its offset from the end.
    auth_offset = len(msg) - len(payload) - len(usm_tail) - len(auth_params)
    return msg, auth_offset


# --- decoding --------------------------------------------------------------------------------------


def _length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(length, offset of the value) of the TLV whose length byte is at `pos`; checks it fits in `end`."""
    if pos >= end:
        raise SnmpMalformed(f"truncated: length missing at offset {pos}")
    n = data[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise SnmpMalformed(f"unsupported BER length form 0x{n:02x} at offset {pos - 1}")
        if pos + k > end:
            raise SnmpMalformed(f"truncated: length bytes at offset {pos}")
        n = int.from_bytes(data[pos : pos + k], "big")
        pos += k
    if pos + n > end:
        raise SnmpMalformed(f"truncated: value of {n} bytes at offset {pos} runs past {end}")
    return n, pos


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """(value start, value end) of the TLV at `pos`, which must have `tag`."""
    if pos >= end:
        raise SnmpMalformed(f"truncated: {what} missing at offset {pos}")
    if data[pos] != tag:
        raise SnmpMalformed(f"expected {what} (tag 0x{tag:02x}) at offset {pos}, got 0x{data[pos]:02x}")
    n, start = _length(data, pos + 1, end)
    return start, start + n


def _int_at(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _expect(data, pos, end, 0x02, what)
    if start == stop:
        raise SnmpMalformed(f"empty INTEGER ({what}) at offset {pos}")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def _octets_at(data: bytes, pos: int, end: int, what: str) -> tuple[bytes, int, int]:
    start, stop = _expect(data, pos, end, 0x04, what)
    return data[start:stop], stop, start


def decode_oid(body: bytes) -> OID:
    """An OBJECT IDENTIFIER's value bytes → tuple of ints."""
    if not body:
        raise SnmpMalformed("empty OBJECT IDENTIFIER")
    if body.isascii():  # every sub-identifier < 128: the common case, done in C
        first = body[0]
        head = (first // 40, first % 40) if first < 80 else (2, first - 80)
        return head + tuple(body[1:])
    if body[-1] & 0x80:
        raise SnmpMalformed("truncated OBJECT IDENTIFIER sub-identifier")
    subs: list[int] = []
    acc = 0
    for b in body:
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            subs.append(acc)
            acc = 0
    first = subs[0]
    if first < 80:
        return (first // 40, first % 40, *subs[1:])
    return (2, first - 80, *subs[1:])


_HEADS: tuple[OID, ...] = tuple((b // 40, b % 40) if b < 80 else (2, b - 80) for b in range(128))


def _decode_varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    """The varbind list SEQUENCE at `pos` (hot path: inlined short-form TLV parsing).

    Bounds: every varbind must end inside the list and its value must end exactly at the varbind's end,
    so a bogus inner length shows up as a mismatch; reads past the buffer raise IndexError, which the
    public entry points turn into SnmpMalformed.
    """
    start, stop = _expect(data, pos, end, SEQUENCE, "varbind list")
    if stop != end:
        raise SnmpMalformed(f"{end - stop} trailing bytes after the varbind list at offset {stop}")
    out: list[Varbind] = []
    append = out.append
    from_bytes = int.from_bytes
    heads = _HEADS
    unsigned = _UNSIGNED_TAGS
    pos = start
    while pos < stop:
        if data[pos] != SEQUENCE:
            raise SnmpMalformed(f"expected varbind SEQUENCE at offset {pos}, got 0x{data[pos]:02x}")
        n = data[pos + 1]
        if n < 0x80:
            vb_end = pos + 2 + n
            o_tag = pos + 2
        else:
            n, o_tag = _length(data, pos + 1, stop)
            vb_end = o_tag + n
        if vb_end > stop:
            raise SnmpMalformed(f"truncated varbind at offset {pos}")
        if data[o_tag] != 0x06:
            raise SnmpMalformed(f"expected OBJECT IDENTIFIER at offset {o_tag}")
        n = data[o_tag + 1]
        if n < 0x80:
            o_start = o_tag + 2
        else:
            n, o_start = _length(data, o_tag + 1, vb_end)
        o_end = o_start + n
        ob = data[o_start:o_end]
        if ob.isascii() and n:
            oid: OID = heads[ob[0]] + tuple(ob[1:])
        else:
            oid = _decode_oid_cached(ob)
        tag = data[o_end]
        n = data[o_end + 1]
        if n < 0x80:
            v_start = o_end + 2
        else:
            n, v_start = _length(data, o_end + 1, vb_end)
        v_end = v_start + n
        if v_end != vb_end:
            raise SnmpMalformed(f"varbind at offset {pos}: value length does not match the varbind length")
        value: Value
        if tag in unsigned:
            if not n:
                raise SnmpMalformed(f"empty integer value at offset {o_end}")
            value = from_bytes(data[v_start:v_end], "big")
        elif tag == 0x04:
            value = data[v_start:v_end]
        elif tag == 0x02:
            if not n:
                raise SnmpMalformed(f"empty INTEGER value at offset {o_end}")
            value = from_bytes(data[v_start:v_end], "big", signed=True)
        elif tag in _NULL_TAGS:
            if n:
                raise SnmpMalformed(f"NULL/exception value with {n} content bytes at offset {o_end}")
            value = None
        elif tag == 0x06:
            value = decode_oid(data[v_start:v_end])
        elif tag & 0x20:
            raise SnmpMalformed(f"constructed value (tag 0x{tag:02x}) in varbind at offset {o_end}")
        else:  # IpAddress, Opaque and other primitive application types stay raw bytes
            value = data[v_start:v_end]
        append((oid, tag, value))
        pos = vb_end
    return out


def decode_pdu(data: bytes, pos: int = 0, end: int | None = None) -> Pdu:
    """The PDU TLV at `pos` (also a v3 scopedPDU's PDU)."""
    try:
        if end is None:
            end = len(data)
        if pos >= end:
            raise SnmpMalformed(f"truncated: PDU missing at offset {pos}")
        tag = data[pos]
        if tag not in PDU_TAGS:
            raise SnmpMalformed(f"unexpected PDU type 0x{tag:02x} at offset {pos}")
        n, start = _length(data, pos + 1, end)
        stop = start + n
        request_id, p = _int_at(data, start, stop, "request-id")
        error_status, p = _int_at(data, p, stop, "error-status")
        error_index, p = _int_at(data, p, stop, "error-index")
        varbinds = _decode_varbinds(data, p, stop)
        return Pdu(tag, request_id, error_status, error_index, varbinds)
    except SnmpMalformed:
        raise
    except Exception as exc:  # a bounds slip must never escape as IndexError & co
        raise SnmpMalformed(f"undecodable PDU: {type(exc).__name__}: {exc}") from None


def decode_message(data: bytes) -> tuple[int, bytes, Pdu]:
    """A v1/v2c message → (version, community, pdu)."""
    try:
        start, stop = _expect(data, 0, len(data), SEQUENCE, "message SEQUENCE")
        version, p = _int_at(data, start, stop, "version")
        if version not in (0, 1):
            raise SnmpMalformed(f"not a v1/v2c message (version field {version})")
        community, p, _ = _octets_at(data, p, stop, "community")
        return version, community, decode_pdu(data, p, stop)
    except SnmpMalformed:
        raise
    except Exception as exc:
        raise SnmpMalformed(f"undecodable message: {type(exc).__name__}: {exc}") from None


def peek_request_id(data: bytes) -> tuple[int, int]:
    """(version, request-id) of a message without decoding the varbinds; for v3 the msgID.

    Used to demultiplex replies on a shared socket.
    """
    try:
        start, stop = _expect(data, 0, len(data), SEQUENCE, "message SEQUENCE")
        version, p = _int_at(data, start, stop, "version")
        if version == 3:
            g_start, g_stop = _expect(data, p, stop, SEQUENCE, "msgGlobalData")
            msg_id, _ = _int_at(data, g_start, g_stop, "msgID")
            return version, msg_id
        _, p, _ = _octets_at(data, p, stop, "community")
        if p >= stop or data[p] not in PDU_TAGS:
            raise SnmpMalformed(f"expected a PDU at offset {p}")
        _, pdu_start = _length(data, p + 1, stop)
        request_id, _ = _int_at(data, pdu_start, stop, "request-id")
        return version, request_id
    except SnmpMalformed:
        raise
    except Exception as exc:
        raise SnmpMalformed(f"undecodable message: {type(exc).__name__}: {exc}") from None


def decode_v3_message(data: bytes) -> V3Message:
    """An SNMPv3 message envelope with USM security parameters."""
    try:
        start, stop = _expect(data, 0, len(data), SEQUENCE, "message SEQUENCE")
        version, p = _int_at(data, start, stop, "version")
        if version != 3:
            raise SnmpMalformed(f"not a v3 message (version field {version})")
        g_start, p = _expect(data, p, stop, SEQUENCE, "msgGlobalData")
        msg_id, q = _int_at(data, g_start, p, "msgID")
        max_size, q = _int_at(data, q, p, "msgMaxSize")
        flag_bytes, q, _ = _octets_at(data, q, p, "msgFlags")
        if len(flag_bytes) != 1:
            raise SnmpMalformed(f"msgFlags of {len(flag_bytes)} bytes")
        model, q = _int_at(data, q, p, "msgSecurityModel")
        s_start, p = _expect(data, p, stop, 0x04, "msgSecurityParameters")
        u_start, u_stop = _expect(data, s_start, p, SEQUENCE, "UsmSecurityParameters")
        engine_id, q, _ = _octets_at(data, u_start, u_stop, "msgAuthoritativeEngineID")
        boots, q = _int_at(data, q, u_stop, "msgAuthoritativeEngineBoots")
        etime, q = _int_at(data, q, u_stop, "msgAuthoritativeEngineTime")
        user, q, _ = _octets_at(data, q, u_stop, "msgUserName")
        auth_params, q, auth_offset = _octets_at(data, q, u_stop, "msgAuthenticationParameters")
        priv_params, q, _ = _octets_at(data, q, u_stop, "msgPrivacyParameters")
        if p >= stop:
            raise SnmpMalformed("truncated: msgData missing")
        if data[p] == 0x04:  # encryptedPDU
            d_start, d_stop = _expect(data, p, stop, 0x04, "encryptedPDU")
        else:
            d_start = p
            _, d_stop = _expect(data, p, stop, SEQUENCE, "scopedPDU")
        if d_stop != stop:
            raise SnmpMalformed(f"{stop - d_stop} trailing bytes after msgData")
        return V3Message(
            msg_id,
            max_size,
            flag_bytes[0],
            model,
            engine_id,
            boots,
            etime,
            user,
            auth_params,
            priv_params,
            data[d_start:d_stop],
            auth_offset if auth_params else -1,
        )
    except SnmpMalformed:
        raise
    except Exception as exc:
        raise SnmpMalformed(f"undecodable v3 message: {type(exc).__name__}: {exc}") from None


def decode_scoped_pdu(data: bytes) -> tuple[bytes, bytes, Pdu]:
    """A (decrypted) scopedPDU → (contextEngineID, contextName, pdu); DES padding may follow it."""
    try:
        start, stop = _expect(data, 0, len(data), SEQUENCE, "scopedPDU")
        engine_id, p, _ = _octets_at(data, start, stop, "contextEngineID")
        name, p, _ = _octets_at(data, p, stop, "contextName")
        return engine_id, name, decode_pdu(data, p, stop)
    except SnmpMalformed:
        raise
    except Exception as exc:
        raise SnmpMalformed(f"undecodable scopedPDU: {type(exc).__name__}: {exc}") from None


class TrapV1(NamedTuple):
    """A decoded SNMPv1 Trap-PDU (RFC 1157): which trap, from which agent, and its varbinds."""

    enterprise: OID
    agent_addr: bytes  # the NetworkAddress field (4 bytes); may differ from the datagram's source
    generic_trap: int
    specific_trap: int
    time_stamp: int  # the sender's sysUpTime, hundredths of a second
    varbinds: list[Varbind]


def _decode_trap_v1(data: bytes, pos: int, end: int) -> TrapV1:
    start, stop = _expect(data, pos, end, TRAP_V1, "Trap-PDU")
    if stop != end:
        raise SnmpMalformed(f"{end - stop} trailing bytes after the Trap-PDU at offset {stop}")
    e_start, p = _expect(data, start, stop, 0x06, "enterprise")
    enterprise = decode_oid(data[e_start:p])
    a_start, p = _expect(data, p, stop, 0x40, "agent-addr")
    agent_addr = data[a_start:p]
    generic, p = _int_at(data, p, stop, "generic-trap")
    specific, p = _int_at(data, p, stop, "specific-trap")
    t_start, p = _expect(data, p, stop, 0x43, "time-stamp")
    if t_start == p:
        raise SnmpMalformed(f"empty time-stamp at offset {t_start}")
    time_stamp = int.from_bytes(data[t_start:p], "big")
    return TrapV1(enterprise, agent_addr, generic, specific, time_stamp, _decode_varbinds(data, p, stop))


def decode_notification(data: bytes) -> tuple[int, bytes, Pdu | TrapV1]:
    """A v1/v2c notification message → (version, community, PDU): a v1 Trap-PDU, or any v2 PDU
    (SNMPv2-Trap, InformRequest; the caller rejects the others)."""
    try:
        start, stop = _expect(data, 0, len(data), SEQUENCE, "message SEQUENCE")
        version, p = _int_at(data, start, stop, "version")
        if version not in (0, 1):
            raise SnmpMalformed(f"not a v1/v2c message (version field {version})")
        community, p, _ = _octets_at(data, p, stop, "community")
        if p < stop and data[p] == TRAP_V1:
            return version, community, _decode_trap_v1(data, p, stop)
        return version, community, decode_pdu(data, p, stop)
    except SnmpMalformed:
        raise
    except Exception as exc:
        raise SnmpMalformed(f"undecodable notification: {type(exc).__name__}: {exc}") from None


def peek_version(data: bytes) -> int:
    """The message's version field (0 = v1, 1 = v2c, 3 = v3) without decoding the rest."""
    try:
        start, stop = _expect(data, 0, len(data), SEQUENCE, "message SEQUENCE")
        version, _ = _int_at(data, start, stop, "version")
        return version
    except SnmpMalformed:
        raise
    except Exception as exc:
        raise SnmpMalformed(f"undecodable message: {type(exc).__name__}: {exc}") from None
