"""SNMP notifications off the wire: v1 Trap-PDU, v2c SNMPv2-Trap and InformRequest, v3 (USM) traps.

Our own BER codec decodes them (docs/adr/0017-snmp-traps.md: pysnmp's codec cannot keep up). Only
accepted communities and v3 users get through; everything else raises `TrapRejected` with a short
reason, the label the receiver counts it under. For v3 traps the sender is the authoritative engine:
each user's password keys are expanded once and localised per sender engine ID (one hash), and a
sender's (boots, time) must not go backwards beyond the RFC 3414 window (a replayed trap).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field

from canhgac_agent.snmp import ber, usm
from canhgac_agent.snmp.errors import SnmpMalformed
from canhgac_agent.snmp.types import OID, Credentials, Varbind

SYS_UPTIME_0: OID = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID_0: OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SNMP_TRAPS: OID = (1, 3, 6, 1, 6, 3, 1, 1, 5)  # coldStart.1 … authenticationFailure.5 (egpNeighborLoss.6)
TIME_WINDOW_S = 150  # RFC 3414 3.2.7
MAX_ENGINES = 10_000  # senders whose keys / clocks are remembered (cleared when full)


class TrapRejected(Exception):
    """A datagram that is not an accepted notification. `reason` labels the counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(slots=True)
class Notification:
    """One accepted notification, in SNMPv2 shape (a v1 trap converted as RFC 3584 does)."""

    source: str  # the datagram's source address
    version: str  # 1 | 2c | 3
    trap_oid: OID
    uptime: int | None  # the sender's sysUpTime.0, hundredths of a second
    varbinds: list[Varbind]  # without sysUpTime.0 and snmpTrapOID.0
    engine_id: bytes = b""  # v3: the sender's engine ID
    user: str = ""  # v3 user name
    reply: bytes | None = None  # an inform's Response, to send back to `source`
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _User:
    creds: Credentials
    masters: tuple[bytes, bytes]


