"""Engine targets from the state store, for a site subtree.

- host targets: each agent's newest security facts plus its identity from its latest report (the shape
  the offline auditor reads from `canhgac-agent once --json` outputs);
- device-config targets: one per device, judged on its newest pulled running config (`devices/configs/`)
  with the `config_change` fact (versions, approval) beside the parsed facts; a device whose newest pull
  failed, that was never pulled, or that has no `ssh:` settings is an `error` target saying which (never
  a silent pass);
- `snmp` device targets: what the poller stored (system group, IF-MIB, resources) plus the answer of an
  optional active probe of the vendor-default communities;
- one `site` target: inventory and topology (roles, LLDP links between known devices, redundancy,
  unknown MACs and neighbours, management addresses vs the site's `management_networks`, and the live
  LLDP/CDP links against the newest approved topology snapshot).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.devices.configs.queries import ConfigState, config_states
from canhgac_collector.devices.configs.target import AUDIT_PLATFORM
from canhgac_collector.devices.queries import name_keys
from canhgac_collector.devices.topology import topology_drift
from canhgac_collector.lan.inventory import merged_inventory
from canhgac_collector.store.models import (
    Device,
    DeviceInterface,
    DeviceNeighbor,
    Host,
    Site,
)
from canhgac_collector.store.secrets import SecretBox, SecretsError
from canhgac_rules.configs import PLATFORMS, ConfigParseError, parse_config
from canhgac_rules.engine import Target

DEFAULT_COMMUNITIES = ("public", "private")
# IF-MIB ifType values of physical Ethernet ports (ethernetCsmacd, iso88023Csmacd, fastEther,
# gigabitEthernet): the ports NW-26 is about (not VLAN interfaces, loopbacks, tunnels, LAGs).
PHYSICAL_IF_TYPES = frozenset({6, 7, 62, 69, 117})
# Vendor (from sysObjectID) → config parser platform of the device-config pack.
VENDOR_PLATFORM = {
    "cisco": "cisco_ios",
    "huawei": "huawei_vrp",
    "h3c": "hp_comware",
    "juniper": "juniper_junos",
}
ROLE_TIERS = ("core", "firewall", "router", "distribution", "access", "other")
NEVER_POLLED = "chưa thăm dò SNMP thành công / never polled successfully over SNMP"
NO_SSH = (
    "không có cấu hình / no config available: the device has no ssh: settings, so its running config "
    "is not pulled (add an ssh: block, or audit saved configs with --offline --configs DIR)"
)
NOT_PULLED = "chưa lấy được cấu hình / config not pulled yet: the first scheduled pull has not run"


@dataclass(frozen=True)
class StoreScope:
    """The scanned subtree: its root site (id, code, name, path) and effective declared level."""

    site_id: int
    code: str
    name: str
    path: str
    declared_level: int | None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _norm_mac(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    mac = text.strip().lower().replace("-", ":")
    return mac if len(mac) == 17 else None


def _host_identity(latest_report: bytes | None) -> dict[str, Any]:
    if not latest_report:
        return {}
    try:
        report = json.loads(latest_report)
    except (ValueError, UnicodeDecodeError):
        return {}
    return report if isinstance(report, dict) else {}


def _identity(latest_report: bytes | None) -> dict[str, Any] | None:
    """The `host` section (identity: hostname, os…) of an agent's latest report, if it has one."""
    host = _host_identity(latest_report).get("host")
    return host if isinstance(host, dict) else None


