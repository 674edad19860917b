"""Retention of stored scans: their findings are most of the database's growth (a site scan stores one
finding per rule and target), so old scans go, the newest `keep_per_site` of each site always stay."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from canhgac_collector.store.models import Finding, Scan


def prune_scans(session: Session, keep_per_site: int, max_age_days: float, now: dt.datetime) -> int:
    """Delete scans (and their findings) older than `max_age_days` or beyond the newest `keep_per_site`
    of their site; returns how many scans went."""
    cutoff = now - dt.timedelta(days=max_age_days)
    doomed = set(session.scalars(select(Scan.id).where(Scan.started_at < cutoff)))
    crowded = session.execute(
        select(Scan.site_id).group_by(Scan.site_id).having(func.count() > keep_per_site)
    ).scalars()
    for site_id in list(crowded):
        newest_dropped = session.scalar(
            select(Scan.id)
            .where(Scan.site_id == site_id)
            .order_by(Scan.id.desc())
            .offset(keep_per_site)
            .limit(1)
        )
        if newest_dropped is not None:
            doomed.update(
                session.scalars(select(Scan.id).where(Scan.site_id == site_id, Scan.id <= newest_dropped))
            )
    ids = sorted(doomed)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.execute(delete(Finding).where(Finding.scan_id.in_(chunk)))
        session.execute(delete(Scan).where(Scan.id.in_(chunk)))
    return len(ids)
