"""Retention of the per-report ledger: (host, seq, hash) rows that make ingest idempotent. Resends come
within minutes, so days are plenty; each host's counters are kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from canhgac_collector.store.models import Report


def prune_reports(session: Session, cutoff: dt.datetime) -> int:
    """Delete ledger rows received before `cutoff`; returns how many."""
    result = session.execute(delete(Report).where(Report.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
