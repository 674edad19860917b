"""device configs: SSH settings and config pull status per device, and the config version history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:00:00

New nullable columns on `devices` (SSH secrets are one Fernet token, like the SNMP ones) and a new
table `device_config_versions`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_DEVICE_COLUMNS = (
    ("ssh_platform", sa.String(length=32)),
    ("ssh_port", sa.Integer()),
    ("ssh_username", sa.String(length=64)),
    ("ssh_secret_enc", sa.LargeBinary()),
    ("ssh_host_key", sa.Text()),
    ("ssh_pending_host_key", sa.Text()),
    ("config_pull_at", sa.DateTime(timezone=True)),
    ("config_ok_at", sa.DateTime(timezone=True)),
    ("config_status", sa.String(length=16)),
    ("config_error_kind", sa.String(length=32)),
    ("config_error", sa.Text()),
    ("config_pull_requested_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        for name, type_ in _DEVICE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.create_table(
        "device_config_versions",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("lines_added", sa.Integer(), nullable=False),
        sa.Column("lines_removed", sa.Integer(), nullable=False),
        sa.Column("sections", _JSON, nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_config_versions_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_config_versions")),
    )
    with op.batch_alter_table("device_config_versions", schema=None) as batch_op:
        batch_op.create_index("ix_device_config_versions_device", ["device_id", "version"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("device_config_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_device_config_versions_device")
    op.drop_table("device_config_versions")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        for name, _type in reversed(_DEVICE_COLUMNS):
            batch_op.drop_column(name)
