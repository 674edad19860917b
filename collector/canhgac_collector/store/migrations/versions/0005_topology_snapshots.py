"""topology snapshots: approved LLDP/CDP link sets per site, with who and when

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:00:00

The newest snapshot of a site is the approved network diagram its compliance scans compare with.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "topology_snapshots",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("links", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_topology_snapshots_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topology_snapshots")),
    )
    with op.batch_alter_table("topology_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_topology_snapshots_site", ["site_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("topology_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_topology_snapshots_site")
    op.drop_table("topology_snapshots")
