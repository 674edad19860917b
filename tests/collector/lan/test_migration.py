"""Migration 0009 (the LAN tables) goes down and up again on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from canhgac_collector.store.db import downgrade, make_engine, upgrade

LAN_TABLES = {"lan_devices", "lan_approved", "lan_captures"}


def test_migration_0009_goes_down_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        downgrade(engine, "0008")
        assert not LAN_TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        insp = inspect(engine)
        assert set(insp.get_table_names()) >= LAN_TABLES
        assert {c["name"] for c in insp.get_columns("lan_devices")} >= {"mac", "ips", "last_seen", "host_id"}
    finally:
        engine.dispose()
