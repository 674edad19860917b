"""The server as the HTTP face runs it: started and stopped whole, even when one part misbehaves."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from canhgac_api.app import create_app
from canhgac_collector.config import ServerConfig
from canhgac_collector.store.db import make_engine, upgrade


def _service_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name in {"snmp-poller", "compliance-scheduler"}}


def test_a_service_that_fails_to_stop_does_not_keep_the_others_running(
    make_config: Callable[..., ServerConfig], caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(compliance={"enabled": True})
    engine = make_engine(config.database_url)
    upgrade(engine)
    app = create_app(config, engine)
    try:
        with TestClient(app) as client:
            assert client.get("/api/v1/health").status_code == 200
            assert _service_threads() == {"snmp-poller", "compliance-scheduler"}

            async def broken_stop() -> Any:
                raise RuntimeError("alerting refused to stop")

            app.state.alerting.stop = broken_stop  # a fault that the real service cannot be made to show
            caplog.set_level(logging.ERROR, logger="canhgac.server")
        # Leaving the client ran the lifespan's shutdown: the failure was logged and everything after
        # it in the stop order was stopped all the same.
        assert any("stopping the alerting failed" in r.getMessage() for r in caplog.records)
        for thread in threading.enumerate():
            if thread.name in {"snmp-poller", "compliance-scheduler"}:
                thread.join(10)
        assert _service_threads() == set()
    finally:
        engine.dispose()