def store_targets(session: Session, scope: StoreScope) -> list[Target]:
    """Hosts and devices of the site subtree as audit targets (hosts first, by name); a device is judged
    on its newest pulled config, or is an `error` target saying why there is none."""
    in_subtree = Site.path.startswith(scope.path, autoescape=True)
    targets: list[Target] = []
    hosts = session.execute(
        select(Host, Site.code).join(Site, Host.site_id == Site.id).where(in_subtree).order_by(Host.hostname)
    )
    for host, site_code in hosts:
        identity = _identity(host.latest_report)
        source = f"store:{site_code}/host/{host.id}"
        if not host.security:
            reason = "chưa nhận dữ liệu bảo mật / no security facts received yet from this agent (hourly)"
            targets.append(Target(name=host.hostname, kind="host", facts=None, source=source, error=reason))
            continue
        facts = dict(host.security)
        if identity is not None:
            facts["host"] = identity
        os_info = (identity or {}).get("os") or {}
        targets.append(
            Target(
                name=host.hostname,
                kind="host",
                facts=facts,
                platform=str(facts.get("platform")) if facts.get("platform") else None,
                os=os_info.get("distro_id") or (str(os_info.get("system", "")).lower() or None),
                source=source,
                hostname=host.hostname,
            )
        )
    devices = session.execute(
        select(Device, Site.code)
        .join(Site, Device.site_id == Site.id)
        .where(in_subtree)
        .order_by(Device.name)
    )
    rows = list(devices)
    states = config_states(session, [device.id for device, _ in rows])
    for device, site_code in rows:
        targets.append(_config_target(device, site_code, states.get(device.id)))
    return targets


def config_change_fact(state: ConfigState) -> dict[str, Any]:
    """The NW-31 evidence: how many versions, which one is approved, whether the newest pull worked."""
    return {
        "versions": state.versions,
        "latest_version": state.latest_version,
        "approved_version": state.approved_version,
        "latest_is_approved": state.latest_is_approved,
        "approved_by": state.approved_by,
        "approved_at": _iso(state.approved_at),
        "comment": state.approval_comment,
        "last_pull_error": state.last_pull_error,
    }


def _config_target(device: Device, site_code: str, state: ConfigState | None) -> Target:
    """The device judged on its newest pulled config; an `error` target when there is none to judge."""
    source = f"store:{site_code}/device/{device.name}"
    base = Target(
        name=device.name,
        kind="device",
        facts=None,
        role=device.role,
        source=source,
        hostname=device.sys_name,
        candidate_platforms=PLATFORMS,
    )
    if device.ssh_username is None:
        return dataclasses.replace(base, error=NO_SSH)
    if state is None or state.latest_text is None:
        reason = NOT_PULLED
        if state is not None and state.last_pull_error:
            reason = f"không lấy được cấu hình / config pull failed: {state.last_pull_error}"
        return dataclasses.replace(base, error=reason)
    if state.last_pull_error:  # a stored version exists, but the device no longer answers as it should
        when = _iso(state.latest_pulled_at) or "?"
        return dataclasses.replace(
            base,
            error=f"không lấy được cấu hình / config pull failed: {state.last_pull_error} "
            f"(newest stored version {state.latest_version}, pulled {when})",
        )
    source = f"{source}/config/v{state.latest_version}"
    platform = AUDIT_PLATFORM.get(state.platform or "")
    try:
        parsed = parse_config(state.latest_text, platform=platform, source=source)
    except ConfigParseError as exc:
        lines = state.latest_text.splitlines()
        line_text = lines[exc.line - 1] if 0 < exc.line <= len(lines) else ""
        return dataclasses.replace(
            base,
            source=source,
            platform=platform,
            error=f"lỗi phân tích cấu hình / config parse error: {exc}",
            error_line=(exc.line, line_text),
        )
    facts = dict(parsed.facts)
    facts["config_change"] = config_change_fact(state)
    hostname = facts.get("hostname")
    return dataclasses.replace(
        base,
        facts=facts,
        platform=parsed.platform,
        source=source,
        lines_for=parsed.lines_for,
        hostname=str(hostname) if hostname else device.sys_name,
        candidate_platforms=None,
    )


def host_and_config_targets(session: Session, scope: StoreScope) -> list[Target]:
    """Hosts (security facts + identity) and device-config targets; a device without a parsed config
    gets its platform from its vendor where the device-config pack knows it."""
    out: list[Target] = []
    vendors = dict(
        session.execute(
            select(Device.name, Device.vendor)
            .join(Site, Device.site_id == Site.id)
            .where(Site.path.startswith(scope.path, autoescape=True))
        ).all()
    )
    for target in store_targets(session, scope):
        if target.kind == "device" and target.platform is None:
            platform = VENDOR_PLATFORM.get(vendors.get(target.name) or "")
            out.append(dataclasses.replace(target, platform=platform))
        else:
            out.append(target)
    return out


