"""The `lan:` section of server.yaml: approved devices, DHCP servers and gateways per site, and bounds.

Entries here and entries set through the API (`PUT /api/v1/sites/{code}/lan/approved`) both count; the
config's are kept in the store with origin "config" so the ingest worker reads one place.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from canhgac_collector.addresses import IP_ADDRESS_RE

MAC_RE = r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"
LABEL_RE = r"^[^\x00-\x1f\x7f]+$"  # one printable line: shown to officers and in alerts


def _normal_ip(value: str) -> str:
    return str(ipaddress.ip_address(value))


#: An IP address (the OpenAPI pattern says which), written as `ipaddress` writes it.
IpAddress = Annotated[str, Field(max_length=45, pattern=IP_ADDRESS_RE), AfterValidator(_normal_ip)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def normal_mac(value: str) -> str:
    """`AA-BB-CC-DD-EE-FF` or `aa:bb:…` as the store writes MACs: lower case, colon-separated."""
    return value.strip().lower().replace("-", ":")


class ApprovedDevice(_Strict):
    """A device allowed on the site's LAN: its MAC and what it is (shown to the officer)."""

    mac: Annotated[str, Field(max_length=17, pattern=MAC_RE)]
    label: Annotated[str, Field(min_length=1, max_length=200, pattern=LABEL_RE)]

    @field_validator("mac", mode="before")
    @classmethod
    def _normal(cls, value: object) -> object:
        return normal_mac(value) if isinstance(value, str) else value


class LanSiteApproved(_Strict):
    """One site's approved lists (they apply to the site's whole subtree)."""

    approved: Annotated[list[ApprovedDevice], Field(max_length=4096)] = []
    dhcp_servers: Annotated[list[IpAddress], Field(max_length=32)] = []
    gateways: Annotated[list[IpAddress], Field(max_length=32)] = []


class LanConfig(_Strict):
    """Bounds of the LAN device table and the approved lists by site code."""

    max_devices_per_site: Annotated[int, Field(ge=16, le=100_000)] = 4096  # past it: oldest evicted
    max_new_device_events: Annotated[int, Field(ge=0, le=1024)] = 16  # per report; the rest counted
    sites: dict[Annotated[str, Field(max_length=64)], LanSiteApproved] = {}
