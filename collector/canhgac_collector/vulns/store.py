"""Keep an imported feed: the feed row and its ranges replace any earlier feed of the same name, in the
caller's transaction (all of it or nothing)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from canhgac_collector.store.models import VulnAffected, VulnFeed
from canhgac_collector.vulns.feeds import Feed

FEED_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
INSERT_BATCH = 5000


@dataclass(frozen=True)
class ImportSummary:
    feed_id: int
    name: str
    format: str
    entries: int
    records: int
    skipped: int
    ecosystems: list[str]
    replaced: bool


def store_feed(
    session: Session, feed: Feed, *, name: str, source: str, data: bytes, now: dt.datetime | None = None
) -> ImportSummary:
    """Replace the feed called `name` by `feed` (flushed, not committed: the caller's transaction
    decides). Raises ValueError for a bad name."""
    if not FEED_NAME_RE.match(name):
        raise ValueError(f"feed name {name!r}: use 1-64 of a-z 0-9 _ . - (starting with a letter or digit)")
    old = session.scalar(select(VulnFeed).where(VulnFeed.name == name))
    if old is not None:
        session.execute(delete(VulnAffected).where(VulnAffected.feed_id == old.id))
        session.delete(old)
        session.flush()
    row = VulnFeed(
        name=name,
        format=feed.format,
        source=source[-255:],
        sha256=hashlib.sha256(data).hexdigest(),
        imported_at=now or dt.datetime.now(dt.UTC),
        entries=feed.entries,
        records=len(feed.records),
        skipped=feed.skipped,
        ecosystems=feed.ecosystems,
    )
    session.add(row)
    session.flush()
    for start in range(0, len(feed.records), INSERT_BATCH):
        session.execute(
            insert(VulnAffected),
            [
                {
                    "feed_id": row.id,
                    "vuln_id": r.vuln_id,
                    "cves": list(r.cves),
                    "ecosystem": r.ecosystem,
                    "package": r.package,
                    "introduced": r.introduced,
                    "fixed": r.fixed,
                    "severity": r.severity,
                }
                for r in feed.records[start : start + INSERT_BATCH]
            ],
        )
    session.flush()
    return ImportSummary(
        row.id,
        name,
        feed.format,
        feed.entries,
        len(feed.records),
        feed.skipped,
        feed.ecosystems,
        old is not None,
    )
