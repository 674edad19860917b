"""Shared fixtures: real databases (SQLite and a real PostgreSQL), a small site tree, the API app."""

from __future__ import annotations

import faulthandler
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.postgres import PostgresServer

_db_counter = itertools.count()

# The server's own background threads. One left running after its test keeps polling a dropped
# database for the rest of the run and can keep the interpreter from exiting at the end.
SERVICE_THREADS = frozenset(
    {
        "snmp-poller",
        "influx-writer",
        "compliance-scheduler",
        "config-puller",
        "link-sim",
        "snmp-traps",
        "snmp-trap-writer",
    }
)


@pytest.fixture(autouse=True)
def no_service_left_running() -> Iterator[None]:
    """Fail the test (as a teardown error naming the threads) whose server did not stop its services."""
    before = set(threading.enumerate())
    yield
    started = [t for t in threading.enumerate() if t not in before and t.name in SERVICE_THREADS]
    for thread in started:
        thread.join(10)
    leaked = sorted(t.name for t in started if t.is_alive())
    assert not leaked, f"background services still running after the test: {leaked}"


EXIT_WATCHDOG_S = 60.0


def pytest_unconfigure(config: pytest.Config) -> None:
    """A run that does not let the interpreter exit within a minute of its summary prints every
    thread's stack and exits 3: a hang at exit is a leak to fix, not a CI job to wait out."""

    def give_up() -> None:
        sys.stderr.write(f"\nthe test run has not exited {EXIT_WATCHDOG_S:.0f} s after its summary:\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(3)

    watchdog = threading.Timer(EXIT_WATCHDOG_S, give_up)
    watchdog.daemon = True
    watchdog.start()


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
