"""State store models (SQLAlchemy 2). The same schema runs on SQLite (default) and PostgreSQL.

Schema changes go through Alembic migrations in `store/migrations/versions/`; a test checks that the
migrated schema matches these models on both databases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER keys


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Site(Base):
    """A node of the site tree. `path` is `/CODE/CHILD/…/` so a subtree is one prefix match."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[int | None] = mapped_column(Integer)  # declared; None = inherited from the parent
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    path: Mapped[str] = mapped_column(String(2048), index=True)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(default=True)  # False once removed from the config


class Host(Base):
    """A machine running the agent. Its id is the agent id; the latest report's sections are kept here."""

    __tablename__ = "hosts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    machine_id: Mapped[str] = mapped_column(String(128), unique=True)
    hostname: Mapped[str] = mapped_column(String(255))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="new")  # new | up | stale | down
    state_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_report_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when received
    last_collected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # agent's clock
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    reports_total: Mapped[int] = mapped_column(BigInteger, default=0)
    agent_version: Mapped[str | None] = mapped_column(String(64))
    os_name: Mapped[str | None] = mapped_column(String(200))
    # The newest report's canonical JSON as received: ingest stores the bytes it already has instead of
    # re-serializing each section per report; readers parse it (one host at a time).
    latest_report: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Security facts come hourly, not in every report, so the newest set is kept on its own.
    security: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    security_collected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Report(Base):
    """The ledger of accepted agent reports: (host, seq) is unique, and the content hash tells a resend
    (same hash: a duplicate) from a reused seq (another hash: a conflict). Kept for
    `ingest.report_retention_days`; bodies are not kept per report (the newest is on the host row,
    history goes to InfluxDB), see docs/adr/0003-ingest-group-commit.md."""

    __tablename__ = "reports"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    body_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    size: Mapped[int] = mapped_column(Integer)  # bytes of canonical JSON


