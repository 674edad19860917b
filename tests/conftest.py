"""Shared fixtures: real databases (SQLite and a real PostgreSQL), a small site tree, the API app."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.postgres import PostgresServer

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend the store supports (a PostgreSQL one is dropped after
    the test, with whatever connections the test left open)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'canhgac.sqlite'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t{next(_db_counter)}"
    yield server.create_database(name)
    server.drop_database(name)


def site_tree() -> list[dict[str, Any]]:
    """Province → district → commune A, province → commune B (no district), commune B → office."""
    return [
        {
            "code": "P",
            "name": "Tỉnh Thử Nghiệm",
            "kind": "province",
            "level": 3,
            "contacts": [{"name": "Trực vận hành tỉnh", "email": "noc@example.gov.vn"}],
            "enrollment_keys": ["province-key-0123456789"],
            "probe_targets": [
                {"name": "provincial-dc", "kind": "tcp", "host": "127.0.0.1", "port": 9},
                {"name": "portal", "kind": "http", "url": "http://127.0.0.1:9/"},
            ],
            "children": [
                {
                    "code": "D1",
                    "name": "Huyện Một",
                    "kind": "district",
                    "children": [
                        {
                            "code": "XA-A",
                            "name": "Xã A",
                            "kind": "commune",
                            "level": 2,
                            "enrollment_keys": ["commune-a-key-0123456789"],
                            "probe_targets": [
                                {"name": "portal", "kind": "http", "url": "http://127.0.0.1:10/"}
                            ],
                        },
                    ],
                },
                {
                    "code": "XA-B",
                    "name": "Xã B",
                    "kind": "commune",
                    "level": 2,
                    "enrollment_keys": ["commune-b-key-0123456789"],
                    "children": [
                        {
                            "code": "XA-B-MC",
                            "name": "Bộ phận một cửa xã B",
                            "kind": "office",
                            "enrollment_keys": ["commune-b-office-key-0123"],
                        }
                    ],
                },
            ],
        }
    ]


@pytest.fixture
def make_config(db_url: str, tmp_path: Path) -> Callable[..., Any]:
    from canhgac_collector.config import ServerConfig

    def make(**overrides: Any) -> ServerConfig:
        data: dict[str, Any] = {
            "database_url": db_url,
            "sites": site_tree(),
            # Never the user's ~/.local/state key: each test gets its own.
            "snmp": {"secrets_key_file": str(tmp_path / "secrets.key")},
        }
        data.update(overrides)
        return ServerConfig(**data)

    return make
