"""Migration 0008 (device_interfaces.last_change_at) goes down and up again on every backend."""

from __future__ import annotations

from sqlalchemy import inspect

from canhgac_collector.store.db import downgrade, make_engine, upgrade


def test_migration_0008_goes_down_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        downgrade(engine, "0007")
        columns = {c["name"] for c in inspect(engine).get_columns("device_interfaces")}
        assert "last_change_at" not in columns
        assert "oper_status" in columns
        upgrade(engine)
        assert "last_change_at" in {c["name"] for c in inspect(engine).get_columns("device_interfaces")}
    finally:
        engine.dispose()
