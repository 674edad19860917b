"""Migration 0009 (the LAN tables) goes down and up again on both databases."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import inspect

from canhgac_collector.store.db import MIGRATIONS_DIR, make_engine, upgrade

LAN_TABLES = {"lan_devices", "lan_approved", "lan_captures"}


def test_migration_0009_goes_down_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["engine"] = engine
        command.downgrade(cfg, "0008")
        assert not LAN_TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        insp = inspect(engine)
        assert set(insp.get_table_names()) >= LAN_TABLES
        assert {c["name"] for c in insp.get_columns("lan_devices")} >= {"mac", "ips", "last_seen", "host_id"}
    finally:
        engine.dispose()
