"""vulns: imported vulnerability feeds and their fixable ranges (HS-26)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 06:00:00

New tables only; no existing table changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "vuln_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("ecosystems", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vuln_feeds")),
        sa.UniqueConstraint("name", name=op.f("uq_vuln_feeds_name")),
    )
    op.create_table(
        "vuln_affected",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("vuln_id", sa.String(length=64), nullable=False),
        sa.Column("cves", _JSON, nullable=False),
        sa.Column("ecosystem", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("introduced", sa.String(length=128), nullable=True),
        sa.Column("fixed", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["vuln_feeds.id"],
            name=op.f("fk_vuln_affected_feed_id_vuln_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vuln_affected")),
    )
    with op.batch_alter_table("vuln_affected", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vuln_affected_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index("ix_vuln_affected_lookup", ["ecosystem", "package"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vuln_affected", schema=None) as batch_op:
        batch_op.drop_index("ix_vuln_affected_lookup")
        batch_op.drop_index(batch_op.f("ix_vuln_affected_feed_id"))
    op.drop_table("vuln_affected")
    op.drop_table("vuln_feeds")
