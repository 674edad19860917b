"""Reading compliance scans for a caller: listings, one scan, its findings, a site's newest scores.

Reads that look a scan up take the caller's `scope_path` (None: the whole province) and never return
one whose site lies outside it; one out of scope is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canhgac_collector.sitetree import within
from canhgac_collector.store.models import Finding, Scan, Site
from canhgac_collector.store.sites import Page, page


def list_scans(
    session: Session, scope_path: str | None, *, site_code: str | None = None, limit: int = 50
) -> Page[tuple[Scan, Site]]:
    """Scans of sites in scope (of site `site_code` alone, not its subtree, when given), newest first."""
    stmt = within(select(Scan, Site).join(Site, Scan.site_id == Site.id), scope_path)
    if site_code is not None:
        stmt = stmt.where(Site.code == site_code)
    return page(session, stmt.order_by(Scan.id.desc()), limit)


def find_scan(session: Session, scope_path: str | None, scan_id: int) -> tuple[Scan, Site] | None:
    """Scan `scan_id` with its site, or None when it is absent or out of scope."""
    stmt = within(
        select(Scan, Site).join(Site, Scan.site_id == Site.id).where(Scan.id == scan_id), scope_path
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1])


def scan_findings(
    session: Session, scan_id: int, *, result: str | None = None, limit: int = 1000, offset: int = 0
) -> Page[dict[str, Any]]:
    """The findings (report documents) of scan `scan_id`, found through `find_scan`, in stored order;
    only those with `result` when given."""
    stmt = select(Finding).where(Finding.scan_id == scan_id)
    if result is not None:
        stmt = stmt.where(Finding.result == result)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    docs = [f.doc for f in session.scalars(stmt.order_by(Finding.id).limit(limit).offset(offset))]
    return Page(docs, total)


def newest_scans(session: Session, site_id: int) -> Sequence[Scan]:
    """The newest scan of site `site_id` (found in the caller's scope) at each level scanned, by level."""
    newest = (
        select(Scan.level, func.max(Scan.id).label("id"))
        .where(Scan.site_id == site_id)
        .group_by(Scan.level)
        .subquery()
    )
    return session.scalars(select(Scan).join(newest, Scan.id == newest.c.id).order_by(Scan.level)).all()