def _snmp_security(device: Device, box: SecretBox | None) -> tuple[str | None, bool | None]:
    """('v1' | 'v2c' | 'v3-authPriv' | 'v3-authNoPriv' | 'v3-noAuthNoPriv', community is a default);
    None where the secrets cannot be read (no key): the rule then errs instead of guessing."""
    creds = None
    if box is not None:
        try:
            creds = box.credentials(device.snmp_secret_enc)
        except (SecretsError, KeyError, ValueError, OSError):
            creds = None
    if device.snmp_version in ("1", "2c"):
        security = "v1" if device.snmp_version == "1" else "v2c"
        is_default = (
            None if creds is None else creds.community.decode(errors="replace") in DEFAULT_COMMUNITIES
        )
        return security, is_default
    if creds is None:
        return None, False
    if creds.auth_protocol == "none":
        return "v3-noAuthNoPriv", False
    if creds.priv_protocol == "none":
        return "v3-authNoPriv", False
    return "v3-authPriv", False


def _silent_days(iface: DeviceInterface, now: dt.datetime) -> float | None:
    """Days a port has been in its state: since its last change (ifLastChange or a link trap; at
    least since boot when the device says "before the last restart"); 0 when up, None when unknown."""
    if iface.oper_status == "up":
        return 0.0
    if iface.last_change_at is None:
        return None
    return round(max(0.0, (now - iface.last_change_at).total_seconds()) / 86400, 2)


def snmp_targets(
    session: Session,
    scope: StoreScope,
    *,
    box: SecretBox | None = None,
    probe: Mapping[str, Sequence[str]] | None = None,
) -> list[Target]:
    """One `snmp` target per device of the subtree. `probe`: device name → default communities that
    answered (absent or None: no probe ran, so the probe rule errs with "not known")."""
    now = dt.datetime.now(dt.UTC)
    rows = session.execute(
        select(Device, Site.code)
        .join(Site, Device.site_id == Site.id)
        .where(Site.path.startswith(scope.path, autoescape=True))
        .order_by(Device.name)
    ).all()
    ids = [d.id for d, _ in rows]
    interfaces: dict[int, list[DeviceInterface]] = {}
    if ids:
        for iface in session.scalars(
            select(DeviceInterface)
            .where(DeviceInterface.device_id.in_(ids))
            .order_by(DeviceInterface.device_id, DeviceInterface.if_index)
        ):
            interfaces.setdefault(iface.device_id, []).append(iface)
    targets: list[Target] = []
    for device, site_code in rows:
        source = f"store:{site_code}/device/{device.name}/snmp"

        if device.last_ok_at is None:
            reason = f"{NEVER_POLLED} (state {device.state}: {device.state_reason or '-'})"
            targets.append(_snmp_target(device, source, None, reason))
            continue
        uptime_days = device.sys_uptime / 100 / 86400 if device.sys_uptime is not None else None
        security, is_default = _snmp_security(device, box)
        answered = probe.get(device.name) if probe is not None else None
        resources = device.resources or {}
        facts: dict[str, Any] = {
            "name": device.name,
            "site": site_code,
            "role": device.role,
            "address": device.address,
            "vendor": device.vendor,
            "sys_name": device.sys_name,
            "sys_descr": device.sys_descr,
            "sys_object_id": device.sys_object_id,
            "sys_contact": device.sys_contact,
            "sys_location": device.sys_location,
            "state": device.state,
            "last_ok_at": _iso(device.last_ok_at),
            "uptime_days": round(uptime_days, 2) if uptime_days is not None else None,
            "snmp": {
                "version": device.snmp_version,
                "security": security,
                "community_is_default": is_default,
                "default_communities_answering": list(answered) if answered is not None else None,
            },
            "resources": {
                "cpu_percent": resources.get("cpu_percent"),
                "memory_total_bytes": resources.get("memory_total_bytes"),
            },
            "interfaces": [
                {
                    "name": iface.if_name or iface.if_descr or str(iface.if_index),
                    "if_index": iface.if_index,
                    "type": iface.if_type,
                    "physical": iface.if_type in PHYSICAL_IF_TYPES,
                    "admin_status": iface.admin_status,
                    "oper_status": iface.oper_status,
                    "silent_days": _silent_days(iface, now),
                }
                for iface in interfaces.get(device.id, [])
            ],
        }
        targets.append(_snmp_target(device, source, facts))
    return targets