class Token(Base):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once at creation."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | operator | officer | auditor | agent
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """A state change or an administrative action, in time order: the source of availability figures
    and the audit log."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject_type", "subject_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(64))  # host.state, host.enrolled, token.created, …
    subject_type: Mapped[str] = mapped_column(String(16))  # host | site | token | device
    subject_id: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64))  # token id or "system"
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Device(Base):
    """A switch, router or firewall polled over SNMP. `source` says who owns it: "config" devices are
    kept in step with server.yaml (read-only via the API), "api" devices are managed through the API.
    SNMP secrets are one Fernet token (`store/secrets.py`), SSH secrets another; nothing else here is
    secret."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=161)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(32), default="access")
    source: Mapped[str] = mapped_column(String(16), default="api")  # config | api
    snmp_version: Mapped[str] = mapped_column(String(4))  # 1 | 2c | 3
    snmp_secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # None: the poller's defaults (`snmp.*` in the config) apply.
    poll_interval_s: Mapped[float | None] = mapped_column(Float)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    retries: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # What the device says about itself (SNMPv2-MIB system group), from the newest successful poll.
    sys_descr: Mapped[str | None] = mapped_column(Text)
    sys_object_id: Mapped[str | None] = mapped_column(String(255))
    vendor: Mapped[str | None] = mapped_column(String(64))
    sys_name: Mapped[str | None] = mapped_column(String(255), index=True)
    sys_uptime: Mapped[int | None] = mapped_column(BigInteger)  # hundredths of a second
    sys_contact: Mapped[str | None] = mapped_column(Text)
    sys_location: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="unknown")  # up | down | error | unknown
    state_reason: Mapped[str | None] = mapped_column(String(64))  # an SnmpError.reason
    state_detail: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_poll_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    poll_duration_s: Mapped[float | None] = mapped_column(Float)
    resources: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # CPU, memory, temperatures
    module_errors: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Config backup over SSH (devices/configs/). No ssh_username: the device is not pulled. The secrets
    # (password, private key or its file, enable secret) are one Fernet token like the SNMP ones.
    ssh_platform: Mapped[str | None] = mapped_column(String(32))  # None: guessed from SNMP
    ssh_port: Mapped[int | None] = mapped_column(Integer)
    ssh_username: Mapped[str | None] = mapped_column(String(64))
    ssh_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    ssh_host_key: Mapped[str | None] = mapped_column(Text)  # pinned on first use: "type base64"
    ssh_pending_host_key: Mapped[str | None] = mapped_column(Text)  # presented since, not yet accepted
    config_pull_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    config_ok_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    config_status: Mapped[str | None] = mapped_column(String(16))  # ok | error
    config_error_kind: Mapped[str | None] = mapped_column(String(32))  # a PULL_ERROR_KINDS name
    config_error: Mapped[str | None] = mapped_column(Text)
    config_pull_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # "pull now"
    # Edge polling (devices/edge/): auto | server | edge from the config; the agent's host that owns the
    # device since its first edge poll (None: the server polls it) and the newest edge poll's time.
    poller: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    edge_host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"), index=True)
    edge_polled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeviceConfigVersion(Base):
    """One stored running configuration of a device: kept only when its normalised text differs from
    the version before (`devices/configs/history.py`). `raw_text` is the config exactly as pulled, for a
    restore (admins only); everyone else sees it masked. A version may be approved, with who, when, why."""

    __tablename__ = "device_config_versions"
    __table_args__ = (Index("ix_device_config_versions_device", "device_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per device
    platform: Mapped[str] = mapped_column(String(32))
    pulled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # first pulled with this content
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # newest pull that found it unchanged
    content_sha256: Mapped[str] = mapped_column(String(64))  # of the normalised text
    raw_text: Mapped[str] = mapped_column(Text)
    lines_added: Mapped[int] = mapped_column(Integer)  # vs the version before (normalised)
    lines_removed: Mapped[int] = mapped_column(Integer)
    sections: Mapped[list[str]] = mapped_column(JSONType, default=list)  # sections the change touched
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approval_comment: Mapped[str | None] = mapped_column(Text)


class DeviceInterface(Base):
    """One interface of a device (IF-MIB), with the rates computed from the last two polls."""

    __tablename__ = "device_interfaces"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    if_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    if_name: Mapped[str | None] = mapped_column(String(255))
    if_descr: Mapped[str | None] = mapped_column(Text)
    if_alias: Mapped[str | None] = mapped_column(Text)
    if_type: Mapped[int | None] = mapped_column(Integer)
    if_mtu: Mapped[int | None] = mapped_column(Integer)
    speed_bps: Mapped[int | None] = mapped_column(BigInteger)
    if_phys_address: Mapped[str | None] = mapped_column(String(64))
    admin_status: Mapped[str | None] = mapped_column(String(16))
    oper_status: Mapped[str | None] = mapped_column(String(16))
    counters: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    in_bps: Mapped[float | None] = mapped_column(Float)
    out_bps: Mapped[float | None] = mapped_column(Float)
    in_errors_ps: Mapped[float | None] = mapped_column(Float)
    out_errors_ps: Mapped[float | None] = mapped_column(Float)
    in_discards_ps: Mapped[float | None] = mapped_column(Float)
    out_discards_ps: Mapped[float | None] = mapped_column(Float)
    utilisation: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # When the port last changed state (ifLastChange turned into wall-clock time, or a link trap's time);
    # at or before the device's boot when ifLastChange was 0.
    last_change_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeviceNeighbor(Base):
    """An LLDP or CDP neighbour seen on a local port; replaced as a whole by each successful poll."""

    __tablename__ = "device_neighbors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    protocol: Mapped[str] = mapped_column(String(8))  # lldp | cdp
    local_if_index: Mapped[int | None] = mapped_column(Integer)
    local_port: Mapped[str | None] = mapped_column(String(255))
    remote_name: Mapped[str | None] = mapped_column(String(255), index=True)
    remote_port: Mapped[str | None] = mapped_column(String(255))
    remote_chassis_id: Mapped[str | None] = mapped_column(String(255))
    remote_address: Mapped[str | None] = mapped_column(String(64))
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MacLocation(Base):
    """A MAC address learned on a device port (BRIDGE-MIB / Q-BRIDGE-MIB FDB). vlan 0 = unknown VLAN.
    Rows outlive the FDB entry, so "where was it last seen" still has an answer after it leaves."""

    __tablename__ = "mac_locations"
    __table_args__ = (Index("ix_mac_locations_port", "device_id", "if_index"),)

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    mac: Mapped[str] = mapped_column(String(17), primary_key=True, index=True)  # aa:bb:cc:dd:ee:ff
    vlan: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    if_index: Mapped[int | None] = mapped_column(Integer)
    port_name: Mapped[str | None] = mapped_column(String(255))
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ArpEntry(Base):
    """An IP ↔ MAC pair from a device's ARP table (IP-MIB ipNetToMedia / ipNetToPhysical)."""

    __tablename__ = "arp_entries"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    ip: Mapped[str] = mapped_column(String(45), primary_key=True, index=True)
    mac: Mapped[str] = mapped_column(String(17), index=True)
    if_index: Mapped[int | None] = mapped_column(Integer)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TopologySnapshot(Base):
    """An approved network diagram of a site subtree: the LLDP/CDP link set as it was when someone
    approved it, and who and when. The newest per site is the one scans compare the live links with."""

    __tablename__ = "topology_snapshots"
    __table_args__ = (Index("ix_topology_snapshots_site", "site_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    approved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str] = mapped_column(String(200))
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{a, a_port, b, b_port}]


# --- alerting (collector/canhgac_collector/alerting/) ---------------------------------------------------


class Alert(Base):
    """One alert: a rule's condition on one subject (site, host, device, interface), from first seen to
    resolved. `key` identifies the condition; at most one open (not resolved) alert per key. Every state
    change is also an Event (kind `alert.state`)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_open", "state", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), index=True)  # rule:subject_type:subject_id
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))  # info | warning | critical
    subject_type: Mapped[str] = mapped_column(String(16))  # site | host | device | interface
    subject_id: Mapped[str] = mapped_column(String(255))
    subject_name: Mapped[str] = mapped_column(String(255))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | firing | acknowledged | resolved
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # condition first seen
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # when the problem began (e.g. last report)
    firing_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    ack_comment: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # condition clear since (hysteresis)
    flap_count: Mapped[int] = mapped_column(Integer, default=0)
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # first firing message queued
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0: the site's own contacts
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    silenced: Mapped[bool] = mapped_column(default=False)  # in a maintenance window at the last evaluation
    value: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)  # Vietnamese, one line
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # affected members, values, recipients


class Notification(Base):
    """The outbox: one message to one recipient over one channel. A failed send is retried with backoff
    (`next_attempt_at`); nothing is deleted until sent or given up (`state` failed)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))  # smtp | telegram | webhook:<name> | alertmanager
    recipient: Mapped[str] = mapped_column(String(255))  # e-mail, chat id, webhook URL, Alertmanager URL
    recipient_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # firing | escalation | resolved | refresh
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # JSON channels
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Silence(Base):
    """A maintenance window over a site subtree (API-managed; config windows live in server.yaml):
    `kind` once (starts_at…ends_at), weekly or dates, with the schedule in `schedule`."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    rules: Mapped[list[str]] = mapped_column(JSONType, default=list)  # empty: every rule
    kind: Mapped[str] = mapped_column(String(16))  # once | weekly | dates
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # weekly / dates details
    comment: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))  # token id
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# --- compliance (server side: collector/canhgac_collector/compliance/) ----------------------------------


class Scan(Base):
    """One compliance run over a site subtree at a level: when, with which rule packs, the scores, the
    diff against the previous scan of the same site and level, and the SHA-256 of its JSON report."""

    __tablename__ = "scans"
    __table_args__ = (Index("ix_scans_site_level", "site_id", "level", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(16))  # api | scheduled | cli
    actor: Mapped[str | None] = mapped_column(String(64))  # token id, or "system"
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    packs: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{id, version, scope}]
    targets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # counts per kind, errors
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    not_applicable: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float)  # pass / (pass + fail); None when nothing judged
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # engine scores()
    manual_review: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    previous_scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    report_sha256: Mapped[str] = mapped_column(String(64))


class Finding(Base):
    """One rule's result on one target of a scan; `doc` is the offline report's finding JSON (rule_id,
    requirements, levels, target, result, evidence, remediation…), the columns are for queries."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_scan_result", "scan_id", "result"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(255))
    target_kind: Mapped[str] = mapped_column(String(16))  # host | device | site
    result: Mapped[str] = mapped_column(String(16))  # pass | fail | not_applicable | error
    severity: Mapped[str] = mapped_column(String(16))
    doc: Mapped[dict[str, Any]] = mapped_column(JSONType)


