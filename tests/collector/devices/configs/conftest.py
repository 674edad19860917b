"""A store with the test site tree and three config devices: sw-a1 (Cisco, SSH with password and enable
secret), core-p (SSH without a platform: guessed from SNMP), and snmp-only (no SSH block)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.store import sync_config_devices
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import Device
from canhgac_collector.store.secrets import SecretBox
from canhgac_collector.store.sites import sync_sites

SSH_PASSWORD = "ssh-pa55word-for-backup"
ENABLE_SECRET = "en4ble-s3cret-value"
COMMUNITY = "c0mmunity-s3cret"


def device_entries() -> list[dict[str, Any]]:
    snmp = {"version": "2c", "community": COMMUNITY}
    return [
        {
            "name": "sw-a1",
            "address": "127.0.0.1",
            "site": "XA-A",
            "snmp": snmp,
            "ssh": {
                "platform": "cisco_ios",
                "port": 2222,
                "username": "backup",
                "password": SSH_PASSWORD,
                "enable_secret": ENABLE_SECRET,
            },
        },
        {
            "name": "core-p",
            "address": "127.0.0.2",
            "site": "P",
            "snmp": snmp,
            "ssh": {"username": "backup", "private_key_file": "/etc/canhgac/backup_ed25519"},
        },
        {"name": "snmp-only", "address": "127.0.0.3", "site": "XA-B", "snmp": snmp},
    ]


@dataclass
class Store:
    config: ServerConfig
    sessions: sessionmaker[Session]
    box: SecretBox

    def device_id(self, name: str) -> int:
        with self.sessions() as session:
            found = session.scalar(select(Device.id).where(Device.name == name))
            assert found is not None
            return found


def open_store(config: ServerConfig, key_file: Path) -> tuple[Store, Engine]:
    """Migrate `config`'s database and sync its sites and devices into it."""
    engine = make_engine(config.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    box = SecretBox(key_file)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(config))
        sync_config_devices(session, config, box)
    return Store(config, sessions, box), engine


@pytest.fixture
def store(make_config: Callable[..., ServerConfig], tmp_path: Path) -> Iterator[Store]:
    made, engine = open_store(make_config(devices=device_entries()), tmp_path / "secrets.key")
    yield made
    engine.dispose()
