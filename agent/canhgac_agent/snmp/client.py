"""The asyncio SNMP engine: GET, walks and multi-column table walks for v1, v2c and v3 over shared sockets.

One `SnmpEngine` per poller process holds one UDP socket per address family; replies are matched to
requests by request-id (msgID for v3), so a thousand devices do not need a thousand sockets. Retries and
timeouts come from each `Target`; the caller bounds a whole device poll with `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from canhgac_agent.snmp import ber, usm
from canhgac_agent.snmp.errors import (
    SnmpAuthError,
    SnmpError,
    SnmpMalformed,
    SnmpProtocolError,
    SnmpTimeout,
    SnmpWalkError,
)
from canhgac_agent.snmp.types import OID, Credentials, Target, Value, Varbind, format_oid

log = logging.getLogger(__name__)

END_OF_MIB_VIEW = 0x82
MAX_MSG_SIZE = 65507
_TOO_BIG = 1
_NO_SUCH_NAME = 2


@dataclass
class EngineStats:
    """Counters for self-metrics."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    replies: int = 0
    unmatched_replies: int = 0
    malformed_replies: int = 0
    too_big: int = 0


class _Pending:
    __slots__ = ("addr", "future", "malformed")

    def __init__(self, addr: tuple[str, int], future: asyncio.Future[bytes]) -> None:
        self.addr = addr
        self.future = future
        self.malformed = ""  # why the last unattributable packet from `addr` was rejected


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, engine: SnmpEngine) -> None:
        self.engine = engine

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        self.engine._received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("snmp socket error: %s", exc)


class _AttemptTimeout(Exception):
    """One attempt's timer fired (internal; retried, then reported as SnmpTimeout)."""


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(_AttemptTimeout())


def _device(target: Target) -> str:
    return f"{target.host}:{target.port}"