class TrapDecoder:
    """Decodes and authenticates datagrams for one receiver (one thread: not shared)."""

    def __init__(self, communities: list[bytes], users: list[Credentials]) -> None:
        self.communities = list(communities)
        self.users = {u.user: _User(u, usm.master_keys(u)) for u in users}
        self._localized: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}
        self._clocks: dict[bytes, tuple[int, int, float]] = {}  # engine → boots, time, monotonic then

    def decode(self, data: bytes, source: str) -> Notification:
        try:
            version = ber.peek_version(data)
            if version == 3:
                return self._v3(data, source)
            return self._community(data, source)
        except SnmpMalformed as exc:
            raise TrapRejected("malformed", str(exc)) from None

    # -- v1 / v2c ------------------------------------------------------------------------------------

    def _accepted_community(self, community: bytes) -> bool:
        ok = False
        for known in self.communities:  # constant time per candidate: no timing oracle on the secret
            ok |= hmac.compare_digest(known, community)
        return ok

    def _community(self, data: bytes, source: str) -> Notification:
        version, community, pdu = ber.decode_notification(data)
        if not self._accepted_community(community):
            raise TrapRejected("bad_community")
        if isinstance(pdu, ber.TrapV1):
            return _from_v1(pdu, source)
        if version == 0:
            raise TrapRejected("unsupported_pdu", f"v1 message with PDU 0x{pdu.tag:02x}")
        reply = None
        if pdu.tag == ber.INFORM:
            body = ber.encode_pdu(ber.RESPONSE, pdu.request_id, 0, 0, ber.encode_varbinds(pdu.varbinds))
            reply = ber.encode_message(1, community, body)
        elif pdu.tag != ber.TRAP_V2:
            raise TrapRejected("unsupported_pdu", f"PDU 0x{pdu.tag:02x}")
        note = _from_v2(pdu.varbinds, source, "2c")
        note.reply = reply
        return note

    # -- v3 ------------------------------------------------------------------------------------------

    def _v3(self, data: bytes, source: str) -> Notification:
        msg = ber.decode_v3_message(data)
        if msg.security_model != 3:
            raise TrapRejected("unsupported_security_model", str(msg.security_model))
        if not msg.flags & usm.FLAG_AUTH:
            # a discovery probe (an inform sender looking for our engine ID) or an unauthenticated trap
            raise TrapRejected("unauthenticated")
        user = self.users.get(msg.user)
        if user is None:
            raise TrapRejected("unknown_user")
        creds = user.creds
        if msg.auth_offset < 0:
            raise TrapRejected("wrong_digest", "no authentication parameters")
        auth_key, priv_key = self._keys(user, msg.engine_id)
        if not usm.verify(creds.auth_protocol, auth_key, data, msg.auth_offset, msg.auth_params):
            raise TrapRejected("wrong_digest")
        wants_priv = creds.priv_protocol != "none"
        if bool(msg.flags & usm.FLAG_PRIV) != wants_priv:
            raise TrapRejected("unsupported_security_level", "privacy differs from the user's")
        self._check_clock(msg.engine_id, msg.engine_boots, msg.engine_time)
        plain = msg.data
        if wants_priv:
            try:
                plain = usm.decrypt(
                    creds.priv_protocol,
                    priv_key,
                    msg.engine_boots,
                    msg.engine_time,
                    msg.priv_params,
                    msg.data,
                )
            except SnmpMalformed:
                raise
            except Exception as exc:
                raise TrapRejected("decrypt_error", type(exc).__name__) from None
        try:
            _, _, pdu = ber.decode_scoped_pdu(plain)
        except SnmpMalformed as exc:
            reason = "decrypt_error" if wants_priv else "malformed"
            raise TrapRejected(reason, str(exc)) from None
        if pdu.tag != ber.TRAP_V2:
            raise TrapRejected("unsupported_pdu", f"v3 PDU 0x{pdu.tag:02x}")
        note = _from_v2(pdu.varbinds, source, "3")
        note.engine_id, note.user = msg.engine_id, creds.user.decode("utf-8", "replace")
        return note

    def _keys(self, user: _User, engine_id: bytes) -> tuple[bytes, bytes]:
        key = (user.creds.user, engine_id)
        keys = self._localized.get(key)
        if keys is None:
            if len(self._localized) >= MAX_ENGINES:
                self._localized.clear()
            keys = self._localized[key] = usm.localize_master_keys(user.creds, user.masters, engine_id)
        return keys

    def _check_clock(self, engine_id: bytes, boots: int, etime: int) -> None:
        """Authenticated senders only: a clock that went back beyond the window is a replay."""
        now = time.monotonic()
        known = self._clocks.get(engine_id)
        if known is not None:
            k_boots, k_time, at = known
            expected = k_time + int(now - at)
            if boots < k_boots or (boots == k_boots and etime < expected - TIME_WINDOW_S):
                raise TrapRejected("not_in_time_window")
        if len(self._clocks) >= MAX_ENGINES:
            self._clocks.clear()
        if known is None or boots > known[0] or etime >= known[1] + int(now - known[2]):
            self._clocks[engine_id] = (boots, etime, now)


def _from_v2(varbinds: list[Varbind], source: str, version: str) -> Notification:
    """RFC 3416 4.2.6: sysUpTime.0 then snmpTrapOID.0 come first."""
    if len(varbinds) < 2 or varbinds[0][0] != SYS_UPTIME_0 or varbinds[1][0] != SNMP_TRAP_OID_0:
        raise TrapRejected("malformed", "a notification starts with sysUpTime.0 and snmpTrapOID.0")
    uptime, trap_oid = varbinds[0][2], varbinds[1][2]
    if not isinstance(trap_oid, tuple):
        raise TrapRejected("malformed", "snmpTrapOID.0 is not an OBJECT IDENTIFIER")
    return Notification(source, version, trap_oid, uptime if isinstance(uptime, int) else None, varbinds[2:])


def _from_v1(pdu: ber.TrapV1, source: str) -> Notification:
    """RFC 3584 3.1: generic traps 0–5 become snmpTraps.1–6, enterprise-specific ones enterprise.0.n."""
    if 0 <= pdu.generic_trap <= 5:
        trap_oid: OID = (*SNMP_TRAPS, pdu.generic_trap + 1)
    elif pdu.generic_trap == 6:
        trap_oid = (*pdu.enterprise, 0, pdu.specific_trap)
    else:
        raise TrapRejected("malformed", f"generic-trap {pdu.generic_trap}")
    note = Notification(source, "1", trap_oid, pdu.time_stamp, pdu.varbinds)
    if len(pdu.agent_addr) == 4:
        note.extra["agent_addr"] = ".".join(map(str, pdu.agent_addr))
    return note
