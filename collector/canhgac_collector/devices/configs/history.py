"""Config history: each pull's outcome recorded on the device, a new version stored only when the
normalised config changed (with a `device.config_changed` event the `config_changed` alert rule turns into
an alert), host keys pinned on first use and a changed one held until an operator accepts it, retention,
approval, and unified diffs (masked for every role but admin).

Every function works in the caller's transaction and takes `now` where time matters, so the scheduler,
the API and the CLI share one behaviour.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from canhgac_collector.devices.configs.credentials import device_platform
from canhgac_collector.devices.configs.mask import mask_config
from canhgac_collector.devices.configs.normalise import content_hash, normalise
from canhgac_collector.devices.configs.target import PullError, PullResult
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Device, DeviceConfigVersion

log = logging.getLogger("canhgac.devices.configs")

DEFAULT_RETENTION = 100
MAX_CONFIG_CHARS = 4 * 1024 * 1024  # a 1,500-line config is ~50 kB; anything near this is not a config
MAX_HOST_KEY_CHARS = 16_384
MAX_REASON_CHARS = 1000
MAX_COMMENT_CHARS = 2000
MAX_SECTIONS = 20
UNKNOWN_PLATFORM = "unknown"


@dataclass(frozen=True)
class ChangeSummary:
    """How one config differs from the one before, without any of its values beyond section names."""

    lines_added: int
    lines_removed: int
    sections: list[str]

    def text(self) -> str:
        where = ", ".join(self.sections[:5]) + (" …" if len(self.sections) > 5 else "")
        return f"+{self.lines_added}/-{self.lines_removed}" + (f" ({where})" if where else "")


@dataclass(frozen=True)
class RecordOutcome:
    """What `record_pull` did: `stored_version` is the new version's number (None: nothing stored),
    `changed` tells a change from a first backup, `status` is ok | error | missing (device gone)."""

    device_id: int
    status: str
    stored_version: int | None = None
    changed: bool = False
    host_key_pinned: bool = False
    error_kind: str | None = None
    summary: ChangeSummary | None = None


def _section_of(line: str) -> str:
    """A short, secret-free label of the top-level line a change sits under (masked before this)."""
    words = line.strip().rstrip("{;").split()
    if words and words[0] in ("set", "delete", "deactivate"):  # Junos set format
        words = words[1:]
    if words and words[0].startswith("/"):  # RouterOS: the menu path, not the command after it
        taken = []
        for w in words:
            if w in ("add", "set", "remove", "print") or "=" in w:
                break
            taken.append(w)
        return " ".join(taken)[:80]
    return " ".join(words[:2])[:80]


def _is_header(line: str) -> bool:
    return bool(line) and not line[0].isspace() and not line.startswith(("!", "#", "}"))


def summarise(old: str | None, new: str, platform: str | None) -> ChangeSummary:
    """Lines added and removed between two normalised configs, and the sections touched (named from the
    masked text, line for line the same, so a section name never carries a secret)."""
    before = old.split("\n") if old else []
    after = new.split("\n")
    labels_before = mask_config(old, platform).split("\n") if old else []
    labels_after = mask_config(new, platform).split("\n")
    added = removed = 0
    sections: list[str] = []

    def touch(lines: list[str], index: int) -> None:
        for i in range(min(index, len(lines) - 1), -1, -1):
            if _is_header(lines[i]):
                label = _section_of(lines[i])
                if label and label not in sections and len(sections) < MAX_SECTIONS:
                    sections.append(label)
                return

    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed += i2 - i1
        added += j2 - j1
        if i2 > i1:
            touch(labels_before, i1)
        if j2 > j1:
            touch(labels_after, j1)
    return ChangeSummary(added, removed, sections)


def latest_version(session: Session, device_id: int) -> DeviceConfigVersion | None:
    return session.scalars(
        select(DeviceConfigVersion)
        .where(DeviceConfigVersion.device_id == device_id)
        .order_by(DeviceConfigVersion.version.desc())
        .limit(1)
    ).first()


def _pull_failed(session: Session, device: Device, kind: str, reason: str, now: dt.datetime) -> RecordOutcome:
    reason = reason[:MAX_REASON_CHARS]
    if device.config_status != "error" or device.config_error_kind != kind:
        record_event(
            session,
            kind="device.config_pull",
            subject_type="device",
            subject_id=device.name,
            site_id=device.site_id,
            from_state=device.config_status,
            to_state="error",
            message=f"Không lấy được cấu hình {device.name} / config pull failed ({kind}): {reason}",
            data={"kind": kind},
            at=now,
        )
    device.config_status = "error"
    device.config_error_kind = kind
    device.config_error = reason
    return RecordOutcome(device.id, "error", error_kind=kind)


def _bad_config(text: str) -> str | None:
    if len(text) > MAX_CONFIG_CHARS:
        return f"cấu hình quá lớn / config too large: {len(text)} characters, at most {MAX_CONFIG_CHARS}"
    if "\x00" in text:
        return "cấu hình chứa byte NUL / config contains NUL bytes: not a text configuration"
    if not text.strip():
        return "cấu hình rỗng / empty config"
    return None


def record_pull(
    session: Session,
    device_id: int,
    result: PullResult | PullError,
    now: dt.datetime,
    *,
    retention: int = DEFAULT_RETENTION,
) -> RecordOutcome:
    """Record one pull of device `device_id` (see the module docstring). A failure keeps every stored
    version; a changed host key is kept as pending and the pull counts as failed until it is accepted."""
    device = session.get(Device, device_id)
    if device is None:
        return RecordOutcome(device_id, "missing")
    device.config_pull_at = now
    if device.config_pull_requested_at is not None and device.config_pull_requested_at <= now:
        device.config_pull_requested_at = None  # this pull answers the request
    if isinstance(result, PullError):
        if result.kind == "host_key_changed" and result.presented_host_key:
            device.ssh_pending_host_key = result.presented_host_key[:MAX_HOST_KEY_CHARS]
        return _pull_failed(session, device, result.kind, str(result), now)
    host_key = result.host_key[:MAX_HOST_KEY_CHARS]
    pinned = False
    if device.ssh_host_key is None:
        device.ssh_host_key = host_key
        pinned = True
        record_event(
            session,
            kind="device.host_key",
            subject_type="device",
            subject_id=device.name,
            site_id=device.site_id,
            to_state="pinned",
            message=f"Ghim khoá SSH của {device.name} lần đầu / SSH host key pinned on first use",
            data={"host_key": host_key[:200]},
            at=now,
        )
    elif device.ssh_host_key != host_key:  # the pull should have refused already; never store this
        device.ssh_pending_host_key = host_key
        return _pull_failed(
            session,
            device,
            "host_key_changed",
            f"khoá SSH của {device.name} đã đổi / the SSH host key changed: accept it if expected",
            now,
        )
    else:
        device.ssh_pending_host_key = None
    bad = _bad_config(result.config)
    if bad is not None:
        return _pull_failed(session, device, "device_error", bad, now)
    if device.config_status == "error":
        record_event(
            session,
            kind="device.config_pull",
            subject_type="device",
            subject_id=device.name,
            site_id=device.site_id,
            from_state="error",
            to_state="ok",
            message=f"Lấy lại được cấu hình {device.name} / config pull works again",
            at=now,
        )
    device.config_status = "ok"
    device.config_ok_at = now
    device.config_error_kind = device.config_error = None
    outcome = _store_if_changed(session, device, result.config, now)
    apply_retention(session, device.id, retention)
    return RecordOutcome(
        device.id,
        "ok",
        stored_version=outcome[0],
        changed=outcome[1] is not None,
        host_key_pinned=pinned,
        summary=outcome[1],
    )


def _store_if_changed(
    session: Session, device: Device, raw: str, now: dt.datetime
) -> tuple[int | None, ChangeSummary | None]:
    platform = device_platform(device) or UNKNOWN_PLATFORM
    text = normalise(raw, platform)
    digest = content_hash(text)
    latest = latest_version(session, device.id)
    if latest is not None and latest.content_sha256 == digest:
        latest.seen_at = now
        return None, None
    previous = normalise(latest.raw_text, latest.platform) if latest is not None else None
    summary = summarise(previous, text, platform)
    number = latest.version + 1 if latest is not None else 1
    session.add(
        DeviceConfigVersion(
            device_id=device.id,
            version=number,
            platform=platform,
            pulled_at=now,
            seen_at=now,
            content_sha256=digest,
            raw_text=raw,
            lines_added=summary.lines_added,
            lines_removed=summary.lines_removed,
            sections=summary.sections,
        )
    )
    session.flush()
    if latest is None:
        log.info("first config version stored device=%s lines=%d", device.name, summary.lines_added)
        return number, None
    record_event(
        session,
        kind="device.config_changed",
        subject_type="device",
        subject_id=device.name,
        site_id=device.site_id,
        from_state=str(latest.version),
        to_state=str(number),
        message=(
            f"Cấu hình {device.name} thay đổi (bản {number}): {summary.text()} dòng / "
            f"config of {device.name} changed (version {number}): {summary.text()} lines"
        ),
        data={
            "version": number,
            "previous_version": latest.version,
            "lines_added": summary.lines_added,
            "lines_removed": summary.lines_removed,
            "sections": summary.sections,
        },
        at=now,
    )
    return number, summary


def apply_retention(session: Session, device_id: int, keep: int) -> int:
    """Delete all but the newest `keep` versions of a device, never its newest approved one; returns
    how many were deleted."""
    approved = session.scalar(
        select(DeviceConfigVersion.id)
        .where(DeviceConfigVersion.device_id == device_id, DeviceConfigVersion.approved_at.is_not(None))
        .order_by(DeviceConfigVersion.version.desc())
        .limit(1)
    )
    old = select(DeviceConfigVersion.id).where(DeviceConfigVersion.device_id == device_id)
    if approved is not None:
        old = old.where(DeviceConfigVersion.id != approved)
    ids = session.scalars(old.order_by(DeviceConfigVersion.version.desc()).offset(keep)).all()
    if ids:
        session.execute(delete(DeviceConfigVersion).where(DeviceConfigVersion.id.in_(list(ids))))
    return len(ids)


def accept_host_key(session: Session, device_id: int, actor: str, now: dt.datetime | None = None) -> bool:
    """Pin the device's pending host key (the one it presented after a change) and ask for a pull now.
    False when there is no pending key."""
    device = session.get(Device, device_id)
    if device is None or device.ssh_pending_host_key is None:
        return False
    now = now or dt.datetime.now(dt.UTC)
    old = device.ssh_host_key
    device.ssh_host_key = device.ssh_pending_host_key
    device.ssh_pending_host_key = None
    device.config_pull_requested_at = now
    record_event(
        session,
        kind="device.host_key",
        subject_type="device",
        subject_id=device.name,
        site_id=device.site_id,
        to_state="accepted",
        actor=actor,
        message=f"Chấp nhận khoá SSH mới của {device.name} / new SSH host key accepted",
        data={"old": (old or "")[:200], "new": device.ssh_host_key[:200]},
        at=now,
    )
    return True


def request_pull(session: Session, device: Device, actor: str, now: dt.datetime | None = None) -> dt.datetime:
    """Flag the device for a pull as soon as the scheduler gets to it (an earlier request stands);
    returns when it was requested."""
    now = now or dt.datetime.now(dt.UTC)
    requested = device.config_pull_requested_at or now
    device.config_pull_requested_at = requested
    record_event(
        session,
        kind="device.config_pull_requested",
        subject_type="device",
        subject_id=device.name,
        site_id=device.site_id,
        actor=actor,
        message=f"Yêu cầu lấy cấu hình {device.name} ngay / config pull requested",
        at=now,
    )
    return requested


class ApprovalError(ValueError):
    """An approval without a usable comment."""


def approve_version(
    session: Session,
    device: Device,
    version: int,
    *,
    approved_by: str,
    comment: str,
    now: dt.datetime | None = None,
) -> DeviceConfigVersion | None:
    """Mark `version` of `device` approved by `approved_by` with `comment` (required); None when the
    version does not exist. Approving again replaces the earlier approval of that version."""
    comment = comment.strip()
    if not comment:
        raise ApprovalError("a comment is required (lý do phê duyệt / why it is approved)")
    if len(comment) > MAX_COMMENT_CHARS:
        raise ApprovalError(f"comment too long: {len(comment)} characters, at most {MAX_COMMENT_CHARS}")
    row = session.scalars(
        select(DeviceConfigVersion).where(
            DeviceConfigVersion.device_id == device.id, DeviceConfigVersion.version == version
        )
    ).first()
    if row is None:
        return None
    row.approved_by = approved_by[:200]
    row.approved_at = now or dt.datetime.now(dt.UTC)
    row.approval_comment = comment
    record_event(
        session,
        kind="device.config_approved",
        subject_type="device",
        subject_id=device.name,
        site_id=device.site_id,
        to_state=str(version),
        actor=approved_by[:64],
        message=f"Phê duyệt cấu hình {device.name} bản {version} / config version {version} approved",
        data={"version": version},
        at=row.approved_at,
    )
    return row


def display_text(row: DeviceConfigVersion, *, raw: bool) -> str:
    """A version's text as one may see it: as pulled for `raw` (admins), else masked."""
    return row.raw_text if raw else mask_config(row.raw_text, row.platform)


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line + "\n" for line in lines]


