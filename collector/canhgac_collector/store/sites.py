"""Sites in the store: kept in step with the config's site tree; the sites a caller may see (its scope,
`canhgac_collector.sitetree.within`); and `Page`, one page of a scoped listing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, TypeVarTuple

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from canhgac_collector.sitetree import SiteNode, in_scope, within
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Site

Ts = TypeVarTuple("Ts")
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and how many rows the whole listing has."""

    rows: Sequence[T]
    total: int


def page(session: Session, stmt: Select[*Ts], limit: int, offset: int = 0) -> Page[tuple[*Ts]]:
    """The total row count of `stmt` and the rows of one page of it (`stmt` carries its order)."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(stmt.limit(limit).offset(offset)).all()
    return Page(rows, total)


def visible_site(
    session: Session, code: str, scope_path: str | None, *, active_only: bool = False
) -> Site | None:
    """Site `code` if it lies in the scope (and is active, when asked); None when it is absent or out
    of scope alike, so a scoped caller cannot tell the two apart."""
    stmt = select(Site).where(Site.code == code)
    if active_only:
        stmt = stmt.where(Site.active.is_(True))
    site = session.scalars(stmt).one_or_none()
    if site is None or not in_scope(site.path, scope_path):
        return None
    return site


def visible_site_path(session: Session, code: str, scope_path: str | None) -> str | None:
    """The path of site `code`, or None when it is absent or out of scope."""
    path = session.scalar(select(Site.path).where(Site.code == code))
    if path is None or not in_scope(path, scope_path):
        return None
    return path


@dataclass(frozen=True)
class ScopedSite:
    """An active site in scope with its parent's code (None for a root, or a parent no longer active)."""

    site: Site
    parent_code: str | None


def active_sites(session: Session, scope_path: str | None) -> list[ScopedSite]:
    """The active sites in scope, ordered by path (parents before children)."""
    parent = aliased(Site)
    stmt = within(
        select(Site, parent.code)
        .outerjoin(parent, and_(parent.id == Site.parent_id, parent.active.is_(True)))
        .where(Site.active.is_(True)),
        scope_path,
    )
    return [ScopedSite(site, code) for site, code in session.execute(stmt.order_by(Site.path))]


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
