"""Device configuration history: versions, one version's text, diffs, approval, the pending SSH host
key, and "pull now". Scoped like every device route (out of scope answers 404); texts and diffs are
masked, and only an admin may ask for them raw (`raw=true`: the restore-ready text)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from canhgac_api.auth import Principal, Reader, require
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.routes.devices import DeviceName, find_device
from canhgac_api.schemas.configs import (
    ApproveIn,
    ConfigDiff,
    ConfigVersionList,
    ConfigVersionOut,
    ConfigVersionText,
    HostKeyAccepted,
    PullRequested,
)
from canhgac_collector.devices.configs import queries
from canhgac_collector.devices.configs.credentials import device_platform
from canhgac_collector.devices.configs.history import (
    ApprovalError,
    accept_host_key,
    approve_version,
    display_text,
    request_pull,
    unified_diff,
)
from canhgac_collector.store.models import Device, DeviceConfigVersion

log = logging.getLogger("canhgac.api.configs")

router = APIRouter(prefix="/api/v1/devices/{name}/configs", tags=["devices"])
PLUGIN = Routes("configs", router)
Approver = Annotated[Principal, Depends(require("auditor", "admin"))]
Puller = Annotated[Principal, Depends(require("operator", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="version number")]
OptionalVersion = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def version_out(row: DeviceConfigVersion) -> ConfigVersionOut:
    return ConfigVersionOut(
        version=row.version,
        platform=row.platform,
        pulled_at=row.pulled_at,
        seen_at=row.seen_at,
        content_sha256=row.content_sha256,
        lines_added=row.lines_added,
        lines_removed=row.lines_removed,
        sections=list(row.sections),
        approved=row.approved_at is not None,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        approval_comment=row.approval_comment,
    )


def _no_version(device: Device, version: int | None) -> ProblemError:
    which = f"version {version}" if version is not None else "any stored version"
    return ProblemError(404, "not-found", "Not found", f"device {device.name!r} has no {which}")


def _raw_allowed(principal: Principal, raw: bool) -> None:
    if raw and principal.role != "admin":
        raise ProblemError(403, "forbidden", "Forbidden", "only an admin may read a raw config (raw=true)")


@router.get(
    "",
    response_model=ConfigVersionList,
    responses=problem_responses(401, 403, 404),
    summary="A device's stored configuration versions, newest first (no texts)",
)
def list_versions(name: DeviceName, principal: Reader, ctx: Ctx) -> ConfigVersionList:
    with ctx.sessions() as session:
        device, _site = find_device(session, principal, name)
        rows = queries.list_versions(session, device.id)
        return ConfigVersionList(
            device=device.name,
            platform=device_platform(device),
            versions=[version_out(r) for r in rows],
        )


@router.get(
    "/diff",
    response_model=ConfigDiff,
    responses=problem_responses(401, 403, 404),
    summary="Unified diff between two versions (default: the newest and the one before), masked unless "
    "raw=true (admin only)",
)
def diff_versions(
    name: DeviceName,
    principal: Reader,
    ctx: Ctx,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=2**31 - 1)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=2**31 - 1)] = None,
    raw: Annotated[bool, Query(description="secrets included (admin only)")] = False,
) -> ConfigDiff:
    _raw_allowed(principal, raw)
    with ctx.sessions() as session:
        device, _site = find_device(session, principal, name)
        new = queries.get_version(session, device.id, to_version)
        if new is None:
            raise _no_version(device, to_version)
        if from_version is None:
            old = queries.version_before(session, device.id, new.version)
        else:
            old = queries.get_version(session, device.id, from_version)
            if old is None:
                raise _no_version(device, from_version)
        return ConfigDiff(
            device=device.name,
            from_version=old.version if old is not None else None,
            to_version=new.version,
            masked=not raw,
            diff=unified_diff(old, new, raw=raw),
        )


@router.get(
    "/{version}",
    response_model=ConfigVersionText,
    responses=problem_responses(401, 403, 404),
    summary="One version's text: masked, or as pulled with raw=true (admin only)",
)
def show_version(
    name: DeviceName,
    version: Version,
    principal: Reader,
    ctx: Ctx,
    raw: Annotated[bool, Query(description="the text as pulled, secrets included (admin only)")] = False,
) -> ConfigVersionText:
    _raw_allowed(principal, raw)
    with ctx.sessions() as session:
        device, _site = find_device(session, principal, name)
        row = queries.get_version(session, device.id, version)
        if row is None:
            raise _no_version(device, version)
        return ConfigVersionText(
            **version_out(row).model_dump(),
            device=device.name,
            masked=not raw,
            text=display_text(row, raw=raw),
        )


@router.post(
    "/{version}/approve",
    response_model=ConfigVersionOut,
    responses=problem_responses(401, 403, 404, 422),
    summary="Approve a version, with a comment (auditor, admin)",
)
def approve(
    name: DeviceName, version: Version, body: ApproveIn, principal: Approver, ctx: Ctx
) -> ConfigVersionOut:
    with ctx.sessions.begin() as session:
        device, _site = find_device(session, principal, name)
        try:
            row = approve_version(
                session, device, version, approved_by=f"token:{principal.token_id}", comment=body.comment
            )
        except ApprovalError as exc:
            raise ProblemError(422, "invalid-request", "Request failed validation", str(exc)) from None
        if row is None:
            raise _no_version(device, version)
        log.info("config approved device=%s version=%d by=%s", name, version, principal.token_id)
        return version_out(row)


@router.post(
    "/host-key/accept",
    response_model=HostKeyAccepted,
    responses=problem_responses(401, 403, 404, 409),
    summary="Accept the SSH host key the device presented after a change, and pull again (admin)",
)
def accept_pending_host_key(name: DeviceName, principal: Admin, ctx: Ctx) -> HostKeyAccepted:
    with ctx.sessions.begin() as session:
        device, _site = find_device(session, principal, name)
        if not accept_host_key(session, device.id, f"token:{principal.token_id}"):
            raise ProblemError(
                409,
                "no-pending-host-key",
                "No pending host key",
                f"device {name!r} presented no new SSH host key (không có khoá mới chờ duyệt)",
            )
        log.info("ssh host key accepted device=%s by=%s", name, principal.token_id)
        return HostKeyAccepted(device=device.name, host_key=device.ssh_host_key or "")


@router.post(
    "/pull",
    status_code=202,
    response_model=PullRequested,
    responses=problem_responses(401, 403, 404, 409),
    summary="Ask for a config pull now (operator, admin); the scheduler runs it",
)
def pull_now(name: DeviceName, principal: Puller, ctx: Ctx) -> PullRequested:
    with ctx.sessions.begin() as session:
        device, _site = find_device(session, principal, name)
        if device.ssh_username is None:
            raise ProblemError(
                409,
                "no-ssh",
                "No SSH settings",
                f"device {name!r} has no ssh settings to pull its config with (chưa cấu hình SSH)",
            )
        requested = request_pull(session, device, f"token:{principal.token_id}")
    if ctx.server is not None:
        ctx.server.config_pulls.wake()  # look for it now, not at the next check
    return PullRequested(device=device.name, pull_requested_at=requested)
