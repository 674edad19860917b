"""Where is this MAC or IP address plugged in? From the switches' FDB and ARP tables: the likely
access port first, the other sightings after it (`canhgac_collector.devices.locate`)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from fastapi import APIRouter, Query

from canhgac_api.auth import Reader
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.devices import ArpPair, Located, MacPort
from canhgac_collector.devices.locate import Sighting, arp_pairs, mac_sightings
from canhgac_collector.devices.store import UNKNOWN_VLAN

router = APIRouter(prefix="/api/v1/locate", tags=["devices"])
PLUGIN = Routes("locate", router)

MAC_PATTERN = (
    r"^(?:[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}"  # aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"  # aabb.ccdd.eeff
    r"|[0-9A-Fa-f]{12})$"
)
_MAC_FORMS = (
    re.compile(
        r"^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$"
    ),
    re.compile(r"^([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})$"),
    re.compile(r"^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$"),
)


def normalize_mac(text: str) -> str | None:
    """'AA-BB-CC-DD-EE-FF', 'aabb.ccdd.eeff', 'aabbccddeeff' → 'aa:bb:cc:dd:ee:ff'; None if not a MAC."""
    low = text.strip().lower()
    for form in _MAC_FORMS:
        m = form.match(low)
        if m:
            return ":".join(m.groups())
    return None


def _bad(detail: str) -> ProblemError:
    return ProblemError(422, "invalid-request", "Request failed validation", detail)


@router.get(
    "",
    response_model=Located,
    responses=problem_responses(401, 403, 404),
    summary="The switch port where a MAC or IP address sits (from FDB/ARP), with its site and last sighting",
)
def locate(
    principal: Reader,
    ctx: Ctx,
    mac: Annotated[
        str | None,
        Query(
            pattern=MAC_PATTERN,
            description="aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff",
        ),
    ] = None,
    ip: Annotated[
        str | None,
        Query(
            max_length=64,
            description="IPv4 or IPv6 address",
            json_schema_extra={
                "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]
            },
        ),
    ] = None,
) -> Located:
    if mac is None and ip is None:
        # Not a 400: the OpenAPI cannot say "one of", and a request it admits must not be rejected.
        raise ProblemError(404, "not-found", "Not found", "nothing to locate: give mac= or ip=")
    want_mac = want_ip = None
    if mac is not None:  # with both, the MAC decides and the IP only narrows the ARP pairs
        want_mac = normalize_mac(mac)
        if want_mac is None:
            raise _bad(f"mac: {mac!r} is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-…, aabb.ccdd.eeff)")
    if ip is not None:
        try:
            want_ip = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            raise _bad(f"ip: {ip!r} is not an IP address") from None

    with ctx.sessions() as session:
        arp_rows = arp_pairs(session, principal.scope_path, ip=want_ip, mac=want_mac)
        arp = [ArpPair(ip=a.ip, mac=a.mac, device=name, last_seen=a.last_seen) for a, name in arp_rows]
        if want_mac is None:
            want_mac = arp[0].mac if arp else None
        ports: list[MacPort] = []
        if want_mac is not None:
            ports = [_port(s) for s in mac_sightings(session, principal.scope_path, want_mac)]
    if not ports and not arp:
        raise ProblemError(
            404, "not-found", "Not found", f"{mac or ip} has not been seen by any device within your scope"
        )
    return Located(
        mac=want_mac,
        ip=want_ip if want_ip is not None else (arp[0].ip if arp else None),
        port=ports[0] if ports else None,
        others=ports[1:],
        arp=arp,
    )


def _port(sighting: Sighting) -> MacPort:
    m = sighting.location
    return MacPort(
        device=sighting.device,
        site=sighting.site,
        ifName=m.port_name,
        ifIndex=m.if_index,
        vlan=None if m.vlan == UNKNOWN_VLAN else m.vlan,
        last_seen=m.last_seen,
        macs_on_port=sighting.macs_on_port,
        uplink=sighting.uplink,
    )
