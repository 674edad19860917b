"""Approved LAN entries per site: devices (MAC), DHCP servers and gateways (IP).

Two origins, both counted: "config" rows mirror server.yaml's `lan.sites` (replaced at start and on
reload), "api" rows are what an admin or the site's officer set through the API. An entry of a site
applies to its whole subtree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from canhgac_collector.lan.settings import LanConfig
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import LanApproved, Site

KINDS = ("device", "dhcp_server", "gateway")


@dataclass(frozen=True)
class Entry:
    kind: str  # device | dhcp_server | gateway
    value: str  # MAC (device) or IP address
    label: str
    origin: str  # config | api
    site: str  # the code of the site that approved it


@dataclass
class ApprovedSets:
    """What is approved for one site (its own entries and its ancestors')."""

    macs: dict[str, str] = field(default_factory=dict)  # MAC → label
    dhcp_servers: set[str] = field(default_factory=set)
    gateways: set[str] = field(default_factory=set)


def config_entries(lan: LanConfig) -> Iterable[tuple[str, str, str, str]]:
    """(site code, kind, value, label) of every entry of the `lan:` section."""
    for code, site in lan.sites.items():
        for device in site.approved:
            yield code, "device", device.mac, device.label
        for ip in site.dhcp_servers:
            yield code, "dhcp_server", str(ip), "server.yaml"
        for ip in site.gateways:
            yield code, "gateway", str(ip), "server.yaml"


def sync_config_approved(session: Session, lan: LanConfig, site_ids: dict[str, int]) -> int:
    """Replace the "config" rows with the `lan:` section's entries; returns how many there are."""
    now = dt.datetime.now(dt.UTC)
    session.execute(delete(LanApproved).where(LanApproved.origin == "config"))
    rows = [
        LanApproved(
            site_id=site_ids[code],
            kind=kind,
            value=value,
            label=label,
            origin="config",
            updated_at=now,
            updated_by="server.yaml",
        )
        for code, kind, value, label in config_entries(lan)
        if code in site_ids
    ]
    session.add_all(rows)
    return len(rows)


def replace_api_approved(
    session: Session, site: Site, entries: Sequence[tuple[str, str, str]], actor: str
) -> None:
    """The site's "api" rows become `entries` ((kind, value, label) each); config rows stay. Recorded
    in the audit log (event `lan.approved_changed`)."""
    now = dt.datetime.now(dt.UTC)
    site_id = site.id
    counts = {k: sum(1 for kind, _v, _l in entries if kind == k) for k in KINDS}
    record_event(
        session,
        kind="lan.approved_changed",
        subject_type="site",
        subject_id=site.code,
        site_id=site_id,
        actor=actor,
        message=f"Danh sách thiết bị được duyệt của {site.name} đã cập nhật / approved LAN lists of "
        f"{site.code} updated: {counts['device']} devices, {counts['dhcp_server']} DHCP servers, "
        f"{counts['gateway']} gateways",
        data=counts,
        at=now,
    )
    session.execute(delete(LanApproved).where(LanApproved.site_id == site_id, LanApproved.origin == "api"))
    session.add_all(
        LanApproved(
            site_id=site_id, kind=k, value=v, label=label, origin="api", updated_at=now, updated_by=actor
        )
        for k, v, label in entries
    )


def ancestor_paths(path: str) -> list[str]:
    """`/P/D1/XA-A/` → [`/P/`, `/P/D1/`, `/P/D1/XA-A/`]."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def entries_over(session: Session, path: str) -> list[tuple[Entry, str]]:
    """Every entry that can apply inside the subtree at `path` (those of its ancestors and of the
    subtree itself), each with the path of the site that approved it."""
    stmt = (
        select(LanApproved, Site.code, Site.path)
        .join(Site, LanApproved.site_id == Site.id)
        .where(Site.path.in_(ancestor_paths(path)) | Site.path.startswith(path, autoescape=True))
        .order_by(Site.path, LanApproved.kind, LanApproved.value)
    )
    return [
        (Entry(row.kind, row.value, row.label, row.origin, code), site_path)
        for row, code, site_path in session.execute(stmt)
    ]


def own_entries(session: Session, site_id: int) -> list[Entry]:
    """The entries approved at this very site (config and API)."""
    stmt = (
        select(LanApproved, Site.code)
        .join(Site, LanApproved.site_id == Site.id)
        .where(LanApproved.site_id == site_id)
        .order_by(LanApproved.origin, LanApproved.kind, LanApproved.value)
    )
    return [Entry(r.kind, r.value, r.label, r.origin, code) for r, code in session.execute(stmt)]


def approved_for(entries: Sequence[tuple[Entry, str]], site_path: str) -> ApprovedSets:
    """What applies to the site at `site_path`: the entries of the site and of its ancestors."""
    out = ApprovedSets()
    for entry, approver in entries:
        if not site_path.startswith(approver):
            continue
        if entry.kind == "device":
            out.macs.setdefault(entry.value, entry.label)
        elif entry.kind == "dhcp_server":
            out.dhcp_servers.add(entry.value)
        elif entry.kind == "gateway":
            out.gateways.add(entry.value)
    return out
