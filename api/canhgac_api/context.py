"""What every request handler shares: config, database, resolved site tree, ingest worker, telemetry;
and who is calling (`Principal`), remembered per token in a `TokenCache`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.config import ServerConfig
from canhgac_collector.metrics.telemetry import Telemetry
from canhgac_collector.sitetree import SiteNode

if TYPE_CHECKING:
    from canhgac_api.ingest_worker import IngestClient
    from canhgac_api.ratelimit import RateLimiter
    from canhgac_collector.server import Server
    from canhgac_collector.store.secrets import SecretBox

CACHE_TTL_S = 30.0


@dataclass(frozen=True)
class Principal:
    """The caller behind a token: its role and the subtree it may read."""

    token_id: str
    role: str
    site_id: int | None
    scope_path: str | None  # None: the whole province
    host_id: str | None  # agents only


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


@dataclass
class AppContext:
    config: ServerConfig
    engine: Engine
    sessions: sessionmaker[Session]
    tree: dict[str, SiteNode]
    site_ids: dict[str, int]  # code → id
    tokens: TokenCache
    ingest: IngestClient
    telemetry: Telemetry
    ingest_limiter: RateLimiter
    enroll_limiter: RateLimiter  # per client address
    enroll_site_limiter: RateLimiter  # per site key
    enroll_global_limiter: RateLimiter  # the whole server
    enroll_failure_events: RateLimiter  # events for tries with a wrong key, per address
    scan_limiter: RateLimiter  # on-demand scans per token
    site_codes: dict[int, str] = field(default_factory=dict)  # id → code
    settings_by_site_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    device_secrets: SecretBox | None = None  # encrypts/decrypts device SNMP secrets (store/secrets.py)
    server: Server | None = None  # the domain services (canhgac_collector.server)


async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]
