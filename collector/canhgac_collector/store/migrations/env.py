"""Alembic environment: runs on the engine handed over by `canhgac_collector.store.db.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from canhgac_collector.store.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only via `canhgac db upgrade`
    raise RuntimeError("run migrations through `canhgac db upgrade`, which supplies the engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
