"""Request and response bodies of the HTTP API (the agent report itself is in `report.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrollment_key: SecretStr
    machine_id: Annotated[str, Field(min_length=1, max_length=128)]
    hostname: Annotated[str, Field(min_length=1, max_length=255)]


class EnrollResponse(BaseModel):
    agent_id: str
    token: str = Field(description="Bearer token for this agent; shown only in this reply")
    site: str
    last_seq: int = Field(description="Highest seq already stored for this machine; continue above it")
    settings: dict[str, Any]


class IngestAck(BaseModel):
    accepted: list[int] = Field(description="Seqs stored by this request")
    duplicates: list[int] = Field(description="Seqs already stored with identical content")
    last_seq: int
    settings: dict[str, Any]


HostState = Literal["new", "up", "stale", "down"]


class HostCounts(BaseModel):
    up: int = 0
    stale: int = 0
    down: int = 0
    new: int = 0
    total: int = 0


class SiteStatus(BaseModel):
    code: str
    name: str
    name_en: str | None
    kind: str
    level: int | None
    path: str
    parent: str | None
    contacts: list[dict[str, Any]]
    hosts: HostCounts = Field(description="Hosts attached directly to this site")
    subtree: HostCounts = Field(description="Hosts of this site and every site below it")
    status: Literal["ok", "degraded", "down", "empty"] = Field(
        description="empty: no hosts; down: every host down; degraded: some stale or down; ok otherwise"
    )
    children: list[SiteStatus] = []


class SitesTree(BaseModel):
    sites: list[SiteStatus]


class HostSummary(BaseModel):
    id: str
    hostname: str
    site: str
    state: HostState
    state_changed_at: dt.datetime
    last_report_at: dt.datetime | None
    last_seq: int
    reports_total: int
    agent_version: str | None
    os: str | None


class HostList(BaseModel):
    hosts: list[HostSummary]
    total: int


class HostDetail(HostSummary):
    machine_id: str | None = Field(
        None, description="the machine's identity, which enrollment is bound to: shown to admins only"
    )
    enrolled_at: dt.datetime
    last_collected_at: dt.datetime | None
    identity: dict[str, Any] | None
    metrics: dict[str, Any] | None
    probes: list[dict[str, Any]] | None
    security: dict[str, Any] | None
    security_collected_at: dt.datetime | None
    agent_status: dict[str, Any] | None
    errors: list[dict[str, Any]] | None


class EventOut(BaseModel):
    id: int
    at: dt.datetime
    kind: str
    subject_type: str
    subject_id: str
    site: str | None
    from_state: str | None
    to_state: str | None
    actor: str | None
    message: str
    data: dict[str, Any] | None


class EventList(BaseModel):
    events: list[EventOut]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    schema_current: bool
    version: str
