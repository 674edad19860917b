"""Bearer-token authentication and role/site-scope authorization.

Every route names the roles it admits; readers are further limited to their site subtree (`scope_path`).
Token lookups are cached briefly so ingest does not hit the database per request; a revoked token stops
working within `CACHE_TTL_S`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVarTuple

from fastapi import Depends, Request
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from canhgac_api.context import AppContext, Ctx
from canhgac_api.problems import ProblemError
from canhgac_collector.store.models import Site, Token
from canhgac_collector.store.tokens import hash_secret

CACHE_TTL_S = 30.0
READERS = ("admin", "operator", "officer", "auditor")


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: str
    site_id: int | None
    scope_path: str | None  # None: the whole province
    host_id: str | None  # agents only

    def sees_path(self, path: str) -> bool:
        return self.scope_path is None or path.startswith(self.scope_path)


Ts = TypeVarTuple("Ts")


def scoped(principal: Principal, stmt: Select[*Ts]) -> Select[*Ts]:
    """Limit a statement joined to Site to the caller's subtree."""
    if principal.scope_path is not None:
        stmt = stmt.where(Site.path.startswith(principal.scope_path, autoescape=True))
    return stmt


def visible_site_path(session: Session, principal: Principal, code: str) -> str:
    """The path of site `code`, or 404 when it does not exist or lies outside the caller's subtree (the
    same answer, so a scoped caller cannot probe for other communes' codes)."""
    path = session.scalar(select(Site.path).where(Site.code == code))
    if path is None or not principal.sees_path(path):
        raise ProblemError(404, "not-found", "Not found", f"no site {code!r} within your scope")
    return path


class TokenCache:
    """hash → (principal or None, expiry). Negative answers are cached too, against token guessing."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Principal | None, float]] = {}

    def get(self, key: str) -> tuple[bool, Principal | None]:
        hit = self._entries.get(key)
        if hit is None or hit[1] < time.monotonic():
            return False, None
        return True, hit[0]

    def put(self, key: str, principal: Principal | None) -> None:
        if len(self._entries) > 100_000:
            self._entries.clear()
        self._entries[key] = (principal, time.monotonic() + CACHE_TTL_S)

    def clear(self) -> None:
        self._entries.clear()


def _lookup(ctx: AppContext, secret_hash: str) -> Principal | None:
    with ctx.sessions() as session:
        row = session.execute(
            select(Token, Site.path)
            .outerjoin(Site, Token.site_id == Site.id)
            .where(Token.secret_sha256 == secret_hash)
        ).one_or_none()
    if row is None:
        return None
    token, path = row
    now = dt.datetime.now(dt.UTC)
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    return Principal(token.id, token.role, token.site_id, path, token.host_id)


async def authenticate(request: Request, ctx: Ctx) -> Principal:
    return await principal_for(request.headers.get("authorization", ""), ctx)


async def principal_for(header: str, ctx: AppContext) -> Principal:
    """The caller of an `Authorization` header value (ProblemError 401 when there is none or it is bad)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ProblemError(
            401, "unauthenticated", "Authentication required", "send 'Authorization: Bearer <token>'"
        )
    key = hash_secret(value.strip())
    cached, principal = ctx.tokens.get(key)
    if not cached:
        principal = await run_in_threadpool(_lookup, ctx, key)
        ctx.tokens.put(key, principal)
    if principal is None:
        raise ProblemError(401, "invalid-token", "Invalid token", "the token is unknown, revoked or expired")
    return principal


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only `roles`."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in roles:
            raise ProblemError(
                403,
                "forbidden",
                "Forbidden",
                f"role {principal.role} may not use this endpoint (needs: {', '.join(roles)})",
            )
        return principal

    return check


#: Dependencies for route signatures.
Reader = Annotated[Principal, Depends(require(*READERS))]
AgentCaller = Annotated[Principal, Depends(require("agent"))]
