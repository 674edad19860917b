"""The real API app on a real database (SQLite and PostgreSQL), driven through HTTP by TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from canhgac_api.app import create_app
from canhgac_collector.config import ServerConfig
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.tokens import create_token
from tests.harness.reports import gzip_batch


@dataclass
class Api:
    client: TestClient
    config: ServerConfig
    engine: Engine  # the app's own: one pool per test, not one per helper call (file descriptors)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    def token(self, role: str, site: str | None = None) -> str:
        with self.sessions.begin() as session:
            return create_token(session, role=role, name=f"test {role}", site_code=site).token

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def enroll(self, key: str, machine_id: str, hostname: str = "pc") -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/agents/enroll",
            json={"enrollment_key": key, "machine_id": machine_id, "hostname": hostname},
        )
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    def push(
        self,
        token: str,
        reports: list[dict[str, Any]],
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        h = {"Content-Type": "application/json", "Content-Encoding": "gzip", **self.auth(token)}
        h.update(headers or {})
        return self.client.post(
            "/api/v1/agents/reports", content=body if body is not None else gzip_batch(reports), headers=h
        )

    def get(self, path: str, token: str, **params: Any) -> Response:
        return self.client.get(path, headers=self.auth(token), params=params)


@pytest.fixture
def make_api(make_config: Callable[..., ServerConfig]) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []
    engines: list[Engine] = []

    def make(**overrides: Any) -> Api:
        config = make_config(**overrides)
        engine = make_engine(config.database_url)
        upgrade(engine)
        client = TestClient(create_app(config, engine), client=("127.0.0.1", 50000))
        client.__enter__()
        clients.append(client)
        engines.append(engine)
        return Api(client, config, engine)

    yield make
    for c in clients:
        c.__exit__(None, None, None)
    for e in engines:
        e.dispose()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
