"""Devices (switches, routers, firewalls polled over SNMP): list, detail, interfaces, neighbours, and
admin create/update/delete. Readers see only their subtree's devices; SNMP and SSH secrets go in, never
out."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from canhgac_api.auth import Principal, Reader, require, visible_site_path
from canhgac_api.context import AppContext, Ctx
from canhgac_api.problems import ProblemError, describe_errors, problem_responses, validation_errors
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.devices import (
    NAME_RE,
    DeviceCounts,
    DeviceCreate,
    DeviceDetail,
    DeviceList,
    DeviceState,
    DeviceSummary,
    DeviceUpdate,
    InterfaceList,
    InterfaceOut,
    NeighborList,
    NeighborOut,
    SshOut,
    snmp_config,
)
from canhgac_collector.config import SITE_CODE_RE, DeviceConfig
from canhgac_collector.devices import changes
from canhgac_collector.devices import queries as device_queries
from canhgac_collector.devices.configs.credentials import device_platform, ssh_fields, ssh_secret_flags
from canhgac_collector.devices.edge.view import edge_hostnames, edge_view
from canhgac_collector.devices.store import device_fields
from canhgac_collector.store.models import Device, Site
from canhgac_collector.store.secrets import SecretBox, SecretsError
from canhgac_collector.store.sites import visible_site

log = logging.getLogger("canhgac.api.devices")

DeviceName = Annotated[str, Path(pattern=NAME_RE, description="the device's name")]
router = APIRouter(prefix="/api/v1/devices", tags=["devices"])
PLUGIN = Routes("devices", router)
Admin = Annotated[Principal, Depends(require("admin"))]


def find_device(session: Session, principal: Principal, name: str) -> tuple[Device, Site]:
    """The device `name` if the caller may see it; out of scope looks exactly like absent."""
    row = device_queries.find_device(session, principal.scope_path, name)
    if row is None:
        raise ProblemError(404, "not-found", "Not found", f"no device {name!r} within your scope")
    return row


def box(ctx: AppContext) -> SecretBox:
    if ctx.device_secrets is None:
        ctx.device_secrets = SecretBox.for_config(ctx.config)
    return ctx.device_secrets


def summary(device: Device, site: Site, edge_host: str | None = None) -> dict[str, Any]:
    return {
        **edge_view(device, edge_host),
        "name": device.name,
        "address": device.address,
        "port": device.port,
        "site": site.code,
        "role": device.role,
        "source": device.source,
        "snmp_version": device.snmp_version,
        "vendor": device.vendor,
        "sys_name": device.sys_name,
        "state": device.state,
        "state_reason": device.state_reason,
        "state_changed_at": device.state_changed_at,
        "last_poll_at": device.last_poll_at,
        "last_ok_at": device.last_ok_at,
    }


def ssh_out(device: Device, secrets: SecretBox) -> SshOut | None:
    """The device's SSH settings and backup status, whether each secret is set (never what)."""
    if device.ssh_username is None:
        return None
    try:
        flags: dict[str, bool | None] = dict(ssh_secret_flags(device, secrets))
    except SecretsError:
        flags = {"has_password": None, "has_private_key": None, "has_enable_secret": None}
    return SshOut(
        platform=device_platform(device),
        platform_guessed=device.ssh_platform is None,
        port=device.ssh_port or 22,
        username=device.ssh_username,
        **flags,
        host_key=device.ssh_host_key,
        pending_host_key=device.ssh_pending_host_key,
        last_pull_at=device.config_pull_at,
        last_ok_at=device.config_ok_at,
        status=device.config_status,
        error_kind=device.config_error_kind,
        error=device.config_error,
        pull_requested_at=device.config_pull_requested_at,
    )


def detail(session: Session, device: Device, site: Site, secrets: SecretBox) -> DeviceDetail:
    tallies = device_queries.device_tallies(session, device.id)
    return DeviceDetail.model_validate(
        {
            **summary(device, site, edge_hostnames(session, [device]).get(device.edge_host_id or "")),
            "state_detail": device.state_detail,
            "sys_descr": device.sys_descr,
            "sys_object_id": device.sys_object_id,
            "sys_uptime": device.sys_uptime,
            "sys_contact": device.sys_contact,
            "sys_location": device.sys_location,
            "poll_interval_s": device.poll_interval_s,
            "timeout_s": device.timeout_s,
            "retries": device.retries,
            "poll_duration_s": device.poll_duration_s,
            "resources": device.resources,
            "module_errors": device.module_errors,
            "created_at": device.created_at,
            "updated_at": device.updated_at,
            "counts": DeviceCounts.model_validate(dataclasses.asdict(tallies)),
            "ssh": ssh_out(device, secrets),
        }
    )