def _range(start: int, stop: int) -> str:
    """A hunk's line range as unified diffs write it (difflib's format)."""
    length = stop - start
    beginning = start + 1 if length else start
    return str(beginning) if length == 1 else f"{beginning},{length}"


def unified_diff(old: DeviceConfigVersion | None, new: DeviceConfigVersion, *, raw: bool) -> str:
    """The unified diff from `old` (None: empty) to `new`. Lines are matched on the raw texts, then
    shown masked unless `raw`: a changed secret still shows as a changed line, its value hidden."""
    old_raw = _lines(old.raw_text) if old is not None else []
    new_raw = _lines(new.raw_text)
    old_shown = _lines(display_text(old, raw=raw)) if old is not None else []
    new_shown = _lines(display_text(new, raw=raw))
    if len(old_shown) != len(old_raw) or len(new_shown) != len(new_raw):  # never expected; stay safe
        old_raw, new_raw = old_shown, new_shown
    out = [
        f"--- version {old.version}\n" if old is not None else "--- (none)\n",
        f"+++ version {new.version}\n",
    ]
    matcher = difflib.SequenceMatcher(None, old_raw, new_raw, autojunk=False)
    for group in matcher.get_grouped_opcodes(3):
        out.append(f"@@ -{_range(group[0][1], group[-1][2])} +{_range(group[0][3], group[-1][4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + line for line in old_shown[i1:i2])
                continue
            out.extend("-" + line for line in old_shown[i1:i2])
            out.extend("+" + line for line in new_shown[j1:j2])
    return "".join(out) if len(out) > 2 else ""
