"""Traps inside `canhgac serve`: a linkDown on a monitored uplink raises its alert right away, long
before the next SNMP poll or alert interval would have noticed, and the receiver shows on /metrics."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from canhgac_api.app import create_app
from canhgac_collector.config import ServerConfig
from canhgac_collector.store.models import Alert
from tests.collector.devices.traps.test_receiver import (
    DEVICES,
    IF_INDEX,
    IF_OPER,
    LINK_DOWN,
    Store,
    traps_config,
    v2c,
    wait_for,
)
from tests.conftest import site_tree

METRICS_TOKEN = "metrics-token-5c1d9e2f7a"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_link_down_trap_fires_the_uplink_alert_before_the_next_poll(tmp_path: Path) -> None:
    port = free_udp_port()
    config = ServerConfig(
        database_url=f"sqlite:///{tmp_path / 'serve.sqlite'}",
        sites=site_tree(),
        devices=DEVICES,
        # the poller would take 60 s and the alert rule's `for` another 60 s; alerts are evaluated
        # every 300 s unless something asks sooner
        snmp={"enabled": False, "secrets_key_file": str(tmp_path / "secrets.key")},
        alerting={"evaluate_interval_s": 300},
        traps=traps_config(listen_port=port),
        metrics={"bearer_token": METRICS_TOKEN},
    )
    store = Store(config)
    app = create_app(config, store.engine)
    try:
        with TestClient(app) as client:
            assert client.get("/api/v1/health").status_code == 200
            sent = time.monotonic()
            v2c(port, "127.0.0.2", LINK_DOWN, f"{IF_INDEX}.2", "i", "2", f"{IF_OPER}.2", "i", "2")

            def firing() -> Alert | None:
                with store.sessions() as session:
                    return session.scalars(
                        select(Alert).where(Alert.rule == "link_down", Alert.state == "firing")
                    ).first()

            alert = wait_for(firing, "the link_down alert", timeout=10)
            assert time.monotonic() - sent < 10
            assert alert.subject_id == "sw-a/2"
            assert "Gi0/2" in alert.subject_name
            metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
            assert 'canhgac_traps_received_total{result="accepted"} 1' in metrics
    finally:
        store.engine.dispose()