class VulnFeed(Base):
    """An imported vulnerability feed (`canhgac vulns import`); a new import under the same name
    replaces it and its ranges in one transaction."""

    __tablename__ = "vuln_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(16))  # osv | debian
    source: Mapped[str] = mapped_column(String(255))  # the imported file's name
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    entries: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)  # ranges without a fixed version
    ecosystems: Mapped[list[str]] = mapped_column(JSONType, default=list)  # "debian:12", "ubuntu:22.04"…


class VulnAffected(Base):
    """One fixable vulnerable range of a feed: `package` in `ecosystem`, [introduced, fixed)."""

    __tablename__ = "vuln_affected"
    __table_args__ = (Index("ix_vuln_affected_lookup", "ecosystem", "package"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("vuln_feeds.id", ondelete="CASCADE"), index=True)
    vuln_id: Mapped[str] = mapped_column(String(64))
    cves: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ecosystem: Mapped[str] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(String(200))
    introduced: Mapped[str | None] = mapped_column(String(128))
    fixed: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str | None] = mapped_column(String(32))


# --- LAN inventory (collector/canhgac_collector/lan/) ----------------------------------------------------


class LanDevice(Base):
    """A device the LAN sensor of a site saw (one row per site and MAC), kept across reports: the
    sensor sends only what it saw in each interval. Capped per site; the oldest `last_seen` goes first."""

    __tablename__ = "lan_devices"
    __table_args__ = (Index("ix_lan_devices_site_seen", "site_id", "last_seen"),)

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    mac: Mapped[str] = mapped_column(String(17), primary_key=True, index=True)  # aa:bb:cc:dd:ee:ff
    ips: Mapped[list[str]] = mapped_column(JSONType, default=list)  # newest first
    vendor: Mapped[str | None] = mapped_column(String(256))
    names: Mapped[list[str]] = mapped_column(JSONType, default=list)
    sources: Mapped[list[str]] = mapped_column(JSONType, default=list)  # arp, dhcp, lldp, …
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"))  # reporter


class LanApproved(Base):
    """An approved entry of a site: a device (MAC), a DHCP server or a gateway (IP). `origin` "config"
    rows are kept in step with server.yaml's `lan:` section; "api" rows are set through the API."""

    __tablename__ = "lan_approved"
    __table_args__ = (Index("ix_lan_approved_site", "site_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # device | dhcp_server | gateway
    value: Mapped[str] = mapped_column(String(45))  # a MAC (device) or an IP address
    label: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(8))  # config | api
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class LanCaptureState(Base):
    """The LAN sensor's capture health on one interface of one host, from its newest report."""

    __tablename__ = "lan_captures"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True)
    interface: Mapped[str] = mapped_column(String(256), primary_key=True)
    packets_seen: Mapped[int] = mapped_column(BigInteger)
    packets_dropped: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
