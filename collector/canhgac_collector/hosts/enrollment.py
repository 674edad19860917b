"""Enrolling an agent's machine as a host of the site whose enrollment key it presented.

A new machine becomes a host of that site; a machine already enrolled in that site gets a new token
(its old ones stop working) and keeps its history. Another site's key never takes over an existing
host: the refusal is recorded for the officers of both sites. Lookups here are by machine, not by a
caller's scope: the enrollment key, checked before, decides the site.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Host, Token
from canhgac_collector.store.tokens import create_token


def host_by_machine(session: Session, machine_id: str) -> Host | None:
    """The host enrolled from machine `machine_id`, in whichever site, or None."""
    return session.scalar(select(Host).where(Host.machine_id == machine_id))


@dataclass(frozen=True)
class Enrolled:
    """An enrolled host: its id, its new agent token (shown once) and the last report seq it stored."""

    agent_id: str
    token: str
    last_seq: int


def enroll_in_site(
    session: Session,
    host: Host | None,
    *,
    machine_id: str,
    hostname: str,
    site_code: str,
    site_name: str,
    site_id: int,
    actor: str,
) -> Enrolled:
    """Create the host of `machine_id` in site `site_id` (when `host` is None), or revoke the live tokens
    of that site's own `host` and rename it; either way record it and issue a new agent token."""
    now = dt.datetime.now(dt.UTC)
    if host is None:
        host = Host(
            id=str(uuid.uuid4()),
            machine_id=machine_id,
            hostname=hostname,
            site_id=site_id,
            state="new",
            state_changed_at=now,
            enrolled_at=now,
            last_seq=0,
            reports_total=0,
        )
        session.add(host)
        session.flush()
        kind, message = "host.enrolled", f"Máy {hostname} đăng ký tại {site_name} / enrolled"
    else:
        session.execute(
            update(Token).where(Token.host_id == host.id, Token.revoked_at.is_(None)).values(revoked_at=now)
        )
        host.hostname = hostname
        kind, message = "host.reenrolled", f"Máy {hostname} đăng ký lại tại {site_name} / re-enrolled"
    record_event(
        session,
        kind=kind,
        subject_type="host",
        subject_id=host.id,
        site_id=site_id,
        actor=actor,
        message=message,
    )
    token = create_token(
        session, role="agent", name=f"agent {hostname}", site_code=site_code, host_id=host.id
    )
    return Enrolled(host.id, token.token, host.last_seq)


def record_failed_key(session: Session, machine_id: str, client: str) -> None:
    """A try with a key of no site: a province-wide event (admins and operators see it)."""
    record_event(
        session,
        kind="enroll.failed",
        subject_type="host",
        subject_id=machine_id[:64],
        site_id=None,
        actor=f"enroll:{client}",
        message=f"Đăng ký với khóa sai từ {client} / enrollment tried with an invalid key",
    )


def record_takeover_refused(
    session: Session, host: Host, site_code: str, site_id: int, client: str, hostname: str
) -> None:
    """A refused takeover of `host` by site `site_code`'s key, recorded for the officers of both sites
    (the host's and the key's)."""
    message = (
        f"Từ chối: khóa đăng ký của {site_code} (từ {client}, tên {hostname!r}) nhắm vào máy {host.hostname} "
        "đang thuộc site khác / refused: another site's enrollment key claimed this machine"
    )
    for sid in (host.site_id, site_id):
        record_event(
            session,
            kind="enroll.conflict",
            subject_type="host",
            subject_id=host.id,
            site_id=sid,
            actor=f"enroll:{client}",
            message=message[:1000],
        )
