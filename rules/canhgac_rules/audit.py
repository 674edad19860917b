"""Offline audit: a folder of saved device configs and/or agent outputs → targets → scan → report data.

Configs: any file in `--configs` (vendor detected from content unless `--platform`), parsed once per
file. Facts: `canhgac-agent once --json` outputs (a whole report: its `security` section plus `host`
identity) or bare security-facts JSON. A roles file (YAML `devices: {name: {role: core}}`) gives device
roles; a device it lists with no config file becomes an `error` target ("no config available").
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from canhgac_rules.engine import ScanResult, Target, diff_findings, run_scan
from canhgac_rules.loader import LoadedPack
from canhgac_rules.report import finding_docs, report_document, tool_version

ROLES = ("core", "distribution", "access", "router", "firewall")
_ROLE_HINTS = (
    (re.compile(r"(?i)core|lõi|loi"), "core"),
    (re.compile(r"(?i)dist|agg"), "distribution"),
    (re.compile(r"(?i)rtr|router"), "router"),
    (re.compile(r"(?i)firewall|(?:^|[-_.])fw(?:$|[-_.\d])"), "firewall"),
    (re.compile(r"(?i)acc|asw|edge|xa|phuong"), "access"),
)


class AuditInputError(ValueError):
    """A usage problem with the audit's inputs (missing folder, bad roles file…): exit code 2."""


@dataclass(frozen=True)
class DeviceRole:
    role: str | None
    source: str  # "roles file", "hostname", "config", or "unknown"


