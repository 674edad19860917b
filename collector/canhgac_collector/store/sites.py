"""Keeping the sites table in step with the config's site tree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.sitetree import SiteNode
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Site


def sync_sites(session: Session, nodes: dict[str, SiteNode]) -> dict[str, int]:
    """Upsert every configured site; sites no longer configured become inactive (their hosts and
    history stay). Returns code → id."""
    existing = {s.code: s for s in session.scalars(select(Site))}
    ids: dict[str, int] = {}
    for code, node in nodes.items():  # parents come first, so parent ids are known
        site = existing.get(code)
        fields = {
            "name": node.config.name,
            "name_en": node.config.name_en,
            "kind": node.config.kind,
            "level": node.level,
            "parent_id": ids[node.parent_code] if node.parent_code else None,
            "path": node.path,
            "contacts": [c.model_dump(exclude_none=True) for c in node.config.contacts],
            "active": True,
        }
        if site is None:
            site = Site(code=code, **fields)
            session.add(site)
            session.flush()
            record_event(
                session,
                kind="site.added",
                subject_type="site",
                subject_id=code,
                site_id=site.id,
                message=f"Thêm địa điểm {node.config.name} / site added",
            )
        else:
            for key, value in fields.items():
                setattr(site, key, value)
        ids[code] = site.id
    for code, site in existing.items():
        if code not in nodes and site.active:
            site.active = False
            record_event(
                session,
                kind="site.retired",
                subject_type="site",
                subject_id=code,
                site_id=site.id,
                message=f"Địa điểm {site.name} không còn trong cấu hình / site removed from config",
            )
    session.flush()
    return ids
