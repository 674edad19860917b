"""Reading alerts for a caller: listings with filters and paging, and one alert.

Every read takes the caller's `scope_path` (None: the whole province) and never returns an alert whose
site lies outside it; one out of scope is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.sitetree import under, within
from canhgac_collector.store.models import Alert, Site
from canhgac_collector.store.sites import Page, page


def list_alerts(
    session: Session,
    scope_path: str | None,
    *,
    subtree: str | None = None,
    states: Sequence[str] = (),
    open_only: bool = False,
    rule: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[tuple[Alert, str]]:
    """Alerts in scope with their site codes, newest first; narrowed to the site path `subtree`, to
    `states` (any of them), to open alerts (not resolved) and to `rule`, each when given."""
    stmt = under(select(Alert, Site.code).join(Site, Alert.site_id == Site.id), scope_path, subtree)
    if states:
        stmt = stmt.where(Alert.state.in_(states))
    if open_only:
        stmt = stmt.where(Alert.state != "resolved")
    if rule:
        stmt = stmt.where(Alert.rule == rule)
    return page(session, stmt.order_by(Alert.id.desc()), limit, offset)


def find_alert(session: Session, scope_path: str | None, alert_id: int) -> tuple[Alert, str] | None:
    """Alert `alert_id` with its site code, or None when it is absent or out of scope."""
    stmt = within(
        select(Alert, Site.code).join(Site, Alert.site_id == Site.id).where(Alert.id == alert_id), scope_path
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1])
