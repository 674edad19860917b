"""NW-05: are admin services reachable on an agency's public addresses? Checked from the server (the
data center, outside the agencies' networks) against the explicitly declared addresses only.

Each address gets a TCP connect per configured port (SSH, Telnet, RDP, web admin) and, optionally, an
SNMP probe of UDP 161: an SNMPv3 discovery (any v3 agent answers it, whatever its users) and a v2c get
with `public`. Probes start at most `max_probes_per_s` per second, each bounded by `timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SERVICES = {
    22: "ssh",
    23: "telnet",
    80: "http",
    443: "https",
    3389: "rdp",
    8080: "http-alt",
    8443: "https-alt",
}
BANNER_BYTES = 120
BANNER_WAIT_S = 0.5
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


@dataclass(frozen=True)
class ExposureSettings:
    tcp_ports: Sequence[int]
    snmp: bool = True
    timeout_s: float = 2.0
    max_probes_per_s: float = 20.0
    snmp_port: int = 161


async def _tcp(address: str, port: int, timeout_s: float) -> dict[str, Any] | None:
    """The open service (with the first bytes it sent, if any), or None when refused/filtered."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout_s)
    except (OSError, TimeoutError):
        return None
    banner = b""
    try:
        with contextlib.suppress(OSError, TimeoutError):
            banner = await asyncio.wait_for(reader.read(BANNER_BYTES), BANNER_WAIT_S)
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), BANNER_WAIT_S)
    text = banner.decode("utf-8", "replace").strip()
    return {
        "address": address,
        "port": port,
        "protocol": "tcp",
        "service": SERVICES.get(port, f"tcp/{port}"),
        "banner": text[:BANNER_BYTES] or None,
    }


async def _snmp(address: str, port: int, timeout_s: float) -> dict[str, Any] | None:
    """The SNMP service when an SNMPv3 discovery or a v2c `public` get gets any answer, else None."""
    from canhgac_agent.snmp.client import SnmpEngine
    from canhgac_agent.snmp.errors import SnmpError, SnmpTimeout
    from canhgac_agent.snmp.types import Credentials, Target

    target = Target(address, port, timeout_s=timeout_s, retries=0)
    answers: list[str] = []
    async with SnmpEngine() as engine:
        for label, creds in (
            ("v3 engine discovery", Credentials("3", user=b"canhgac-exposure-probe")),
            ("v2c community public", Credentials("2c", community=b"public")),
        ):
            try:
                await engine.get(target, creds, [SYS_OBJECT_ID])
            except SnmpTimeout:
                continue
            except SnmpError:
                answers.append(label)  # an error reply (unknown user…) is still an SNMP agent answering
                continue
            except OSError:
                continue  # port unreachable
            answers.append(label)
    if not answers:
        return None
    return {
        "address": address,
        "port": port,
        "protocol": "udp",
        "service": "snmp",
        "banner": "answered: " + ", ".join(answers),
    }


def probe_public_addresses(
    addresses: Sequence[tuple[str, str]], settings: ExposureSettings
) -> dict[str, Any]:
    """`public_exposure` facts for (site code, address) pairs: the addresses and ports checked, when,
    and the services that answered (each with its site)."""
    jobs: list[tuple[str, str, str, int]] = [
        (site, address, "tcp", port) for site, address in addresses for port in settings.tcp_ports
    ]
    if settings.snmp:
        jobs += [(site, address, "udp", settings.snmp_port) for site, address in addresses]
    interval = 1.0 / settings.max_probes_per_s

    async def one(index: int, address: str, protocol: str, port: int) -> dict[str, Any] | None:
        await asyncio.sleep(index * interval)  # paced starts: at most max_probes_per_s
        if protocol == "tcp":
            return await _tcp(address, port, settings.timeout_s)
        return await _snmp(address, port, settings.timeout_s)

    async def main() -> list[dict[str, Any] | None]:
        return await asyncio.gather(*(one(i, a, proto, p) for i, (_, a, proto, p) in enumerate(jobs)))

    started = time.monotonic()
    results = asyncio.run(main())
    open_services = [
        {"site": site, **found} for (site, *_), found in zip(jobs, results, strict=True) if found is not None
    ]
    return {
        "addresses": [{"site": site, "address": address} for site, address in addresses],
        "tcp_ports": list(settings.tcp_ports),
        "snmp": settings.snmp,
        "scanned_at": dt.datetime.now(dt.UTC).isoformat(),
        "duration_s": round(time.monotonic() - started, 3),
        "open_services": open_services,
    }
