"""What a notification means: link down/up, restart, authentication failure, configuration changed, or
an unknown trap kept raw. Every field is bounded here, before it can reach storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canhgac_agent.snmp.modules.interfaces import ADMIN_STATUS, IF_ENTRY, OPER_STATUS
from canhgac_agent.snmp.types import OID, Value, format_oid
from canhgac_collector.devices.traps.decode import SNMP_TRAPS, Notification

MAX_VARBINDS = 32  # stored per trap; the rest are counted
MAX_TEXT = 256  # characters of one stored value
MAX_OID_ARCS = 64  # arcs of one stored OID

LINK_DOWN: OID = (*SNMP_TRAPS, 3)
LINK_UP: OID = (*SNMP_TRAPS, 4)
KINDS: dict[OID, str] = {
    (*SNMP_TRAPS, 1): "trap.cold_start",
    (*SNMP_TRAPS, 2): "trap.warm_start",
    LINK_DOWN: "trap.link_down",
    LINK_UP: "trap.link_up",
    (*SNMP_TRAPS, 5): "trap.auth_failure",
    # configuration changed: CISCO-CONFIG-MAN-MIB ciscoConfigManEvent, HUAWEI-CONFIG-MAN-MIB
    # hwCfgManEventlog, HH3C-CONFIG-MAN-MIB hh3cCfgManEventlog (and their v1 forms, enterprise.0.n)
    (1, 3, 6, 1, 4, 1, 9, 9, 43, 2, 0, 1): "device.config_changed",
    (1, 3, 6, 1, 4, 1, 2011, 6, 10, 2, 1): "device.config_changed",
    (1, 3, 6, 1, 4, 1, 2011, 6, 10, 2, 0, 1): "device.config_changed",
    (1, 3, 6, 1, 4, 1, 25506, 2, 4, 2, 1): "device.config_changed",
    (1, 3, 6, 1, 4, 1, 25506, 2, 4, 2, 0, 1): "device.config_changed",
}
RAW = "trap.raw"
IF_INDEX_COLUMN, IF_ADMIN_COLUMN, IF_OPER_COLUMN = 1, 7, 8

_VI = {
    "trap.cold_start": "khởi động lại (coldStart)",
    "trap.warm_start": "khởi động lại (warmStart)",
    "trap.link_down": "mất kết nối",
    "trap.link_up": "có kết nối lại",
    "trap.auth_failure": "bị truy cập SNMP sai xác thực",
    "device.config_changed": "báo cấu hình thay đổi",
    RAW: "gửi trap",
}
_EN = {
    "trap.cold_start": "restarted (coldStart)",
    "trap.warm_start": "restarted (warmStart)",
    "trap.link_down": "link down",
    "trap.link_up": "link up",
    "trap.auth_failure": "refused an SNMP request (authenticationFailure)",
    "device.config_changed": "reports its configuration changed",
    RAW: "sent a trap",
}


@dataclass(slots=True)
class Translated:
    kind: str
    data: dict[str, Any]  # bounded: trap OID, uptime, varbinds as text
    if_index: int | None = None
    oper_status: str | None = None
    admin_status: str | None = None

    @property
    def is_link(self) -> bool:
        return self.if_index is not None and self.kind in ("trap.link_down", "trap.link_up")


def bounded_oid(oid: OID) -> str:
    text = format_oid(oid[:MAX_OID_ARCS])
    return text + ".…" if len(oid) > MAX_OID_ARCS else text


def _text(value: Value) -> str | int | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, tuple):
        return bounded_oid(value)
    try:
        decoded = value[: MAX_TEXT * 4].decode("utf-8")
        if decoded.isprintable():
            return decoded[:MAX_TEXT]
    except UnicodeDecodeError:
        pass
    return "0x" + value[: MAX_TEXT // 2].hex()


def translate(note: Notification) -> Translated:
    kind = KINDS.get(note.trap_oid, RAW)
    shown = note.varbinds[:MAX_VARBINDS]
    data: dict[str, Any] = {
        "trap_oid": bounded_oid(note.trap_oid),
        "version": note.version,
        "uptime": note.uptime,
        "varbinds": [[bounded_oid(o), _text(v)] for o, _, v in shown],
    }
    if len(note.varbinds) > MAX_VARBINDS:
        data["varbinds_dropped"] = len(note.varbinds) - MAX_VARBINDS
    if note.user:
        data["user"] = note.user[:64]
    if note.engine_id:
        data["engine_id"] = note.engine_id[:32].hex()
    data.update(note.extra)
    out = Translated(kind, data)
    if kind in ("trap.link_down", "trap.link_up"):
        _link_fields(note, out)
    return out


def _link_fields(note: Notification, out: Translated) -> None:
    """ifIndex from the varbinds (ifIndex.n, ifAdminStatus.n, ifOperStatus.n: whichever is there)."""
    n = len(IF_ENTRY)
    for oid, _, value in note.varbinds[:MAX_VARBINDS]:
        if len(oid) != n + 2 or oid[:n] != IF_ENTRY or not 0 < oid[-1] < 2**31:
            continue
        out.if_index = oid[-1]
        if oid[n] == IF_ADMIN_COLUMN and isinstance(value, int):
            out.admin_status = ADMIN_STATUS.get(value, str(value)[:16])
        elif oid[n] == IF_OPER_COLUMN and isinstance(value, int):
            out.oper_status = OPER_STATUS.get(value, str(value)[:16])
    if out.oper_status is None:  # a trap that names only the index still says which way it went
        out.oper_status = "down" if out.kind == "trap.link_down" else "up"


def describe(kind: str, device: str, port: str | None) -> str:
    """The event's message, Vietnamese first."""
    where = f"{device} {port}" if port else device
    return f"{where}: {_VI.get(kind, kind)} / {where}: {_EN.get(kind, kind)}"
