"""Bearer tokens: created with a random secret shown once, stored as SHA-256, looked up by hash.

Token format: `cgt_<id>_<secret>`. The secret has 256 bits of entropy, so a plain SHA-256 is enough
(no slow KDF needed: there is nothing to brute-force).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Site, Token

ROLES = ("admin", "operator", "officer", "auditor", "agent")
SCOPED_ROLES = {"officer"}  # must name a site; auditor may (subtree) or may not (whole province)


class TokenError(ValueError):
    """A token that cannot be created as asked."""


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    id: str
    token: str  # the full bearer value; never stored


def create_token(
    session: Session,
    *,
    role: str,
    name: str,
    site_code: str | None = None,
    host_id: str | None = None,
    expires_in: dt.timedelta | None = None,
    actor: str = "cli",
) -> NewToken:
    """Create a token for `role`, scoped to `site_code`'s subtree when given."""
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role in SCOPED_ROLES and not site_code:
        raise TokenError(f"role {role} needs --site: an officer sees only one subtree")
    if role == "agent" and not host_id:
        raise TokenError("agent tokens are issued by enrollment, not by hand")
    site_id = None
    if site_code:
        site = session.scalar(select(Site).where(Site.code == site_code))
        if site is None or not site.active:
            raise TokenError(f"no active site with code {site_code!r}")
        site_id = site.id
    token_id = secrets.token_hex(6)
    value = f"cgt_{token_id}_{secrets.token_urlsafe(32)}"
    now = dt.datetime.now(dt.UTC)
    session.add(
        Token(
            id=token_id,
            name=name,
            role=role,
            site_id=site_id,
            host_id=host_id,
            secret_sha256=hash_secret(value),
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
    )
    if role != "agent":
        record_event(
            session,
            kind="token.created",
            subject_type="token",
            subject_id=token_id,
            site_id=site_id,
            actor=actor,
            message=f"token {token_id} ({role}) created: {name}",
        )
    return NewToken(token_id, value)


def revoke_token(session: Session, token_id: str, *, actor: str = "cli") -> bool:
    token = session.get(Token, token_id)
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = dt.datetime.now(dt.UTC)
    record_event(
        session,
        kind="token.revoked",
        subject_type="token",
        subject_id=token_id,
        site_id=token.site_id,
        actor=actor,
        message=f"token {token_id} revoked",
    )
    return True


def revocation_mark(session: Session) -> tuple[int, dt.datetime | None]:
    """How many tokens are revoked and the newest revocation. A change between two reads means some
    process (the `canhgac token revoke` CLI, another API replica) revoked a token: caches must forget."""
    count, newest = session.execute(
        select(func.count(), func.max(Token.revoked_at)).where(Token.revoked_at.is_not(None))
    ).one()
    return int(count), newest
