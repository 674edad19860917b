"""Reading hosts for a caller: listings, one host, per-site state counts, and removing a host.

Every read takes the caller's `scope_path` (None: the whole province) and never returns a host whose
site lies outside it; one out of scope is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canhgac_collector.sitetree import under, within
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Host, Site
from canhgac_collector.store.sites import Page, page


def list_hosts(
    session: Session,
    scope_path: str | None,
    *,
    subtree: str | None = None,
    state: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[tuple[Host, Site]]:
    """Hosts in scope (and under the site path `subtree`, in `state` when given), by site path then
    hostname."""
    stmt = under(select(Host, Site).join(Site, Host.site_id == Site.id), scope_path, subtree)
    if state is not None:
        stmt = stmt.where(Host.state == state)
    return page(session, stmt.order_by(Site.path, Host.hostname), limit, offset)


def find_host(session: Session, scope_path: str | None, host_id: str) -> tuple[Host, Site] | None:
    """Host `host_id` with its site, or None when it is absent or out of scope."""
    stmt = within(
        select(Host, Site).join(Site, Host.site_id == Site.id).where(Host.id == host_id), scope_path
    )
    return session.execute(stmt).one_or_none()


def host_names(
    session: Session, scope_path: str | None, subtree: str | None = None
) -> Sequence[tuple[str, str, str, str]]:
    """(id, hostname, state, site code) of every host in scope (and under `subtree` when given)."""
    stmt = under(select(Host.id, Host.hostname, Host.state, Site.code).join(Site), scope_path, subtree)
    return session.execute(stmt).all()


def state_counts(session: Session, scope_path: str | None) -> dict[int, dict[str, int]]:
    """site id → host state → how many hosts of that site are in it, for the sites in scope."""
    stmt = within(
        select(Host.site_id, Host.state, func.count())
        .join(Site, Host.site_id == Site.id)
        .group_by(Host.site_id, Host.state),
        scope_path,
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for site_id, state, n in session.execute(stmt):
        counts[site_id][state] = int(n)
    return dict(counts)


def remove_host(session: Session, host_id: str, *, actor: str) -> Host | None:
    """Delete host `host_id` (its reports and tokens go with it) and record who did; None if absent."""
    host = session.get(Host, host_id)
    if host is None:
        return None
    record_event(
        session,
        kind="host.removed",
        subject_type="host",
        subject_id=host.id,
        site_id=host.site_id,
        actor=actor,
        message=f"Xoá máy {host.hostname} / host removed",
    )
    session.delete(host)
    return host
