"""device interfaces: when each one last changed state (IF-MIB ifLastChange or a link trap)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:00:00

One new nullable column on `device_interfaces`, in wall-clock time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_interfaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_interfaces", schema=None) as batch_op:
        batch_op.drop_column("last_change_at")
