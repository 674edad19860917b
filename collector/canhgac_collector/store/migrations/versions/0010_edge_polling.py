"""devices: who polls them (server or an agent of their site) and since when an agent owns them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 21:50:00

Three new columns on `devices`: `poller` (auto | server | edge, from the config), `edge_host_id` (the
agent's host that claimed the device with its first edge poll; NULL when the server polls it) and
`edge_polled_at` (the newest edge poll's time). Existing devices become `auto`, server-polled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poller", sa.String(length=8), nullable=False, server_default="auto"))
        batch_op.add_column(sa.Column("edge_host_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("edge_polled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_devices_edge_host_id_hosts"),
            "hosts",
            ["edge_host_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_devices_edge_host_id"), ["edge_host_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_edge_host_id"))
        batch_op.drop_constraint(batch_op.f("fk_devices_edge_host_id_hosts"), type_="foreignkey")
        batch_op.drop_column("edge_polled_at")
        batch_op.drop_column("edge_host_id")
        batch_op.drop_column("poller")