class SnmpEngine:
    """Shared sockets + request-id demultiplexing. `async with SnmpEngine() as engine: ...`."""

    def __init__(self) -> None:
        self.stats = EngineStats()
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._pending: dict[int, _Pending] = {}
        self._next_id = secrets.randbelow(1 << 30) + 1  # unpredictable ids resist blind spoofing
        self._engines: dict[tuple[str, int], usm.EngineState] = {}
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> SnmpEngine:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.cancel()
        self._pending.clear()

    async def _transport(self, family: int) -> asyncio.DatagramTransport:
        transport = self._transports.get(family)
        if transport is None:
            loop = asyncio.get_running_loop()
            local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=local, family=family
            )
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self._transports[family] = transport
        return transport

    # -- request/response -----------------------------------------------------------------------------

    def _allocate_id(self) -> int:
        for _ in range(1000):
            self._next_id = self._next_id + 1 if self._next_id < 0x7FFFFFFF else 1
            if self._next_id not in self._pending:
                return self._next_id
        raise SnmpError("no free SNMP request-id")  # pragma: no cover - a million requests in flight

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.stats.bytes_received += len(data)
        try:
            _, request_id = ber.peek_request_id(data)
        except SnmpMalformed as exc:
            self.stats.malformed_replies += 1
            for pending in self._pending.values():
                if pending.addr == addr:
                    pending.malformed = str(exc)
            return
        match = self._pending.get(request_id)
        if match is None or match.addr != addr or match.future.done():
            self.stats.unmatched_replies += 1
            return
        self.stats.replies += 1
        match.future.set_result(data)

    async def _exchange(self, target: Target, build: Callable[[int], bytes]) -> bytes:
        """Send a request built for a fresh id, retrying per `target`; return the matching reply bytes."""
        family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
        transport = await self._transport(family)
        addr = (target.host, target.port)
        loop = asyncio.get_running_loop()
        request_id = self._allocate_id()
        packet = build(request_id)
        pending = _Pending(addr, loop.create_future())
        self._pending[request_id] = pending
        try:
            for attempt in range(target.retries + 1):
                if attempt:
                    self.stats.retries += 1
                self.stats.requests += 1
                self.stats.bytes_sent += len(packet)
                # one future + timer per attempt (cheaper than wait_for); a late reply to an earlier
                # attempt carries the same request-id and completes the current one
                future: asyncio.Future[bytes] = loop.create_future()
                pending.future = future
                timer = loop.call_later(target.timeout_s, _expire, future)
                transport.sendto(packet, addr)
                try:
                    return await future
                except _AttemptTimeout:
                    continue
                finally:
                    timer.cancel()
            self.stats.timeouts += 1
            if pending.malformed:
                raise SnmpMalformed(f"{_device(target)}: malformed reply: {pending.malformed}")
            raise SnmpTimeout(
                f"{_device(target)}: no reply within {target.timeout_s:g} s × {target.retries + 1} attempts"
            )
        finally:
            del self._pending[request_id]
            if not pending.future.done():
                pending.future.cancel()

    async def _request(
        self, target: Target, creds: Credentials, tag: int, a: int, b: int, oids: Sequence[OID]
    ) -> ber.Pdu:
        """One request/response; returns the response PDU (error-status not yet interpreted)."""
        varbinds = ber.encode_null_varbinds(oids)
        if creds.version == "3":
            return await self._request_v3(target, creds, tag, a, b, varbinds)
        version = 0 if creds.version == "1" else 1
        community = creds.community

        def build(request_id: int) -> bytes:
            return ber.encode_message(version, community, ber.encode_pdu(tag, request_id, a, b, varbinds))

        while True:
            data = await self._exchange(target, build)
            try:
                _, _, pdu = ber.decode_message(data)
            except SnmpMalformed as exc:
                raise SnmpMalformed(f"{_device(target)}: malformed reply: {exc}") from None
            if pdu.tag != ber.RESPONSE:
                raise SnmpMalformed(f"{_device(target)}: reply is PDU type 0x{pdu.tag:02x}, not a Response")
            return pdu

    # -- SNMPv3 ---------------------------------------------------------------------------------------

    async def _discover(self, target: Target, state: usm.EngineState) -> None:
        """RFC 3414 4: an empty noAuth request makes the agent report its engine ID, boots and time."""
        empty = ber.encode_null_varbinds(())

        def build(msg_id: int) -> bytes:
            scoped = ber.encode_scoped_pdu(b"", b"", ber.encode_pdu(ber.GET, msg_id, 0, 0, empty))
            msg, _ = ber.encode_v3_message(
                msg_id, MAX_MSG_SIZE, usm.FLAG_REPORTABLE, b"", 0, 0, b"", b"", b"", scoped, False
            )
            return msg

        data = await self._exchange(target, build)
        msg = self._decode_v3(target, data)
        if not msg.engine_id:
            raise SnmpProtocolError(f"{_device(target)}: SNMPv3 discovery reply carries no engine ID")
        state.learn(msg.engine_id, msg.engine_boots, msg.engine_time)
        log.debug(
            "snmp v3 engine discovered", extra={"device": _device(target), "engine_id": msg.engine_id.hex()}
        )

    def _decode_v3(self, target: Target, data: bytes) -> ber.V3Message:
        try:
            msg = ber.decode_v3_message(data)
        except SnmpMalformed as exc:
            raise SnmpMalformed(f"{_device(target)}: malformed reply: {exc}") from None
        if msg.security_model != 3:
            raise SnmpMalformed(f"{_device(target)}: reply uses security model {msg.security_model}, not USM")
        return msg

    async def _request_v3(
        self, target: Target, creds: Credentials, tag: int, a: int, b: int, varbinds: bytes
    ) -> ber.Pdu:
        key = (target.host, target.port)
        state = self._engines.get(key)
        if state is None:
            state = self._engines[key] = usm.EngineState()
        flags = usm.security_flags(creds)
        discovered_now = False
        for _ in range(3):  # discovery, then at most one resync / rediscovery
            if not state.engine_id:
                await self._discover(target, state)
                discovered_now = True
            auth_key, priv_key = state.keys_for(creds)
            engine_id = state.engine_id
            auth_len = usm.MAC_LENGTH.get(creds.auth_protocol, 0)

            def build(
                msg_id: int,
                engine_id: bytes = engine_id,
                auth_key: bytes = auth_key,
                priv_key: bytes = priv_key,
                auth_len: int = auth_len,
            ) -> bytes:
                boots, etime = state.boots, state.now()
                scoped = ber.encode_scoped_pdu(
                    engine_id, creds.context_name, ber.encode_pdu(tag, msg_id, a, b, varbinds)
                )
                priv_params = b""
                if flags & usm.FLAG_PRIV:
                    scoped, priv_params = usm.encrypt(creds.priv_protocol, priv_key, boots, etime, scoped)
                msg, auth_offset = ber.encode_v3_message(
                    msg_id,
                    MAX_MSG_SIZE,
                    flags | usm.FLAG_REPORTABLE,
                    engine_id,
                    boots,
                    etime,
                    creds.user,
                    bytes(auth_len),
                    priv_params,
                    scoped,
                    bool(flags & usm.FLAG_PRIV),
                )
                if flags & usm.FLAG_AUTH:
                    msg = usm.place_mac(creds.auth_protocol, auth_key, msg, auth_offset)
                return msg

            try:
                data = await self._exchange(target, build)
            except SnmpTimeout:
                if discovered_now and flags & usm.FLAG_PRIV:
                    # net-snmp silently drops what it cannot decrypt, right after answering discovery
                    raise SnmpAuthError(
                        f"{_device(target)}: agent answered SNMPv3 discovery but not the encrypted request "
                        "(wrong privacy password or protocol?)"
                    ) from None
                raise
            msg = self._decode_v3(target, data)
            if msg.flags & usm.FLAG_AUTH and (
                not flags & usm.FLAG_AUTH
                or not usm.verify(creds.auth_protocol, auth_key, data, msg.auth_offset, msg.auth_params)
            ):
                raise SnmpAuthError(f"{_device(target)}: reply failed SNMPv3 authentication (wrong key?)")
            scoped = msg.data
            if msg.flags & usm.FLAG_PRIV:
                if not flags & usm.FLAG_PRIV:
                    raise SnmpAuthError(f"{_device(target)}: encrypted reply to an unencrypted request")
                scoped = usm.decrypt(
                    creds.priv_protocol, priv_key, msg.engine_boots, msg.engine_time, msg.priv_params, scoped
                )
            try:
                _, _, pdu = ber.decode_scoped_pdu(scoped)
            except SnmpMalformed as exc:
                if msg.flags & usm.FLAG_PRIV:
                    raise SnmpAuthError(
                        f"{_device(target)}: undecryptable reply (wrong privacy key?)"
                    ) from None
                raise SnmpMalformed(f"{_device(target)}: malformed reply: {exc}") from None
            if pdu.tag == ber.REPORT:
                oid = pdu.varbinds[0][0] if pdu.varbinds else ()
                if oid == usm.NOT_IN_TIME_WINDOW and msg.flags & usm.FLAG_AUTH:
                    state.learn(msg.engine_id, msg.engine_boots, msg.engine_time)
                    continue
                if oid == usm.UNKNOWN_ENGINE_ID:
                    state.engine_id = b""
                    continue
                raise usm.report_error(oid, _device(target))
            if pdu.tag != ber.RESPONSE:
                raise SnmpMalformed(f"{_device(target)}: reply is PDU type 0x{pdu.tag:02x}, not a Response")
            if (
                msg.flags & usm.FLAG_AUTH
                and msg.engine_id == state.engine_id
                and (msg.engine_boots > state.boots or msg.engine_time > state.now())
            ):
                state.learn(msg.engine_id, msg.engine_boots, msg.engine_time)
            return pdu
        raise SnmpAuthError(
            f"{_device(target)}: SNMPv3 engine time/ID kept changing (clock or engine trouble)"
        )

    # -- public API -----------------------------------------------------------------------------------

    async def get(self, target: Target, creds: Credentials, oids: Sequence[OID]) -> list[Varbind]:
        """GET these OIDs; missing ones come back with a noSuchObject/noSuchInstance tag (v2c/v3)."""
        pdu = await self._request(target, creds, ber.GET, 0, 0, oids)
        if pdu.error_status:
            raise self._status_error(target, pdu, oids)
        return pdu.varbinds

    async def walk(
        self,
        target: Target,
        creds: Credentials,
        root: OID,
        *,
        max_repetitions: int = 25,
        max_varbinds: int = 200_000,
    ) -> list[Varbind]:
        """Every varbind under `root`, in order (GETBULK for v2c/v3, GETNEXT for v1)."""
        out: list[Varbind] = []
        n = len(root)
        last = root if n >= 2 else (*root, 0)  # BER cannot carry a one-arc OID; x.0 sorts first under x
        reps = max(1, max_repetitions)
        bulk = creds.version != "1"
        while True:
            if bulk:
                pdu = await self._request(target, creds, ber.GETBULK, 0, reps, (last,))
            else:
                pdu = await self._request(target, creds, ber.GETNEXT, 0, 0, (last,))
            if pdu.error_status:
                if pdu.error_status == _TOO_BIG and bulk and reps > 1:
                    self.stats.too_big += 1
                    reps = max(1, reps // 2)
                    continue
                if pdu.error_status == _NO_SUCH_NAME and not bulk:
                    return out
                raise self._status_error(target, pdu, (last,))
            if not pdu.varbinds:
                return out
            for vb in pdu.varbinds:
                oid = vb[0]
                if vb[1] == END_OF_MIB_VIEW or oid[:n] != root:
                    return out
                if oid <= last:
                    raise SnmpWalkError(
                        f"{_device(target)}: OID not increasing in walk of {format_oid(root)}: "
                        f"{format_oid(oid)} after {format_oid(last)}"
                    )
                if len(out) >= max_varbinds:
                    raise SnmpWalkError(
                        f"{_device(target)}: walk of {format_oid(root)} exceeded {max_varbinds} varbinds"
                    )
                out.append(vb)
                last = oid

    async def walk_columns(
        self,
        target: Target,
        creds: Credentials,
        columns: Sequence[OID],
        *,
        max_repetitions: int = 25,
        max_rows: int = 100_000,
    ) -> dict[OID, dict[OID, Value]]:
        """Several columns of one table walked together: column OID → {index suffix: value}.

        Each GETBULK carries every still-open column, so a 40-column table of 48 rows costs a few requests.
        Columns the device lacks come back empty.
        """
        result: dict[OID, dict[OID, Value]] = {c: {} for c in columns}
        # open columns as parallel lists: column OID, its length, last OID seen, its rows
        cols = list(result)
        lens = [len(c) for c in cols]
        lasts = list(cols)
        rows_of = [result[c] for c in cols]
        reps = max(1, max_repetitions)
        bulk = creds.version != "1"
        while cols:
            if bulk:
                pdu = await self._request(target, creds, ber.GETBULK, 0, reps, lasts)
            else:
                pdu = await self._request(target, creds, ber.GETNEXT, 0, 0, lasts)
            if pdu.error_status:
                if pdu.error_status == _TOO_BIG and bulk and reps > 1:
                    self.stats.too_big += 1
                    reps = max(1, reps // 2)
                    continue
                if pdu.error_status == _NO_SUCH_NAME and not bulk and 0 < pdu.error_index <= len(cols):
                    k = pdu.error_index - 1  # v1: that column ended; ask again for the others
                    del cols[k], lens[k], lasts[k], rows_of[k]
                    continue
                raise self._status_error(target, pdu, lasts)
            if not pdu.varbinds:
                break
            width = len(cols)
            open_ = [True] * width
            j = 0
            for oid, tag, value in pdu.varbinds:  # row-major: repetition by repetition, column by column
                if open_[j]:
                    n = lens[j]
                    if tag == END_OF_MIB_VIEW or oid[:n] != cols[j]:
                        open_[j] = False
                    elif oid <= lasts[j]:
                        raise SnmpWalkError(
                            f"{_device(target)}: OID not increasing in column {format_oid(cols[j])}: "
                            f"{format_oid(oid)} after {format_oid(lasts[j])}"
                        )
                    else:
                        rows_of[j][oid[n:]] = value
                        lasts[j] = oid
                j += 1
                if j == width:
                    j = 0
            for k in range(width):
                if len(rows_of[k]) > max_rows:
                    raise SnmpWalkError(
                        f"{_device(target)}: column {format_oid(cols[k])} exceeded {max_rows} rows"
                    )
            if not all(open_):
                keep = [k for k in range(width) if open_[k]]
                cols = [cols[k] for k in keep]
                lens = [lens[k] for k in keep]
                lasts = [lasts[k] for k in keep]
                rows_of = [rows_of[k] for k in keep]
        return result

    def _status_error(self, target: Target, pdu: ber.Pdu, oids: Sequence[OID]) -> SnmpError:
        where = ""
        if 0 < pdu.error_index <= len(oids):
            where = f" at {format_oid(oids[pdu.error_index - 1])}"
        name = ber.error_status_name(pdu.error_status)
        if name == "authorizationError":
            return SnmpAuthError(f"{_device(target)}: agent answered authorizationError{where}")
        return SnmpProtocolError(f"{_device(target)}: agent answered {name}{where}")
