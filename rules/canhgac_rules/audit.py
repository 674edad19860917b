"""Offline audit: a folder of saved device configs and/or agent outputs → targets → scan → report data.

Configs: any file in `--configs` (vendor detected from content unless `--platform`), parsed once per
file. Files that are plainly not configs (archives, images, binaries, READMEs and notes with no vendor
markers) are skipped and listed in the report's `scan.skipped`; a file that cannot be read or parsed, or
whose vendor is unknown, is one error target (`file:line: reason`).
Facts: `canhgac-agent once --json` outputs (a whole report: its `security` section plus `host`
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


_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz4")
_DOCUMENT_SUFFIXES = (
    ".md", ".txt", ".rst", ".doc", ".docx", ".odt", ".xls", ".xlsx", ".ods", ".pdf", ".csv", ".html",
    ".htm", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".pptx",
)  # fmt: skip
_NOTE_NAMES = re.compile(r"(?i)^(readme|notes?|ghi[-_ ]?chu|todo|changelog|license|huong[-_ ]?dan)\b")
_BINARY_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"%PDF", b"\x89PNG",
                 b"\xff\xd8\xff", b"GIF8", b"(\xb5/\xfd")  # fmt: skip


@dataclass(frozen=True)
class SkippedFile:
    """A file in the configs folder that is plainly not a config, and why it was skipped."""

    file: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason}


def not_a_config(path: Path, raw: bytes, detected: str | None, *, forced: bool = False) -> str | None:
    """Why `path` is plainly not a device config (archive, binary, prose), or None if it may be one.

    With a forced platform (`--platform`) a vendor-less `.txt` may still be a config: only archives,
    binaries and files named like notes are skipped then."""
    if path.suffix.lower() in _ARCHIVE_SUFFIXES or raw.startswith(_BINARY_MAGIC):
        return "tệp nén/nhị phân, không phải cấu hình / archive or binary file, not a config"
    if detected is not None:
        return None
    if b"\x00" in raw[:65536]:
        return "tệp nhị phân, không phải cấu hình / binary file, not a config"
    by_suffix = not forced and path.suffix.lower() in _DOCUMENT_SUFFIXES
    if by_suffix or _NOTE_NAMES.match(path.name):
        return (
            "tài liệu/ghi chú, không có dấu hiệu cấu hình thiết bị / "
            "notes or document, no device-config markers"
        )
    return None


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
    configs_dir: Path,
    *,
    platform: str | None = None,
    roles: dict[str, str] | None = None,
    skipped: list[SkippedFile] | None = None,
) -> Iterator[Target]:
    """One target per config file, parsed once; parse errors become error targets naming file:line.

    Files that are plainly not configs are appended to `skipped` (when given) instead of becoming
    targets; without the list every file is judged as before."""
    from canhgac_rules.configs import PLATFORMS, ConfigParseError, detect_platform, parse_config

    roles = roles or {}
    seen: set[str] = set()
    for path in _config_files(configs_dir):
        name = str(path.relative_to(configs_dir))
        try:
            raw = path.read_bytes()
        except OSError as exc:
            seen.add(path.stem)
            reason = f"{name}:1: không đọc được tệp / cannot read the config file: {exc.strerror or exc}"
            yield Target(
                name=name, kind="device", facts=None, source=name, error=reason, candidate_platforms=PLATFORMS
            )
            continue
        text = raw.decode("utf-8", errors="replace")
        if skipped is not None:
            why = not_a_config(path, raw, detect_platform(text), forced=platform is not None)
            if why is not None:
                skipped.append(SkippedFile(name, why))
                continue
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
    """Scan the folders at `level`; returns the scan and the JSON report document.

    Offline: one error finding per unusable file, rules that need the server's history left to manual
    review, non-config files skipped and listed."""
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
    skipped: list[SkippedFile] = []

    def targets() -> Iterator[Target]:
        if configs_dir is not None:
            yield from iter_device_targets(configs_dir, platform=platform, roles=roles, skipped=skipped)
        if facts_dir is not None:
            yield from iter_host_targets(facts_dir)

    result = run_scan(
        packs, targets(), level, now=now, on_target=on_target, offline=True, one_error_per_target=True
    )
    return result, build_report(
        result,
        site_name=site_name,
        configs_dir=configs_dir,
        facts_dir=facts_dir,
        previous=previous_doc,
        skipped=skipped,
    )


def build_report(
    result: ScanResult,
    *,
    site_name: str | None,
    configs_dir: Path | None,
    facts_dir: Path | None,
    previous: dict[str, Any] | None,
    skipped: list[SkippedFile] | None = None,
) -> dict[str, Any]:
    """The offline JSON report: scan metadata (folders, skipped files), scores, findings, manual-review
    items, diff."""
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
        "skipped": [item.to_json() for item in skipped or []],
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
