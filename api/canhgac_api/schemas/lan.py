"""Bodies of the LAN endpoints: the merged inventory of a site subtree and its approved lists."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from canhgac_collector.lan.settings import ApprovedDevice, IpAddress


class LanPort(BaseModel):
    device: str
    port: str | None
    vlan: int | None


class LanInventoryDevice(BaseModel):
    """One MAC of the subtree, merged across the LAN sensor, FDB, ARP, agent hosts and devices."""

    mac: str
    site: str
    status: Literal["known", "unknown"]
    approved: str | None = Field(description="label of the approved entry, when approved")
    host: str | None = Field(description="the enrolled agent host with this MAC")
    device: str | None = Field(description="the inventoried device with this MAC")
    ips: list[str]
    names: list[str]
    vendor: str | None
    sources: list[Literal["lan", "fdb", "arp", "agent", "device"]]
    lan_sources: list[str] = Field(description="how the LAN sensor saw it: arp, dhcp, lldp, mdns…")
    seen_by: list[str] = Field(description="hostnames of the LAN sensors that saw it")
    ports: list[LanPort] = Field(description="switch ports that learned it (FDB), uplinks left out")
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None


class LanInventory(BaseModel):
    site: str
    total: int
    known: int
    unknown: int
    truncated: bool = Field(description="more devices matched than `limit`")
    devices: list[LanInventoryDevice]


class LanApprovedIn(BaseModel):
    """The site's API-managed approved lists, replaced whole (entries from server.yaml stay)."""

    model_config = ConfigDict(extra="forbid")

    devices: Annotated[list[ApprovedDevice], Field(max_length=4096)] = []
    dhcp_servers: Annotated[list[IpAddress], Field(max_length=32)] = []
    gateways: Annotated[list[IpAddress], Field(max_length=32)] = []


class LanApprovedEntry(BaseModel):
    kind: Literal["device", "dhcp_server", "gateway"]
    value: str
    label: str
    origin: Literal["config", "api"]
    site: str = Field(description="the site that approved it (this site or an ancestor)")


class LanApprovedList(BaseModel):
    site: str
    entries: list[LanApprovedEntry] = Field(description="every entry that applies to the site")
