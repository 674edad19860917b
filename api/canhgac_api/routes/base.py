"""What a routes module registers: one resource's FastAPI router under a name."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter


@dataclass(frozen=True)
class Routes:
    """One resource's routes; `create_app` mounts every registered `router`."""

    name: str
    router: APIRouter
