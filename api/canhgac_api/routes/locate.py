"""Where is this MAC or IP address plugged in? From the switches' FDB and ARP tables.

A MAC is learned on every switch between it and the poller's view: on its access port and on each
uplink. The access port is, among the sightings of the last few minutes, one with no LLDP/CDP
neighbour that is a known device, and then the one with the fewest MACs; the others are listed too.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from canhgac_api.auth import Principal, Reader, scoped
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.routes.devices import name_keys
from canhgac_api.schemas.devices import ArpPair, Located, MacPort
from canhgac_collector.devices.store import UNKNOWN_VLAN
from canhgac_collector.store.models import ArpEntry, Device, DeviceNeighbor, MacLocation, Site

router = APIRouter(prefix="/api/v1/locate", tags=["devices"])
PLUGIN = Routes("locate", router)

# Sightings older than the newest by more than this are "where it was", not "where it is".
FRESH = dt.timedelta(minutes=10)

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
        arp_stmt = scoped(
            principal,
            select(ArpEntry, Device.name).join(Device, ArpEntry.device_id == Device.id).join(Site),
        )
        if want_ip is not None:
            arp_stmt = arp_stmt.where(ArpEntry.ip == want_ip)
        if want_mac is not None:
            arp_stmt = arp_stmt.where(ArpEntry.mac == want_mac)
        arp_rows = session.execute(arp_stmt.order_by(ArpEntry.last_seen.desc()).limit(50)).all()
        arp = [ArpPair(ip=a.ip, mac=a.mac, device=name, last_seen=a.last_seen) for a, name in arp_rows]
        if want_mac is None:
            want_mac = arp[0].mac if arp else None
        ports: list[MacPort] = []
        if want_mac is not None:
            ports = _sightings(session, principal, want_mac)
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


def _sightings(session: Session, principal: Principal, mac: str) -> list[MacPort]:
    """Every port that learned `mac` in scope, best access-port candidate first."""
    stmt = scoped(
        principal,
        select(MacLocation, Device.name, Site.code)
        .join(Device, MacLocation.device_id == Device.id)
        .join(Site, Device.site_id == Site.id)
        .where(MacLocation.mac == mac),
    )
    rows = session.execute(stmt.limit(200)).all()
    if not rows:
        return []
    keys: set[tuple[int, int | None]] = {
        (m.device_id, m.if_index) for m, _, _ in rows if m.if_index is not None
    }
    device_ids = {d for d, _ in keys}
    per_port = dict.fromkeys(keys, 0)
    for device_id, if_index, n in session.execute(
        select(MacLocation.device_id, MacLocation.if_index, func.count())
        .where(MacLocation.device_id.in_(device_ids))
        .group_by(MacLocation.device_id, MacLocation.if_index)
    ):
        if (device_id, if_index) in per_port:
            per_port[(device_id, if_index)] = int(n)
    # An uplink is a port with a neighbour that is one of our devices: an IP phone or an access point
    # also speaks LLDP, and the PC behind it is still on that access port.
    known: set[str] = set()
    for name, sys_name in session.execute(select(Device.name, Device.sys_name)):
        known.update(name_keys(name))
        known.update(name_keys(sys_name or ""))
    uplinks = {
        (d, i)
        for d, i, remote in session.execute(
            select(DeviceNeighbor.device_id, DeviceNeighbor.local_if_index, DeviceNeighbor.remote_name).where(
                and_(DeviceNeighbor.device_id.in_(device_ids), DeviceNeighbor.local_if_index.is_not(None))
            )
        )
        if known.intersection(name_keys(remote or ""))
    }
    newest = max(m.last_seen for m, _, _ in rows)
    ranked = []
    for m, device_name, site_code in rows:
        key = (m.device_id, m.if_index)
        port = MacPort(
            device=device_name,
            site=site_code,
            ifName=m.port_name,
            ifIndex=m.if_index,
            vlan=None if m.vlan == UNKNOWN_VLAN else m.vlan,
            last_seen=m.last_seen,
            macs_on_port=per_port.get(key, 1),
            uplink=key in uplinks,
        )
        stale = newest - m.last_seen > FRESH
        ranked.append(((stale, port.uplink, port.macs_on_port, -m.last_seen.timestamp(), device_name), port))
    ranked.sort(key=lambda r: r[0])
    return [port for _, port in ranked]
