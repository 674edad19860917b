"""API tokens (admin): list and revoke. A token revoked here stops working at once on this server; one
revoked with `canhgac token revoke` within the host-state check interval."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel

from canhgac_api.auth import Principal, require
from canhgac_api.context import Ctx
from canhgac_api.problems import ProblemError, problem_responses
from canhgac_api.routes.base import Routes
from canhgac_collector.store import token_queries
from canhgac_collector.store.tokens import revoke_token

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
PLUGIN = Routes("tokens", router)
Admin = Annotated[Principal, Depends(require("admin"))]
TokenId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


class TokenOut(BaseModel):
    id: str
    name: str
    role: str
    site: str | None
    host_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenList(BaseModel):
    tokens: list[TokenOut]


@router.get("", response_model=TokenList, responses=problem_responses(401, 403), summary="Tokens (admin)")
def list_tokens(principal: Admin, ctx: Ctx) -> TokenList:
    with ctx.sessions() as session:
        rows = token_queries.list_tokens(session)
    return TokenList(
        tokens=[
            TokenOut(
                id=t.id,
                name=t.name,
                role=t.role,
                site=code,
                host_id=t.host_id,
                created_at=t.created_at,
                expires_at=t.expires_at,
                revoked_at=t.revoked_at,
            )
            for t, code in rows
        ]
    )


@router.delete(
    "/{token_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
    summary="Revoke a token (admin); effective at once",
)
def revoke(token_id: TokenId, principal: Admin, ctx: Ctx) -> Response:
    with ctx.sessions.begin() as session:
        revoked = revoke_token(session, token_id, actor=principal.token_id)
    if not revoked:
        raise ProblemError(404, "not-found", "Not found", f"no active token {token_id!r}")
    ctx.tokens.clear()
    return Response(status_code=204)
