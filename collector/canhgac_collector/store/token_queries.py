"""Reading tokens: the token behind a bearer secret, and the list an admin sees."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from canhgac_collector.store.models import Site, Token


def token_by_hash(session: Session, secret_sha256: str) -> tuple[Token, str | None] | None:
    """The token whose secret hashes to `secret_sha256`, with its site's path (None: no site)."""
    stmt = (
        select(Token, Site.path)
        .outerjoin(Site, Token.site_id == Site.id)
        .where(Token.secret_sha256 == secret_sha256)
    )
    return session.execute(stmt).one_or_none()


def list_tokens(session: Session) -> Sequence[tuple[Token, str | None]]:
    """Every token (revoked and expired ones too) with its site's code, oldest first."""
    stmt = select(Token, Site.code).outerjoin(Site, Token.site_id == Site.id).order_by(Token.created_at)
    return session.execute(stmt).all()