def load_roles(path: Path | None) -> dict[str, str]:
    """`devices: {name: {role: core} | core}` → {name: role}; names match a config's file stem or hostname."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AuditInputError(f"{path}: cannot read roles file: {exc}") from None
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, dict):
        raise AuditInputError(f"{path}: expected a mapping 'devices: {{name: {{role: core}}}}'")
    roles: dict[str, str] = {}
    for name, spec in devices.items():
        role = spec.get("role") if isinstance(spec, dict) else spec
        if role not in ROLES:
            raise AuditInputError(
                f"{path}: device {name}: role must be one of {', '.join(ROLES)}, got {role!r}"
            )
        roles[str(name)] = str(role)
    return roles


def infer_role(names: list[str], facts: dict[str, Any]) -> DeviceRole:
    """Role from the name (core/dist/acc…), else from the config: access ports → access, gateway
    redundancy or several routed SVIs → distribution; else unknown (role-specific rules then say so)."""
    for name in names:
        for pattern, role in _ROLE_HINTS:
            if pattern.search(name):
                return DeviceRole(role, "hostname")
    interfaces = facts.get("interfaces") or []
    if any(i.get("physical") and i.get("mode") == "access" for i in interfaces):
        return DeviceRole("access", "config")
    redundancy = facts.get("redundancy") or {}
    routed_svis = sum(1 for i in interfaces if i.get("svi_vlan") is not None and i.get("ip_addresses"))
    if redundancy.get("vrrp_groups") or redundancy.get("hsrp_groups") or routed_svis >= 2:
        return DeviceRole("distribution", "config")
    return DeviceRole(None, "unknown")


def _config_files(configs_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in configs_dir.rglob("*")
        if (p.is_file() or (p.is_symlink() and not p.exists()))  # a dangling link is reported, not skipped
        and not p.name.startswith(".")
        and p.suffix not in (".yaml", ".yml")
    )


def iter_device_targets(
    configs_dir: Path, *, platform: str | None = None, roles: dict[str, str] | None = None
) -> Iterator[Target]:
    """One target per config file, parsed once; parse errors become error targets naming file:line."""
    from canhgac_rules.configs import PLATFORMS, ConfigParseError, detect_platform, parse_config

    roles = roles or {}
    seen: set[str] = set()
    for path in _config_files(configs_dir):
        name = str(path.relative_to(configs_dir))
        try:
            raw = path.read_bytes()
        except OSError as exc:
            seen.add(path.stem)
            reason = f"không đọc được tệp / cannot read the config file: {exc}"
            yield Target(
                name=name, kind="device", facts=None, source=name, error=reason, candidate_platforms=PLATFORMS
            )
            continue
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = parse_config(text, platform=platform, source=name)
        except ConfigParseError as exc:
            lines = text.splitlines()
            line_text = lines[exc.line - 1] if 0 < exc.line <= len(lines) else ""
            seen.add(path.stem)
            yield Target(
                name=name,
                kind="device",
                facts=None,
                platform=platform or detect_platform(text),
                role=roles.get(path.stem) or infer_role([path.stem], {}).role,
                source=name,
                error=f"lỗi phân tích cấu hình / config parse error: {exc}",
                error_line=(exc.line, line_text),
                candidate_platforms=PLATFORMS,
            )
            continue
        hostname = parsed.facts.get("hostname")
        seen.update({path.stem, str(hostname)})
        role_name = roles.get(path.stem) or (roles.get(str(hostname)) if hostname else None)
        role = (
            DeviceRole(role_name, "roles file")
            if role_name
            else infer_role([path.stem, str(hostname or "")], parsed.facts)
        )
        yield Target(
            name=name,
            kind="device",
            facts=parsed.facts,
            platform=parsed.platform,
            role=role.role,
            source=name,
            lines_for=parsed.lines_for,
            hostname=str(hostname) if hostname else None,
        )
    for device, role_name in sorted(roles.items()):
        if device not in seen:
            yield Target(
                name=device,
                kind="device",
                facts=None,
                role=role_name,
                error="không có cấu hình / no config available (in the roles file, no config file found)",
                candidate_platforms=PLATFORMS,
            )


def host_target(path: Path) -> Target:
    """A host target from an agent report (`once --json`) or a bare security-facts JSON file."""
    name = path.name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Target(
            name=name,
            kind="host",
            facts=None,
            source=name,
            error=f"{name}: không đọc được JSON / invalid JSON: {exc}",
        )
    if not isinstance(data, dict):
        return Target(name=name, kind="host", facts=None, source=name, error=f"{name}: not a JSON object")
    host = data.get("host") if isinstance(data.get("host"), dict) else None
    if "security" in data:  # a whole agent report
        security = data["security"]
        hostname = (host or {}).get("hostname") or path.stem
        if not isinstance(security, dict):
            reason = "báo cáo không có phần security / report has no security section (collected hourly)"
            return Target(name=hostname, kind="host", facts=None, source=name, error=reason)
        facts = dict(security)
    elif "platform" in data:  # bare facts
        facts = dict(data)
        hostname = (host or {}).get("hostname") or path.stem
    else:
        return Target(
            name=path.stem,
            kind="host",
            facts=None,
            source=name,
            error=f"{name}: không phải báo cáo agent / not an agent report or security-facts document",
        )
    if host is not None:
        facts["host"] = host
    os_info = (host or {}).get("os") or {}
    return Target(
        name=str(hostname),
        kind="host",
        facts=facts,
        platform=str(facts.get("platform")) if facts.get("platform") else None,
        os=os_info.get("distro_id") or (str(os_info.get("system", "")).lower() or None),
        source=name,
        hostname=str(hostname),
    )


def iter_host_targets(facts_dir: Path) -> Iterator[Target]:
    for path in sorted(p for p in facts_dir.rglob("*.json") if p.is_file()):
        yield host_target(path)


def run_offline_audit(
    packs: list[LoadedPack],
    *,
    level: int,
    configs_dir: Path | None,
    facts_dir: Path | None,
    platform: str | None = None,
    roles_file: Path | None = None,
    site_name: str | None = None,
    previous: Path | None = None,
    on_target: Callable[[Target], None] | None = None,
    now: dt.datetime | None = None,
) -> tuple[ScanResult, dict[str, Any]]:
    """Scan the folders at `level`; returns the scan and the JSON report document."""
    if not 1 <= level <= 5:
        raise AuditInputError(f"--level must be 1-5, got {level}")
    if configs_dir is None and facts_dir is None:
        raise AuditInputError("give --configs DIR and/or --facts DIR")
    for label, folder in (("--configs", configs_dir), ("--facts", facts_dir)):
        if folder is not None and not folder.is_dir():
            raise AuditInputError(f"{label} {folder}: not a folder")
    previous_doc: dict[str, Any] | None = None
    if previous is not None:
        try:
            previous_doc = json.loads(previous.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise AuditInputError(f"--previous {previous}: cannot read: {exc}") from None
        if not isinstance(previous_doc, dict) or not isinstance(previous_doc.get("findings"), list):
            raise AuditInputError(f"--previous {previous}: not a Canh Gác JSON report (no findings list)")
    roles = load_roles(roles_file)

    def targets() -> Iterator[Target]:
        if configs_dir is not None:
            yield from iter_device_targets(configs_dir, platform=platform, roles=roles)
        if facts_dir is not None:
            yield from iter_host_targets(facts_dir)

    result = run_scan(packs, targets(), level, now=now, on_target=on_target)
    return result, build_report(
        result, site_name=site_name, configs_dir=configs_dir, facts_dir=facts_dir, previous=previous_doc
    )


def build_report(
    result: ScanResult,
    *,
    site_name: str | None,
    configs_dir: Path | None,
    facts_dir: Path | None,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """The offline JSON report: scan metadata (folders), scores, findings, manual-review items, diff."""
    findings = finding_docs(result)
    kinds = [t.kind for t in result.targets]
    used_packs = {rule.pack.id for rule in result.rules}
    scan = {
        "id": str(uuid.uuid4()),
        "mode": "offline",
        "tool": "canhgac",
        "tool_version": tool_version(),
        "started": result.started.isoformat(),
        "finished": result.finished.isoformat(),
        "duration_s": round((result.finished - result.started).total_seconds(), 3),
        "level": result.level,
        "site_name": site_name,
        "scope": {
            "configs_dir": str(configs_dir) if configs_dir else None,
            "facts_dir": str(facts_dir) if facts_dir else None,
            "devices": kinds.count("device"),
            "hosts": kinds.count("host"),
            "targets_with_errors": sum(1 for t in result.targets if t.error),
        },
        "packs": [
            {
                "id": pack.id,
                "version": pack.version,
                "scope": pack.header.scope,
                "rules_at_level": sum(1 for r in result.rules if r.pack is pack),
            }
            for pack in result.packs
            if pack.id in used_packs
        ],
        "rules_evaluated": len(result.rules),
        "findings": len(findings),
    }
    summary = result.scores()
    manual_review = result.manual_items()
    diff: dict[str, Any] | None = None
    if previous is not None:
        diff = dict(diff_findings(findings, previous["findings"]))
        diff["previous_scan"] = previous.get("scan", {}).get("id")
    return report_document(scan, summary, findings, manual_review, diff)