@router.get(
    "",
    response_model=DeviceList,
    responses=problem_responses(401, 403, 404),
    summary="Devices in your scope, optionally under one site and in one state",
)
def list_devices(
    principal: Reader,
    ctx: Ctx,
    site: Annotated[
        str | None, Query(pattern=SITE_CODE_RE, description="site code: that site's whole subtree")
    ] = None,
    state: DeviceState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeviceList:
    with ctx.sessions() as session:
        subtree = visible_site_path(session, principal, site) if site is not None else None
        found = device_queries.list_devices(
            session, principal.scope_path, subtree=subtree, state=state, limit=limit, offset=offset
        )
        hosts = edge_hostnames(session, [d for d, _ in found.rows])
        devices = [
            DeviceSummary.model_validate(summary(d, s, hosts.get(d.edge_host_id or "")))
            for d, s in found.rows
        ]
    return DeviceList(devices=devices, total=found.total)


@router.get(
    "/{name}",
    response_model=DeviceDetail,
    responses=problem_responses(401, 403, 404),
    summary="One device: system info, state and why, counts (never its SNMP secrets)",
)
def device_detail(name: DeviceName, principal: Reader, ctx: Ctx) -> DeviceDetail:
    with ctx.sessions() as session:
        device, site = find_device(session, principal, name)
        return detail(session, device, site, box(ctx))


@router.get(
    "/{name}/interfaces",
    response_model=InterfaceList,
    responses=problem_responses(401, 403, 404),
    summary="A device's interfaces with status, counters and rates (bit/s, errors/s, utilisation)",
)
def device_interfaces(name: DeviceName, principal: Reader, ctx: Ctx) -> InterfaceList:
    with ctx.sessions() as session:
        device, _site = find_device(session, principal, name)
        rows = device_queries.device_interfaces(session, device.id)
    return InterfaceList(
        device=name,
        interfaces=[
            InterfaceOut(
                ifIndex=i.if_index,
                ifName=i.if_name,
                ifDescr=i.if_descr,
                ifAlias=i.if_alias,
                ifType=i.if_type,
                ifMtu=i.if_mtu,
                speed_bps=i.speed_bps,
                ifPhysAddress=i.if_phys_address,
                ifAdminStatus=i.admin_status,
                ifOperStatus=i.oper_status,
                counters=i.counters,
                in_bps=i.in_bps,
                out_bps=i.out_bps,
                in_errors_ps=i.in_errors_ps,
                out_errors_ps=i.out_errors_ps,
                in_discards_ps=i.in_discards_ps,
                out_discards_ps=i.out_discards_ps,
                utilisation=i.utilisation,
                updated_at=i.updated_at,
            )
            for i in rows
        ],
    )


@router.get(
    "/{name}/neighbors",
    response_model=NeighborList,
    responses=problem_responses(401, 403, 404),
    summary="A device's LLDP/CDP neighbours, matched to known devices where possible",
)
def device_neighbors(name: DeviceName, principal: Reader, ctx: Ctx) -> NeighborList:
    with ctx.sessions() as session:
        device, _site = find_device(session, principal, name)
        rows = device_queries.device_neighbors(session, principal.scope_path, device.id)
    return NeighborList(
        device=name,
        neighbors=[
            NeighborOut(
                protocol=n.protocol,
                local_ifIndex=n.local_if_index,
                local_port=n.local_port,
                remote_name=n.remote_name,
                remote_port=n.remote_port,
                remote_chassis_id=n.remote_chassis_id,
                remote_address=n.remote_address,
                remote_device=known,
                last_seen=n.last_seen,
            )
            for n, known in rows
        ],
    )


def _site_for_write(session: Session, principal: Principal, code: str) -> Site:
    site = visible_site(session, code, principal.scope_path, active_only=True)
    if site is None:
        raise ProblemError(404, "not-found", "Not found", f"no active site {code!r} within your scope")
    return site


def _as_config(make: Callable[[], DeviceConfig]) -> DeviceConfig:
    try:
        return make()
    except ValidationError as exc:  # the request schema states the same rules; kept as a safety net
        errors = validation_errors(exc.errors())
        raise ProblemError(
            422, "invalid-request", "Request failed validation", describe_errors(errors), errors=errors
        ) from None


def _secrets_unavailable(exc: SecretsError) -> ProblemError:
    log.error("device secrets unavailable: %s", exc)
    return ProblemError(
        503,
        "secrets-unavailable",
        "Device secrets unavailable",
        "the server cannot use its device secrets key file; see the server log",
    )


def _read_only(device: Device) -> ProblemError:
    return ProblemError(
        409,
        "config-managed",
        "Device managed by the configuration",
        f"device {device.name!r} is defined in the server configuration file; change it there "
        "(thiết bị được khai báo trong tệp cấu hình máy chủ: hãy sửa ở đó)",
    )


@router.post(
    "",
    response_model=DeviceDetail,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 503),
    summary="Add a device to poll (admin). SNMP secrets are stored encrypted and never returned",
)
def create_device(body: DeviceCreate, principal: Admin, ctx: Ctx) -> DeviceDetail:
    with ctx.sessions.begin() as session:
        site = _site_for_write(session, principal, body.site)
        if device_queries.device_name_taken(session, body.name):
            raise ProblemError(
                409, "conflict", "Already exists", f"a device named {body.name!r} already exists"
            )
        cfg = _as_config(lambda: body.to_config(site.code))
        try:
            fields = device_fields(cfg, site.id, box(ctx))
        except SecretsError as exc:
            raise _secrets_unavailable(exc) from None
        device = changes.add_device(session, body.name, site, fields, actor=principal.token_id)
        log.info("device added name=%s site=%s by=%s", device.name, site.code, principal.token_id)
        return detail(session, device, site, box(ctx))


