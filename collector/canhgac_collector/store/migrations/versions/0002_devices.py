"""devices: inventory, interfaces, neighbours, MAC and ARP locations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:01:27.861758

Device secrets are stored encrypted (one Fernet token per device, storage/secrets.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("snmp_version", sa.String(length=4), nullable=False),
        sa.Column("snmp_secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("poll_interval_s", sa.Float(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sys_descr", sa.Text(), nullable=True),
        sa.Column("sys_object_id", sa.String(length=255), nullable=True),
        sa.Column("vendor", sa.String(length=64), nullable=True),
        sa.Column("sys_name", sa.String(length=255), nullable=True),
        sa.Column("sys_uptime", sa.BigInteger(), nullable=True),
        sa.Column("sys_contact", sa.Text(), nullable=True),
        sa.Column("sys_location", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.String(length=64), nullable=True),
        sa.Column("state_detail", sa.Text(), nullable=True),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("poll_duration_s", sa.Float(), nullable=True),
        sa.Column("resources", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("module_errors", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_devices_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("name", name=op.f("uq_devices_name")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_sys_name"), ["sys_name"], unique=False)

    op.create_table(
        "arp_entries",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("if_index", sa.Integer(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_arp_entries_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", "ip", name=op.f("pk_arp_entries")),
    )
    with op.batch_alter_table("arp_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arp_entries_ip"), ["ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_arp_entries_mac"), ["mac"], unique=False)

    op.create_table(
        "device_interfaces",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("if_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("if_name", sa.String(length=255), nullable=True),
        sa.Column("if_descr", sa.Text(), nullable=True),
        sa.Column("if_alias", sa.Text(), nullable=True),
        sa.Column("if_type", sa.Integer(), nullable=True),
        sa.Column("if_mtu", sa.Integer(), nullable=True),
        sa.Column("speed_bps", sa.BigInteger(), nullable=True),
        sa.Column("if_phys_address", sa.String(length=64), nullable=True),
        sa.Column("admin_status", sa.String(length=16), nullable=True),
        sa.Column("oper_status", sa.String(length=16), nullable=True),
        sa.Column("counters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("in_bps", sa.Float(), nullable=True),
        sa.Column("out_bps", sa.Float(), nullable=True),
        sa.Column("in_errors_ps", sa.Float(), nullable=True),
        sa.Column("out_errors_ps", sa.Float(), nullable=True),
        sa.Column("in_discards_ps", sa.Float(), nullable=True),
        sa.Column("out_discards_ps", sa.Float(), nullable=True),
        sa.Column("utilisation", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_interfaces_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "if_index", name=op.f("pk_device_interfaces")),
    )
    op.create_table(
        "device_neighbors",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("local_if_index", sa.Integer(), nullable=True),
        sa.Column("local_port", sa.String(length=255), nullable=True),
        sa.Column("remote_name", sa.String(length=255), nullable=True),
        sa.Column("remote_port", sa.String(length=255), nullable=True),
        sa.Column("remote_chassis_id", sa.String(length=255), nullable=True),
        sa.Column("remote_address", sa.String(length=64), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_neighbors_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_neighbors")),
    )
    with op.batch_alter_table("device_neighbors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_neighbors_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_neighbors_remote_name"), ["remote_name"], unique=False)

    op.create_table(
        "mac_locations",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("vlan", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("if_index", sa.Integer(), nullable=True),
        sa.Column("port_name", sa.String(length=255), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_mac_locations_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", "mac", "vlan", name=op.f("pk_mac_locations")),
    )
    with op.batch_alter_table("mac_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mac_locations_mac"), ["mac"], unique=False)
        batch_op.create_index("ix_mac_locations_port", ["device_id", "if_index"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mac_locations", schema=None) as batch_op:
        batch_op.drop_index("ix_mac_locations_port")
        batch_op.drop_index(batch_op.f("ix_mac_locations_mac"))

    op.drop_table("mac_locations")
    with op.batch_alter_table("device_neighbors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_neighbors_remote_name"))
        batch_op.drop_index(batch_op.f("ix_device_neighbors_device_id"))

    op.drop_table("device_neighbors")
    op.drop_table("device_interfaces")
    with op.batch_alter_table("arp_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arp_entries_mac"))
        batch_op.drop_index(batch_op.f("ix_arp_entries_ip"))

    op.drop_table("arp_entries")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_sys_name"))
        batch_op.drop_index(batch_op.f("ix_devices_site_id"))

    op.drop_table("devices")
