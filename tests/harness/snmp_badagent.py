"""Misbehaving SNMP v1/v2c agents on 127.0.0.1, answering with our own BER codec, for bad-input tests.

    async with BadAgent("truncated") as agent:      # inside a running event loop
        await engine.walk(Target(*agent.endpoint), creds, root)

Modes (`BadAgent.MODES`): ``normal`` serves `table` correctly; ``silent`` never answers; ``truncated``
cuts every reply in half; ``garbage`` answers random bytes; ``wrong_id`` first answers with a wrong
request-id, then correctly; ``too_big`` answers tooBig while max-repetitions > `too_big_above`;
``end_of_mib`` answers endOfMibView where the next OID would leave the current table
(first 8 arcs); ``non_increasing``
repeats the requested OID; ``endless`` always has a next OID under the requested root.
"""

from __future__ import annotations

import asyncio
import bisect
import random
from types import TracebackType
from typing import Any

from canhgac_agent.snmp import ber
from canhgac_agent.snmp.errors import SnmpMalformed
from canhgac_agent.snmp.types import OID, Tag, Varbind

DEFAULT_TABLE: list[Varbind] = sorted(
    [((1, 3, 6, 1, 2, 1, 1, 1, 0), Tag.OCTET_STRING, b"bad agent"), ((1, 3, 6, 1, 2, 1, 1, 5, 0), 4, b"bad")]
    + [((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, i), Tag.INTEGER, i) for i in range(1, 49)]
    + [((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, i), Tag.OCTET_STRING, f"port{i}".encode()) for i in range(1, 49)]
    + [((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, i), Tag.COUNTER32, i * 1000) for i in range(1, 49)]
)


class BadAgent(asyncio.DatagramProtocol):
    MODES = (
        "normal",
        "silent",
        "truncated",
        "garbage",
        "wrong_id",
        "too_big",
        "end_of_mib",
        "non_increasing",
        "endless",
    )

    def __init__(
        self,
        mode: str,
        *,
        community: bytes = b"public",
        table: list[Varbind] | None = None,
        too_big_above: int = 5,
        seed: int = 0,
    ) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.community = community
        self.table = sorted(table if table is not None else DEFAULT_TABLE)
        self._oids = [vb[0] for vb in self.table]
        self.too_big_above = too_big_above
        self.rng = random.Random(seed)
        self.requests = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.endpoint: tuple[str, int] = ("127.0.0.1", 0)

    async def __aenter__(self) -> BadAgent:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        self.transport = transport
        self.endpoint = ("127.0.0.1", int(transport.get_extra_info("sockname")[1]))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- serving ------------------------------------------------------------------------------------

    def _next(self, oid: OID) -> Varbind:
        i = bisect.bisect_right(self._oids, oid)
        if i >= len(self.table):
            return (oid, Tag.END_OF_MIB_VIEW, None)
        return self.table[i]

    def _answer(self, pdu: ber.Pdu) -> tuple[int, int, list[Varbind]]:
        """(error-status, error-index, varbinds) a correct agent gives, bent by the mode."""
        oids = [vb[0] for vb in pdu.varbinds]
        if pdu.tag == ber.GET:
            found = {vb[0]: vb for vb in self.table}
            return 0, 0, [found.get(o, (o, Tag.NO_SUCH_INSTANCE, None)) for o in oids]
        reps = 1 if pdu.tag == ber.GETNEXT else max(1, pdu.error_index)
        if self.mode == "too_big" and reps > self.too_big_above:
            return 1, 0, [(o, Tag.NULL, None) for o in oids]
        out: list[Varbind] = []
        cursors = list(oids)
        for _ in range(reps):
            for j, cur in enumerate(cursors):
                if self.mode == "non_increasing":
                    vb: Varbind = (cur, Tag.INTEGER, 1)
                elif self.mode == "endless":
                    nxt = (*cur, 1) if len(cur) < 11 else (*cur[:-1], cur[-1] + 1)  # stays under any root
                    vb = (nxt, Tag.INTEGER, 1)
                else:
                    vb = self._next(cur)
                    if self.mode == "end_of_mib" and vb[0][:8] != cur[:8]:  # the MIB ends with this table
                        vb = (cur, Tag.END_OF_MIB_VIEW, None)
                out.append(vb)
                cursors[j] = vb[0]
        return 0, 0, out

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        self.requests += 1
        if self.mode == "silent" or self.transport is None:
            return
        try:
            version, community, pdu = ber.decode_message(data)
        except SnmpMalformed:
            return
        if community != self.community:
            return
        if self.mode == "garbage":
            self.transport.sendto(self.rng.randbytes(self.rng.randrange(1, 200)), addr)
            return
        status, index, varbinds = self._answer(pdu)
        request_id = pdu.request_id

        def reply(rid: int) -> bytes:
            body = ber.encode_pdu(ber.RESPONSE, rid, status, index, ber.encode_varbinds(varbinds))
            return ber.encode_message(version, community, body)

        if self.mode == "wrong_id":
            self.transport.sendto(reply((request_id + 1) & 0x7FFFFFFF), addr)
        packet = reply(request_id)
        if self.mode == "truncated":
            packet = packet[: len(packet) // 2]
        self.transport.sendto(packet, addr)