def _snmp_target(
    device: Device, source: str, facts: dict[str, Any] | None, error: str | None = None
) -> Target:
    return Target(
        name=device.name,
        kind="device",
        facts=facts,
        platform="snmp",
        role=device.role,
        source=source,
        hostname=device.sys_name,
        error=error,
    )


def _in_networks(address: str, networks: Sequence[str]) -> bool | None:
    """Whether `address` lies in one of `networks`; None when it is a name, not an IP address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


MAX_LISTED_HOSTS = 50


def endpoint_coverage(hosts: Iterable[Host]) -> dict[str, Any]:
    """How many of the subtree's enrolled hosts report a running anti-malware/EDR agent connected to its
    manager (HS-02 coverage against the inventory): a host that does not say counts as not covered."""
    total = managed = unknown = 0
    uncovered: list[str] = []
    for host in hosts:
        total += 1
        facts = (host.security or {}).get("endpoint_management")
        state = facts.get("managed") if isinstance(facts, dict) else None
        if state is True:
            managed += 1
            continue
        if state is None:
            unknown += 1
        if len(uncovered) < MAX_LISTED_HOSTS:
            uncovered.append(host.hostname)
    return {
        "hosts": total,
        "managed": managed,
        "unknown": unknown,
        "coverage": round(managed / total, 4) if total else None,
        "uncovered_hosts": uncovered,
    }


def site_target(
    session: Session,
    scope: StoreScope,
    *,
    management_networks: Mapping[str, Sequence[str]] | None = None,
    public_exposure: Mapping[str, Any] | None = None,
) -> Target:
    """The subtree as one `site` target: devices with roles, uplinks and management addresses, hosts,
    redundancy counts and unknown devices. `management_networks`: site code → CIDRs (inherited);
    `public_exposure`: what the public-address check found (absent when it did not run)."""
    nets_by_site = management_networks or {}
    in_subtree = Site.path.startswith(scope.path, autoescape=True)
    rows = session.execute(
        select(Device, Site.code)
        .join(Site, Device.site_id == Site.id)
        .where(in_subtree)
        .order_by(Device.name)
    ).all()
    all_devices = session.execute(select(Device.id, Device.name, Device.sys_name)).all()
    device_by_key: dict[str, str] = {}
    for _id, name, sys_name in all_devices:
        for key in (*name_keys(name), *name_keys(sys_name)):
            device_by_key.setdefault(key, name)
    hosts = session.execute(
        select(Host, Site.code).join(Site, Host.site_id == Site.id).where(in_subtree).order_by(Host.hostname)
    ).all()
    host_keys = {k for (hn,) in session.execute(select(Host.hostname)).all() for k in name_keys(hn)}
    neighbour_macs: set[str] = set()  # chassis MACs of unknown neighbours: reported once, as such

    ids = [d.id for d, _ in rows]
    names = {d.id: d.name for d, _ in rows}
    neighbors = (
        session.scalars(select(DeviceNeighbor).where(DeviceNeighbor.device_id.in_(ids))).all() if ids else []
    )
    # Neighbour rows of devices outside the subtree that point into it count as the other end of a link.
    inbound = session.scalars(select(DeviceNeighbor)).all() if ids else []
    local_uplinks: dict[str, set[str]] = {}
    remote_uplinks: dict[str, set[tuple[str, str]]] = {}
    unknown: dict[str, dict[str, Any]] = {}
    for n in neighbors:
        me = names[n.device_id]
        peer = next((device_by_key[k] for k in name_keys(n.remote_name) if k in device_by_key), None)
        if peer is not None and peer != me:
            local_uplinks.setdefault(me, set()).add(n.local_port or str(n.local_if_index))
        elif peer is None and not any(k in host_keys for k in name_keys(n.remote_name)):
            ident = n.remote_name or n.remote_chassis_id or "?"
            unknown.setdefault(
                f"neighbor:{ident}",
                {"id": ident, "kind": "neighbor", "device": me, "port": n.local_port, "protocol": n.protocol},
            )
            chassis = _norm_mac(n.remote_chassis_id)
            if chassis:
                neighbour_macs.add(chassis)
    all_names = {d_id: name for d_id, name, _ in all_devices}
    for n in inbound:
        src = all_names.get(n.device_id)
        peer = next((device_by_key[k] for k in name_keys(n.remote_name) if k in device_by_key), None)
        if src and peer and peer != src:
            remote_uplinks.setdefault(peer, set()).add((src, n.local_port or str(n.local_if_index)))

    # NW-22: the merged LAN inventory (sensor, FDB, ARP) less what is approved, an agent host or a device
    for seen in merged_inventory(session, scope.path):
        if seen.known or seen.mac in neighbour_macs:
            continue
        port = seen.ports[0] if seen.ports else {}
        unknown.setdefault(
            f"mac:{seen.mac}",
            {
                "id": seen.mac,
                "kind": "mac",
                "device": port.get("device"),
                "port": port.get("port"),
                "vlan": port.get("vlan"),
                "ips": seen.ips,
                "sources": sorted(seen.sources),
                "seen_by": sorted(seen.seen_by),
                "last_seen": _iso(seen.last_seen),
            },
        )

    scope_nets = sorted(
        {str(net) for code in {c for _, c in rows} | {scope.code} for net in nets_by_site.get(code, ())}
    )
    devices: list[dict[str, Any]] = []
    for device, site_code in rows:
        item: dict[str, Any] = {
            "name": device.name,
            "site": site_code,
            "role": device.role,
            "state": device.state,
            "management_address": device.address,
            "uplinks": max(len(local_uplinks.get(device.name, ())), len(remote_uplinks.get(device.name, ()))),
            "sys_name": device.sys_name,
            "sys_descr": device.sys_descr,
            "vendor": device.vendor,
            "sys_location": device.sys_location,
            "last_ok_at": _iso(device.last_ok_at),
        }
        nets = [str(n) for n in nets_by_site.get(site_code, ())]
        if nets:  # without declared networks the fact is missing: the NW-03 rule errs, never passes
            item["management_address_in_network"] = _in_networks(device.address, nets)
        devices.append(item)
    by_role: dict[str, int] = {}
    for d in devices:
        by_role[d["role"]] = by_role.get(d["role"], 0) + 1
    main_role = next((role for role in ROLE_TIERS if by_role.get(role)), None)
    facts: dict[str, Any] = {
        "site": scope.code,
        "management_networks": scope_nets or None,
        "counts": {"devices": len(devices), "hosts": len(hosts), "devices_by_role": by_role},
        "devices": devices,
        "hosts": [
            {"name": h.hostname, "site": code, "state": h.state, "last_report_at": _iso(h.last_report_at)}
            for h, code in hosts
        ],
        "redundancy": {"main_role": main_role, "main_devices": by_role.get(main_role, 0) if main_role else 0},
        "unknown_devices": list(unknown.values()),
        "topology": topology_drift(session, scope.site_id, scope.path),
        "endpoint_management": endpoint_coverage(h for h, _ in hosts),
    }
    if public_exposure is not None:
        facts["public_exposure"] = dict(public_exposure)
    return Target(
        name=f"site:{scope.code}",
        kind="site",
        facts=facts,
        platform="site",
        source=f"store:{scope.code}",
        hostname=scope.name,
    )
