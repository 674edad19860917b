"""Devices (switches, routers, firewalls polled over SNMP): list, detail, interfaces, neighbours, and
admin create/update/delete. Readers see only their subtree's devices; SNMP secrets go in, never out."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import ValidationError
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from canhgac_api.auth import Principal, Reader, require, scoped, visible_site_path
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
    snmp_config,
)
from canhgac_collector.config import SITE_CODE_RE, DeviceConfig
from canhgac_collector.devices.store import device_fields, new_device
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import (
    ArpEntry,
    Device,
    DeviceInterface,
    DeviceNeighbor,
    MacLocation,
    Site,
)
from canhgac_collector.store.secrets import SecretBox, SecretsError

log = logging.getLogger("canhgac.api.devices")

DeviceName = Annotated[str, Path(pattern=NAME_RE, description="the device's name")]
router = APIRouter(prefix="/api/v1/devices", tags=["devices"])
PLUGIN = Routes("devices", router)
Admin = Annotated[Principal, Depends(require("admin"))]


def name_keys(name: str) -> list[str]:
    """Lookup keys for a system name: 'SW-A1.xa-a.gov.vn' → ['sw-a1.xa-a.gov.vn', 'sw-a1']."""
    low = name.strip().lower()
    if not low:
        return []
    if low.replace(".", "").isdigit():  # an IPv4 address is not a domain name
        return [low]
    short = low.split(".", 1)[0]
    return [low, short] if short and short != low else [low]


def find_device(session: Session, principal: Principal, name: str) -> tuple[Device, Site]:
    """The device `name` if the caller may see it; out of scope looks exactly like absent."""
    stmt = scoped(
        principal, select(Device, Site).join(Site, Device.site_id == Site.id).where(Device.name == name)
    )
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise ProblemError(404, "not-found", "Not found", f"no device {name!r} within your scope")
    return row[0], row[1]


def box(ctx: AppContext) -> SecretBox:
    if ctx.device_secrets is None:
        ctx.device_secrets = SecretBox.for_config(ctx.config)
    return ctx.device_secrets


def summary(device: Device, site: Site) -> dict[str, Any]:
    return {
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


def detail(session: Session, device: Device, site: Site) -> DeviceDetail:
    did = device.id
    n_if, n_up, n_down = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((DeviceInterface.oper_status == "up", 1), else_=0)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            (DeviceInterface.oper_status != "up") & (DeviceInterface.admin_status == "up"),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(DeviceInterface.device_id == did)
    ).one()

    def count(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(model.device_id == did)) or 0)

    return DeviceDetail.model_validate(
        {
            **summary(device, site),
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
            "counts": DeviceCounts(
                interfaces=int(n_if),
                interfaces_up=int(n_up),
                interfaces_down=int(n_down),
                neighbors=count(DeviceNeighbor),
                macs=count(MacLocation),
                arp=count(ArpEntry),
            ),
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
    stmt = scoped(principal, select(Device, Site).join(Site, Device.site_id == Site.id))
    with ctx.sessions() as session:
        if site is not None:
            path = visible_site_path(session, principal, site)
            stmt = stmt.where(Site.path.startswith(path, autoescape=True))
        if state is not None:
            stmt = stmt.where(Device.state == state)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.execute(stmt.order_by(Site.path, Device.name).limit(limit).offset(offset)).all()
        devices = [DeviceSummary.model_validate(summary(d, s)) for d, s in rows]
    return DeviceList(devices=devices, total=total)


@router.get(
    "/{name}",
    response_model=DeviceDetail,
    responses=problem_responses(401, 403, 404),
    summary="One device: system info, state and why, counts (never its SNMP secrets)",
)
def device_detail(name: DeviceName, principal: Reader, ctx: Ctx) -> DeviceDetail:
    with ctx.sessions() as session:
        device, site = find_device(session, principal, name)
        return detail(session, device, site)


@router.get(
    "/{name}/interfaces",
    response_model=InterfaceList,
    responses=problem_responses(401, 403, 404),
    summary="A device's interfaces with status, counters and rates (bit/s, errors/s, utilisation)",
)
def device_interfaces(name: DeviceName, principal: Reader, ctx: Ctx) -> InterfaceList:
    with ctx.sessions() as session:
        device, _site = find_device(session, principal, name)
        rows = session.scalars(
            select(DeviceInterface)
            .where(DeviceInterface.device_id == device.id)
            .order_by(DeviceInterface.if_index)
        ).all()
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
        rows = session.scalars(
            select(DeviceNeighbor)
            .where(DeviceNeighbor.device_id == device.id)
            .order_by(DeviceNeighbor.local_if_index)
        ).all()
        by_name: dict[str, str] = {}  # name key → device name, for devices in scope
        if rows:
            known = scoped(
                principal, select(Device.name, Device.sys_name).join(Site, Device.site_id == Site.id)
            )
            for dev_name, sys_name in session.execute(known):
                for key in (*name_keys(dev_name), *name_keys(sys_name or "")):
                    by_name.setdefault(key, dev_name)
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
                remote_device=next(
                    (by_name[k] for k in name_keys(n.remote_name or "") if k in by_name), None
                ),
                last_seen=n.last_seen,
            )
            for n in rows
        ],
    )


def _site_for_write(session: Session, principal: Principal, code: str) -> Site:
    site = session.scalars(select(Site).where(Site.code == code, Site.active.is_(True))).one_or_none()
    if site is None or not principal.sees_path(site.path):
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
        if session.scalar(select(Device.id).where(Device.name == body.name)) is not None:
            raise ProblemError(
                409, "conflict", "Already exists", f"a device named {body.name!r} already exists"
            )
        cfg = _as_config(lambda: body.to_config(site.code))
        try:
            fields = device_fields(cfg, site.id, box(ctx))
        except SecretsError as exc:
            raise _secrets_unavailable(exc) from None
        device = new_device(body.name, fields, "api")
        session.add(device)
        session.flush()
        record_event(
            session,
            kind="device.added",
            subject_type="device",
            subject_id=device.name,
            site_id=site.id,
            actor=principal.token_id,
            message=f"Thêm thiết bị {device.name} qua API / device added through the API",
        )
        log.info("device added name=%s site=%s by=%s", device.name, site.code, principal.token_id)
        return detail(session, device, site)


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
        changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"snmp", "site"})
        if body.site is not None:
            site = _site_for_write(session, principal, body.site)
            changes["site_id"] = site.id
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
            changes["snmp_version"] = secret["snmp_version"]
            changes["snmp_secret_enc"] = secret["snmp_secret_enc"]
        for key, value in changes.items():
            setattr(device, key, value)
        device.updated_at = dt.datetime.now(dt.UTC)
        session.flush()
        record_event(
            session,
            kind="device.updated",
            subject_type="device",
            subject_id=device.name,
            site_id=site.id,
            actor=principal.token_id,
            message=f"Sửa thiết bị {device.name} / device updated",
            data={"fields": sorted(k for k in body.model_fields_set)},  # names only, never values
        )
        log.info(
            "device updated name=%s fields=%s by=%s",
            name,
            ",".join(sorted(body.model_fields_set)),
            principal.token_id,
        )
        return detail(session, device, site)


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
        record_event(
            session,
            kind="device.removed",
            subject_type="device",
            subject_id=device.name,
            site_id=site.id,
            actor=principal.token_id,
            message=f"Xoá thiết bị {device.name} / device removed",
        )
        session.delete(device)
    log.info("device removed name=%s by=%s", name, principal.token_id)
    return Response(status_code=204)
