"""Bearer-token authentication and role/site-scope authorization.

Every route names the roles it admits; readers are further limited to their site subtree (`scope_path`).
Token lookups are cached briefly (`TokenCache`) so ingest does not hit the database per request; a
revoked token stops working within `CACHE_TTL_S`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from canhgac_api.context import CACHE_TTL_S, AppContext, Ctx, Principal, TokenCache
from canhgac_api.problems import ProblemError
from canhgac_collector.store import sites
from canhgac_collector.store.token_queries import token_by_hash
from canhgac_collector.store.tokens import hash_secret

__all__ = [
    "CACHE_TTL_S",
    "READERS",
    "AgentCaller",
    "Principal",
    "Reader",
    "TokenCache",
    "authenticate",
    "principal_for",
    "require",
    "visible_site_path",
]

READERS = ("admin", "operator", "officer", "auditor")


def visible_site_path(session: Session, principal: Principal, code: str) -> str:
    """The path of site `code`, or 404 when it does not exist or lies outside the caller's subtree (the
    same answer, so a scoped caller cannot probe for other communes' codes)."""
    path = sites.visible_site_path(session, code, principal.scope_path)
    if path is None:
        raise ProblemError(404, "not-found", "Not found", f"no site {code!r} within your scope")
    return path


def _lookup(ctx: AppContext, secret_hash: str) -> Principal | None:
    """The principal of a live token with this secret hash; None if unknown, revoked or expired."""
    with ctx.sessions() as session:
        row = token_by_hash(session, secret_hash)
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
