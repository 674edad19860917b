"""Bodies of the device config history endpoints (`/api/v1/devices/{name}/configs…`). Config texts are
masked for every role but admin; `masked` says which one a response holds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from canhgac_collector.devices.configs.history import MAX_COMMENT_CHARS


class ConfigVersionOut(BaseModel):
    version: int
    platform: str
    pulled_at: dt.datetime = Field(description="first pulled with this content")
    seen_at: dt.datetime = Field(description="the newest pull that found it unchanged")
    content_sha256: str = Field(description="SHA-256 of the normalised text (volatile lines removed)")
    lines_added: int = Field(description="vs the version before")
    lines_removed: int
    sections: list[str] = Field(description="sections the change touched")
    approved: bool
    approved_by: str | None
    approved_at: dt.datetime | None
    approval_comment: str | None


class ConfigVersionList(BaseModel):
    device: str
    platform: str | None = Field(description="configured or guessed; None: unknown")
    versions: list[ConfigVersionOut] = Field(description="newest first")


class ConfigVersionText(ConfigVersionOut):
    device: str
    masked: bool = Field(description="secrets replaced by ******; false only for admins asking raw=true")
    text: str


class ConfigDiff(BaseModel):
    device: str
    from_version: int | None = Field(description="None: the diff is from nothing (the first version)")
    to_version: int
    masked: bool
    diff: str = Field(description="unified diff")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT_CHARS, pattern=r"\S")]


class HostKeyAccepted(BaseModel):
    device: str
    host_key: str = Field(description="the key now pinned")


class PullRequested(BaseModel):
    device: str
    pull_requested_at: dt.datetime = Field(description="the scheduler pulls the device as soon as it can")
