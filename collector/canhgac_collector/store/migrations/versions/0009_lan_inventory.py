"""lan inventory: devices seen by the LAN sensors, approved entries per site, sensor capture health

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07 18:30:00

Three new tables; nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lan_devices",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("ips", _JSON, nullable=False),
        sa.Column("vendor", sa.String(length=256), nullable=True),
        sa.Column("names", _JSON, nullable=False),
        sa.Column("sources", _JSON, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("host_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_lan_devices_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_lan_devices_host_id_hosts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("site_id", "mac", name=op.f("pk_lan_devices")),
    )
    with op.batch_alter_table("lan_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lan_devices_mac"), ["mac"], unique=False)
        batch_op.create_index("ix_lan_devices_site_seen", ["site_id", "last_seen"], unique=False)
    op.create_table(
        "lan_approved",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=45), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_lan_approved_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lan_approved")),
    )
    with op.batch_alter_table("lan_approved", schema=None) as batch_op:
        batch_op.create_index("ix_lan_approved_site", ["site_id", "kind", "value"], unique=False)
    op.create_table(
        "lan_captures",
        sa.Column("host_id", sa.String(length=64), nullable=False),
        sa.Column("interface", sa.String(length=256), nullable=False),
        sa.Column("packets_seen", sa.BigInteger(), nullable=False),
        sa.Column("packets_dropped", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_lan_captures_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("host_id", "interface", name=op.f("pk_lan_captures")),
    )


def downgrade() -> None:
    op.drop_table("lan_captures")
    with op.batch_alter_table("lan_approved", schema=None) as batch_op:
        batch_op.drop_index("ix_lan_approved_site")
    op.drop_table("lan_approved")
    with op.batch_alter_table("lan_devices", schema=None) as batch_op:
        batch_op.drop_index("ix_lan_devices_site_seen")
        batch_op.drop_index(batch_op.f("ix_lan_devices_mac"))
    op.drop_table("lan_devices")
