"""Match the packages an agent reported against the imported feeds, for the host targets of a scan.

A host is matched when its package list is dpkg's and its OS is Debian or Ubuntu with a release number
(ecosystem "debian:12", "ubuntu:22.04"); versions are ordered as dpkg orders them (python-debian).
Feeds name source packages; the agent reports binary packages, so a binary package named otherwise than
its source (libssl3 from openssl) is not matched. Facts added to the target:

- `vuln_ecosystem`, `vuln_inventory_collected_at`, `vuln_scan_note`;
- `vuln_feed_imported_at` (newest feed covering the ecosystem; None: no such feed) and `vuln_feeds`;
- `vulnerabilities`: [{cve, id, package, installed, fixed}] (at most MAX_LISTED; None without a feed)
  and `vulnerabilities_total`.

Hosts the feeds cannot describe (rpm, Windows, an unknown release) get no `vuln_feed_imported_at` and
`vulnerabilities: None`: the rules then err instead of passing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from debian.debian_support import Version
from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.store.models import Host, VulnAffected, VulnFeed
from canhgac_rules.engine import Target

MAX_LISTED = 200  # vulnerabilities listed per host (the total is counted in full)
QUERY_CHUNK = 500  # package names per IN (…) query
DPKG_DISTROS = ("debian", "ubuntu")


def host_ecosystem(facts: dict[str, Any]) -> tuple[str | None, str]:
    """(ecosystem, note): "debian:12" for a dpkg host on Debian 12, else None and why."""
    software = facts.get("software")
    if not isinstance(software, dict):
        return None, "không có danh sách phần mềm / no software inventory reported"
    if software.get("source") != "dpkg":
        return None, (
            f"nguồn CVE chưa hỗ trợ gói {software.get('source')} / the imported feeds do not describe "
            f"{software.get('source')} packages (Debian tracker and OSV Debian/Ubuntu only)"
        )
    os_info = (facts.get("host") or {}).get("os") or {}
    distro, version = os_info.get("distro_id"), os_info.get("distro_version")
    if distro not in DPKG_DISTROS or not isinstance(version, str) or not version.strip():
        return None, f"bản phân phối không xác định / unknown distribution release ({distro} {version})"
    release = version.strip() if distro == "ubuntu" else version.strip().split(".")[0]
    return f"{distro}:{release}", "ok"


def _dpkg_less(a: str, b: str) -> bool | None:
    """a < b in dpkg order; None when either is not a valid Debian version."""
    try:
        return Version(a) < Version(b)
    except ValueError:
        return None


def affected_by(installed: str, introduced: str | None, fixed: str) -> bool:
    """Whether `installed` lies in [introduced, fixed) (unparseable versions never match)."""
    if _dpkg_less(installed, fixed) is not True:
        return False
    return introduced is None or _dpkg_less(installed, introduced) is False


def _ranges(
    session: Session, ecosystem: str, packages: Iterable[str]
) -> dict[str, list[tuple[str, list[str], str | None, str]]]:
    """package → [(vuln id, CVE ids, introduced, fixed)] of every feed, for these packages only."""
    out: dict[str, list[tuple[str, list[str], str | None, str]]] = {}
    names = sorted(set(packages))
    for start in range(0, len(names), QUERY_CHUNK):
        rows = session.execute(
            select(
                VulnAffected.package,
                VulnAffected.vuln_id,
                VulnAffected.cves,
                VulnAffected.introduced,
                VulnAffected.fixed,
            ).where(
                VulnAffected.ecosystem == ecosystem,
                VulnAffected.package.in_(names[start : start + QUERY_CHUNK]),
            )
        )
        for package, vuln_id, cves, introduced, fixed in rows:
            out.setdefault(package, []).append((vuln_id, list(cves or []), introduced, fixed))
    return out


def match_packages(
    ranges: dict[str, list[tuple[str, list[str], str | None, str]]], packages: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One item per (package, CVE or feed id) with the highest fixed version that the installed
    version is below, sorted by package and id."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for pkg in packages:
        name, installed = pkg.get("name"), pkg.get("version")
        if not isinstance(name, str) or not isinstance(installed, str) or name not in ranges:
            continue
        for vuln_id, cves, introduced, fixed in ranges[name]:
            if not affected_by(installed, introduced, fixed):
                continue
            for cve in cves or [vuln_id]:
                key = (name, cve)
                known = found.get(key)
                if known is None or _dpkg_less(known["fixed"], fixed):
                    found[key] = {
                        "cve": cve,
                        "id": vuln_id,
                        "package": name,
                        "installed": installed,
                        "fixed": fixed,
                    }
    return [found[k] for k in sorted(found)]


def with_vulnerabilities(session: Session, targets: list[Target]) -> list[Target]:
    """The host targets with the vulnerability facts added (other targets unchanged)."""
    feeds = session.execute(select(VulnFeed.name, VulnFeed.imported_at, VulnFeed.ecosystems)).all()
    host_ids = [t.source.rsplit("/", 1)[-1] for t in targets if t.kind == "host" and t.facts and t.source]
    collected: dict[str, dt.datetime | None] = {}
    for start in range(0, len(host_ids), QUERY_CHUNK):
        collected.update(
            session.execute(
                select(Host.id, Host.security_collected_at).where(
                    Host.id.in_(host_ids[start : start + QUERY_CHUNK])
                )
            ).all()
        )
    wanted: dict[str, set[str]] = {}
    plan: list[tuple[int, str | None, str]] = []
    for index, target in enumerate(targets):
        if target.kind != "host" or not target.facts:
            continue
        ecosystem, note = host_ecosystem(target.facts)
        plan.append((index, ecosystem, note))
        if ecosystem is not None:
            names = {p.get("name") for p in target.facts["software"].get("packages") or []}
            wanted.setdefault(ecosystem, set()).update(n for n in names if isinstance(n, str))
    ranges = {eco: _ranges(session, eco, names) for eco, names in wanted.items()}
    out = list(targets)
    for index, ecosystem, note in plan:
        target = targets[index]
        facts = dict(target.facts or {})
        host_id = (target.source or "").rsplit("/", 1)[-1]
        when = collected.get(host_id)
        facts["vuln_ecosystem"] = ecosystem
        facts["vuln_inventory_collected_at"] = when.isoformat() if when is not None else None
        facts["vuln_scan_note"] = note
        facts["vulnerabilities"] = None
        facts["vulnerabilities_total"] = None
        if ecosystem is not None:
            covering = [(name, at) for name, at, ecos in feeds if ecosystem in (ecos or [])]
            newest = max((at for _, at in covering), default=None)
            facts["vuln_feeds"] = sorted(name for name, _ in covering)
            facts["vuln_feed_imported_at"] = newest.isoformat() if newest is not None else None
            if covering:
                matches = match_packages(ranges[ecosystem], facts["software"].get("packages") or [])
                facts["vulnerabilities"] = matches[:MAX_LISTED]
                facts["vulnerabilities_total"] = len(matches)
            else:
                facts["vuln_scan_note"] = (
                    f"chưa nhập nguồn CVE cho {ecosystem} / no imported feed covers {ecosystem} "
                    "(canhgac vulns import)"
                )
        out[index] = dataclasses.replace(target, facts=facts)
    return out
