"""compliance: scans and their findings (server-side compliance scans)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 06:00:00

A scan keeps its scores, manual-review items and diff; each finding keeps the offline report's finding
JSON (`doc`) beside indexed columns for filtering.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("packs", _JSON, nullable=False),
        sa.Column("targets", _JSON, nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("not_applicable", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("summary", _JSON, nullable=False),
        sa.Column("manual_review", _JSON, nullable=False),
        sa.Column("previous_scan_id", _BIGID, nullable=True),
        sa.Column("diff", _JSON, nullable=True),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["previous_scan_id"],
            ["scans.id"],
            name=op.f("fk_scans_previous_scan_id_scans"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_scans_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scans_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scans_started_at"), ["started_at"], unique=False)
        batch_op.create_index("ix_scans_site_level", ["site_id", "level", "id"], unique=False)
    op.create_table(
        "findings",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("scan_id", _BIGID, nullable=False),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("doc", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_findings_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index("ix_findings_scan_result", ["scan_id", "result"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_scan_result")
    op.drop_table("findings")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index("ix_scans_site_level")
        batch_op.drop_index(batch_op.f("ix_scans_started_at"))
        batch_op.drop_index(batch_op.f("ix_scans_site_id"))
    op.drop_table("scans")
