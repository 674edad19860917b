"""A `DevicePoll` as the report's `EdgePoll` dict, held to the schema's bounds.

A switch's answers are network input: a value out of the schema's range is left out (None), a string is
made one printable line (names) or stripped of control characters (text) and cut to its length, a list
is cut to its bound, so the report always validates and one odd device never costs the others theirs.
Field names are the `canhgac_agent.snmp.results` dataclasses' (api/canhgac_api/schemas/report.py).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from canhgac_agent.snmp.results import (
    ArpEntry,
    DevicePoll,
    FdbEntry,
    HardwareState,
    InterfaceSample,
    Neighbor,
    Resources,
    SystemInfo,
)

INT64_MAX = 2**63 - 1
UINT32_MAX = 2**32 - 1
INT31_MAX = 2**31 - 1
NAME_MAX = 256
TEXT_MAX = 2048
MAX_INTERFACES = 4096
MAX_NEIGHBORS = 1024
MAX_FDB = 16384
MAX_ARP = 16384
MAX_MODULE_ERRORS = 16
MAX_COUNTERS = 32
MAX_RESOURCE_ITEMS = 64
MAX_OPTICS = 512
MAX_DURATION_S = 3600.0
MAX_RATE = 1e13
STATES = ("up", "down", "error")

_NOT_PRINTABLE = re.compile(r"[^\S ]|[\x00-\x1f\x7f-\x9f]")  # any whitespace but space, any control
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_PHYS = re.compile(r"^[0-9a-f:]{0,64}$")
_IP = re.compile(r"^[0-9A-Fa-f:.]{2,45}$")
_OID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_COUNTER_NAME = re.compile(r"^if[A-Za-z]{1,30}$")


def name(value: object) -> str | None:
    """One printable line of at most 256 characters (None for anything not a string)."""
    if not isinstance(value, str):
        return None
    return _NOT_PRINTABLE.sub(" ", value).strip()[:NAME_MAX]


def text(value: object) -> str | None:
    """Text of at most 2048 characters: tabs and line breaks kept, other control characters dropped."""
    if not isinstance(value, str):
        return None
    return _TEXT_CONTROL.sub("", value)[:TEXT_MAX]


def integer(value: object, lo: int, hi: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        return None
    return value


def number(value: object, lo: float, hi: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) and lo <= result <= hi else None


def matching(value: object, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def system(info: SystemInfo) -> dict[str, Any]:
    return _drop_none(
        {
            "sysDescr": text(info.sysDescr),
            "sysObjectID": matching(info.sysObjectID, _OID) if len(info.sysObjectID or "") <= 512 else None,
            "sysName": name(info.sysName),
            "sysUpTime": integer(info.sysUpTime, 0, UINT32_MAX),
            "sysContact": name(info.sysContact),
            "sysLocation": name(info.sysLocation),
            "vendor": name(info.vendor),
        }
    )


def interface(sample: InterfaceSample) -> dict[str, Any] | None:
    """None when the row has no usable ifIndex (the schema's key for it)."""
    index = integer(sample.ifIndex, 1, INT31_MAX)
    if index is None:
        return None
    counters = {
        key: value
        for key, value in sample.counters.items()
        if _COUNTER_NAME.fullmatch(key) and integer(value, 0, INT64_MAX) is not None
    }
    return _drop_none(
        {
            "ifIndex": index,
            "ifName": name(sample.ifName),
            "ifDescr": name(sample.ifDescr),
            "ifAlias": name(sample.ifAlias),
            "ifType": integer(sample.ifType, 0, INT31_MAX),
            "ifMtu": integer(sample.ifMtu, 0, INT31_MAX),
            "ifSpeed": integer(sample.ifSpeed, 0, UINT32_MAX),
            "ifHighSpeed": integer(sample.ifHighSpeed, 0, UINT32_MAX),
            "ifPhysAddress": matching(sample.ifPhysAddress, _PHYS),
            "ifAdminStatus": _if_status(sample.ifAdminStatus),
            "ifOperStatus": _if_status(sample.ifOperStatus),
            "ifLastChange": integer(sample.ifLastChange, 0, UINT32_MAX),
            "ifCounterDiscontinuityTime": integer(sample.ifCounterDiscontinuityTime, 0, UINT32_MAX),
            "counters": dict(list(counters.items())[:MAX_COUNTERS]),
            "in_bps": number(sample.in_bps, 0, MAX_RATE),
            "out_bps": number(sample.out_bps, 0, MAX_RATE),
            "in_errors_ps": number(sample.in_errors_ps, 0, MAX_RATE),
            "out_errors_ps": number(sample.out_errors_ps, 0, MAX_RATE),
            "in_discards_ps": number(sample.in_discards_ps, 0, MAX_RATE),
            "out_discards_ps": number(sample.out_discards_ps, 0, MAX_RATE),
            "utilisation": number(sample.utilisation, 0, 100),
        }
    )


_IF_STATUSES = ("up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown")


def _if_status(value: object) -> str | None:
    return value if isinstance(value, str) and value in _IF_STATUSES else None


def neighbor(entry: Neighbor) -> dict[str, Any] | None:
    if entry.protocol not in ("lldp", "cdp"):
        return None
    return _drop_none(
        {
            "protocol": entry.protocol,
            "local_ifIndex": integer(entry.local_ifIndex, 1, INT31_MAX),
            "local_port": name(entry.local_port),
            "remote_name": name(entry.remote_name),
            "remote_port": name(entry.remote_port),
            "remote_chassis_id": name(entry.remote_chassis_id),
            "remote_address": name(entry.remote_address),
            "remote_description": text(entry.remote_description),
        }
    )


def fdb_entry(entry: FdbEntry) -> dict[str, Any] | None:
    mac = matching(entry.mac, _MAC)
    if mac is None:
        return None
    return _drop_none(
        {
            "mac": mac,
            "vlan": integer(entry.vlan, 0, 4095),
            "bridge_port": integer(entry.bridge_port, 0, INT31_MAX),
            "ifIndex": integer(entry.ifIndex, 1, INT31_MAX),
            "status": name(entry.status),
        }
    )


def arp_entry(entry: ArpEntry) -> dict[str, Any] | None:
    ip, mac = matching(entry.ip, _IP), matching(entry.mac, _MAC)
    if ip is None or mac is None:
        return None
    return _drop_none({"ip": ip, "mac": mac, "ifIndex": integer(entry.ifIndex, 1, INT31_MAX)})


def _hardware(items: list[HardwareState]) -> list[dict[str, Any]]:
    states = ("ok", "warning", "failed", "absent", "unknown")
    out = [
        {"name": n, "state": item.state}
        for item in items
        if (n := name(item.name)) is not None and item.state in states
    ]
    return out[:MAX_RESOURCE_ITEMS]


def resources(res: Resources) -> dict[str, Any]:
    temperatures: dict[str, float] = {}
    for sensor, celsius in res.temperatures_c.items():
        key, value = name(sensor), number(celsius, -273.15, 10_000)
        if key is not None and value is not None and len(temperatures) < MAX_RESOURCE_ITEMS:
            temperatures[key] = value
    processors = [
        {"name": n, "percent": p}
        for cpu in res.processors
        if (n := name(cpu.name)) is not None and (p := number(cpu.percent, 0, 100)) is not None
    ]
    pools = [
        _drop_none(
            {
                "name": n,
                "percent": number(pool.percent, 0, 100),
                "used_bytes": integer(pool.used_bytes, 0, INT64_MAX),
                "total_bytes": integer(pool.total_bytes, 0, INT64_MAX),
            }
        )
        for pool in res.memory_pools
        if (n := name(pool.name)) is not None
    ]
    optics = [
        _drop_none(
            {
                "name": n,
                "rx_dbm": number(optic.rx_dbm, -40, 10),
                "tx_dbm": number(optic.tx_dbm, -40, 10),
                "temperature_c": number(optic.temperature_c, -273.15, 10_000),
                "bias_ma": number(optic.bias_ma, 0, 1000),
                "rx_no_light": bool(optic.rx_no_light),
                "tx_no_light": bool(optic.tx_no_light),
            }
        )
        for optic in res.optics
        if (n := name(optic.name)) is not None
    ]
    return _drop_none(
        {
            "cpu_percent": number(res.cpu_percent, 0, 100),
            "memory_used_bytes": integer(res.memory_used_bytes, 0, INT64_MAX),
            "memory_total_bytes": integer(res.memory_total_bytes, 0, INT64_MAX),
            "temperatures_c": temperatures,
            "memory_percent": number(res.memory_percent, 0, 100),
            "processors": processors[:MAX_RESOURCE_ITEMS],
            "memory_pools": pools[:MAX_RESOURCE_ITEMS],
            "fans": _hardware(res.fans),
            "power_supplies": _hardware(res.power_supplies),
            "profile": name(res.profile),
            "optics": optics[:MAX_OPTICS],
        }
    )


def _bounded(items: list[Any], convert: Any, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if len(out) >= limit:
            break
        converted = convert(item)
        if converted is not None:
            out.append(converted)
    return out


def topology_of(poll: DevicePoll) -> dict[str, list[dict[str, Any]]]:
    """neighbors/fdb/arp of the poll, bounded: what the `topology` flag says is included."""
    return {
        "neighbors": _bounded(poll.neighbors, neighbor, MAX_NEIGHBORS),
        "fdb": _bounded(poll.fdb, fdb_entry, MAX_FDB),
        "arp": _bounded(poll.arp, arp_entry, MAX_ARP),
    }


def edge_poll(
    poll: DevicePoll, address: str, *, topology: dict[str, list[dict[str, Any]]] | None
) -> dict[str, Any]:
    """`EdgePoll` for `poll` of the device at `address`, carrying `topology` (from `topology_of`) when
    given: then `topology` is true, else neighbors/fdb/arp are left empty (the server keeps the last)."""
    started = number(poll.started_at, 631152000.0, 4102444799.0)  # 1990 .. 2099, the schema's span
    at = datetime.fromtimestamp(started if started is not None else 631152000.0, UTC)
    errors: dict[str, str] = {}
    for module, error in poll.module_errors.items():
        key, value = name(module), text(error)
        if key is not None and value is not None and len(errors) < MAX_MODULE_ERRORS:
            errors[key] = value
    out: dict[str, Any] = {
        "device": name(poll.device) or "?",
        "address": name(address) or "?",
        "started_at": at.isoformat(timespec="milliseconds"),
        "duration_s": number(poll.duration_s, 0, MAX_DURATION_S) or 0.0,
        "state": poll.state if poll.state in STATES else "error",
        "reason": name(poll.reason),
        "detail": text(poll.detail),
        "system": system(poll.system) if poll.system is not None else None,
        "interfaces": _bounded(poll.interfaces, interface, MAX_INTERFACES),
        "topology": topology is not None,
        "resources": resources(poll.resources) if poll.resources is not None else None,
        "module_errors": errors,
        "varbinds": integer(poll.varbinds, 0, INT64_MAX) or 0,
    }
    if topology is not None:
        out.update(topology)
    return _drop_none(out)
