"""sysObjectID → vendor: the IANA enterprise number after 1.3.6.1.4.1 names who made the device."""

from __future__ import annotations

from canhgac_agent.snmp.types import OID, parse_oid

ENTERPRISES_PREFIX: OID = (1, 3, 6, 1, 4, 1)

# IANA Private Enterprise Numbers of the network vendors seen in Vietnamese provinces (and in snmpsim-data).
VENDORS: dict[int, str] = {
    9: "cisco",
    11: "hpe",  # HP ProCurve / Aruba switches (hp.nm)
    43: "3com",
    171: "dlink",
    674: "dell",
    1588: "brocade",
    1916: "extreme",
    1991: "brocade",  # Foundry
    2011: "huawei",
    2636: "juniper",
    3902: "zte",
    4881: "ruijie",
    5651: "maipu",
    6027: "dell",  # Force10
    6486: "alcatel-lucent",
    6527: "nokia",
    6876: "vmware",
    8072: "net-snmp",
    9303: "unifi",
    10002: "ubiquiti",
    11863: "tp-link",
    12356: "fortinet",
    14179: "cisco",  # Airespace (Cisco WLC)
    14823: "aruba",
    14988: "mikrotik",
    25053: "ruckus",
    25461: "paloalto",
    25506: "h3c",
    30065: "arista",
    30803: "vyatta",
    41112: "ubiquiti",
    47196: "hpe",  # HPE Aruba / Comware under HPE
}


def vendor_from_sysobjectid(oid: OID | str | None) -> str | None:
    """The vendor for a sysObjectID (tuple or dotted), or None when it is not under enterprises."""
    if oid is None:
        return None
    if isinstance(oid, str):
        try:
            oid = parse_oid(oid)
        except ValueError:
            return None
    if len(oid) <= len(ENTERPRISES_PREFIX) or oid[: len(ENTERPRISES_PREFIX)] != ENTERPRISES_PREFIX:
        return None
    number = oid[len(ENTERPRISES_PREFIX)]
    return VENDORS.get(number, f"enterprise-{number}")
