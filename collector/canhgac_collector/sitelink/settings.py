"""Configuration of the site line probes: the address a site declares, and how often the server probes.

Only addresses declared here are ever probed (`sites[].link_probe`), never a scan of a range.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, model_validator


class SiteLinkProbe(BaseModel):
    """The site's gateway or public address as seen from the data centre."""

    model_config = ConfigDict(extra="forbid")

    address: IPvAnyAddress
    # icmp: echo requests (where the server may send them), else TCP connects to `port`; tcp: connects only
    method: Literal["icmp", "tcp"] = "icmp"
    port: Annotated[int, Field(ge=1, le=65535)] | None = None

    @model_validator(mode="after")
    def _port_for_tcp(self) -> SiteLinkProbe:
        if self.method == "tcp" and self.port is None:
            raise ValueError(f"link_probe {self.address}: method tcp needs a port")
        return self


class SiteLinkSettings(BaseModel):
    """`site_links`: how the server probes the declared addresses (bounded: `count` packets per site per
    `interval_s`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    interval_s: Annotated[float, Field(ge=1, le=3600)] = 30
    count: Annotated[int, Field(ge=1, le=10)] = 3
    timeout_s: Annotated[float, Field(gt=0, le=10)] = 2
    # A reading older than this many intervals no longer says anything about the line.
    fresh_intervals: Annotated[int, Field(ge=1, le=20)] = 3
