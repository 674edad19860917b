"""Events (state changes, audit log), newest first, limited to the caller's subtree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from canhgac_api.auth import Reader
from canhgac_api.context import Ctx
from canhgac_api.problems import problem_responses
from canhgac_api.routes.base import Routes
from canhgac_api.schemas.api import EventList, EventOut
from canhgac_collector.store import events

router = APIRouter(prefix="/api/v1/events", tags=["events"])
PLUGIN = Routes("events", router)


@router.get(
    "", response_model=EventList, responses=problem_responses(401, 403), summary="Recent events in your scope"
)
def list_events(
    principal: Reader,
    ctx: Ctx,
    kind: str | None = None,
    subject_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventList:
    with ctx.sessions() as session:
        rows = events.list_events(
            session, principal.scope_path, kind=kind, subject_id=subject_id, limit=limit
        )
    return EventList(
        events=[
            EventOut(
                id=e.id,
                at=e.at,
                kind=e.kind,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                site=code,
                from_state=e.from_state,
                to_state=e.to_state,
                actor=e.actor,
                message=e.message,
                data=e.data,
            )
            for e, code in rows
        ]
    )