@router.patch(
    "/{name}",
    response_model=DeviceDetail,
    responses=problem_responses(401, 403, 404, 409, 503),
    summary="Change a device added through the API (admin); config devices are read-only here",
)
def update_device(name: DeviceName, body: DeviceUpdate, principal: Admin, ctx: Ctx) -> DeviceDetail:
    with ctx.sessions.begin() as session:
        device, site = find_device(session, principal, name)
        if device.source == "config":
            raise _read_only(device)
        columns = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"snmp", "site", "ssh"})
        if body.site is not None:
            site = _site_for_write(session, principal, body.site)
            columns["site_id"] = site.id
        if body.snmp is not None:
            # Validate the whole device with its new credentials as the config would.
            snmp = body.snmp
            merged = _as_config(
                lambda: DeviceConfig(
                    name=device.name, address=device.address, site=site.code, snmp=snmp_config(snmp)
                )
            )
            try:
                secret = device_fields(merged, site.id, box(ctx))
            except SecretsError as exc:
                raise _secrets_unavailable(exc) from None
            columns["snmp_version"] = secret["snmp_version"]
            columns["snmp_secret_enc"] = secret["snmp_secret_enc"]
        if "ssh" in body.model_fields_set:
            try:
                columns.update(ssh_fields(body.ssh.to_config() if body.ssh else None, box(ctx)))
            except SecretsError as exc:
                raise _secrets_unavailable(exc) from None
        changes.change_device(
            session, device, site, columns, asked=body.model_fields_set, actor=principal.token_id
        )
        log.info(
            "device updated name=%s fields=%s by=%s",
            name,
            ",".join(sorted(body.model_fields_set)),
            principal.token_id,
        )
        return detail(session, device, site, box(ctx))


@router.delete(
    "/{name}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409),
    summary="Remove a device added through the API, with its interfaces, neighbours and locations (admin)",
)
def delete_device(name: DeviceName, principal: Admin, ctx: Ctx) -> Response:
    with ctx.sessions.begin() as session:
        device, site = find_device(session, principal, name)
        if device.source == "config":
            raise _read_only(device)
        changes.remove_device(session, device, site, actor=principal.token_id)
    log.info("device removed name=%s by=%s", name, principal.token_id)
    return Response(status_code=204)
