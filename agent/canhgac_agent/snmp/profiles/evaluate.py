"""Read one device's health with its matched profile: walk only the columns the profile declares.

Each section (cpu, memory, temperatures, fans, power supplies, optics) tries its sources in order and
keeps the first that yields rows. What a vendor profile leaves empty among CPU, memory and temperatures is
read with the generic profile (HOST-RESOURCES, ENTITY-SENSOR). Every value is bounded here, before storage:
percentages outside 0–100, temperatures outside −50…200 °C, negative or absurd byte counts are dropped,
names are cleaned and cut, and no list holds more than MAX_COMPONENTS entries (MAX_OPTICS ports). Optical
levels outside −40…+10 dBm are dropped; a vendor's "no light" sentinel, 0 µW or a level at or below −40
dBm (down to −50) is "no light", not a number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from canhgac_agent.snmp.profiles.model import (
    Level,
    Memory,
    Name,
    Optics,
    PowerLevel,
    Profile,
    Reading,
    StateTable,
    Where,
)
from canhgac_agent.snmp.results import HardwareState, MemoryPool, Optic, Processor, Resources

if TYPE_CHECKING:
    from canhgac_agent.snmp.modules.base import Session
    from canhgac_agent.snmp.types import OID, Value

MAX_COMPONENTS = 64
MAX_OPTICS = 128  # transceiver ports per device (a chassis full of SFPs)
OPTIC_DBM_RANGE = (-40.0, 10.0)
NO_LIGHT_DBM = -50.0  # −50…−40 dBm: the receiver's floor or a vendor's "no light" value
BIAS_RANGE_MA = (0.0, 1000.0)
MAX_NAME = 64
TEMPERATURE_RANGE_C = (-50.0, 200.0)
MAX_MEMORY_BYTES = 1 << 50  # 1 PiB: beyond any switch or router
MAX_TEXT_NUMBER = 64  # characters of a text value searched for a number
GET_CHUNK = 32
ENT_PHYSICAL_DESCR: OID = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2)
ENT_PHYSICAL_NAME: OID = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7)
ENT_PHYSICAL_CONTAINED_IN = "1.3.6.1.2.1.47.1.1.1.1.4"
FIRST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
UNITS_SCALE = 9  # entPhySensorScale "units"; each step is 10^3
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")

Columns = dict["OID", dict["OID", "Value"]]


@lru_cache(maxsize=4096)
def parse_oid(text: str) -> OID:
    """A profile's dotted OID as a tuple (profiles are few and fixed: parsed once each)."""
    return tuple(int(p) for p in text.split("."))


def text_of(value: Value) -> str | None:
    """An OCTET STRING as one clean line of at most MAX_NAME characters, or None."""
    if not isinstance(value, bytes):
        return None
    raw = value[: MAX_NAME * 4].rstrip(b"\x00")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = UNPRINTABLE.sub(" ", text).strip()[:MAX_NAME].strip()
    return text or None


def number(value: Value, parse: re.Pattern[str] | None = None) -> float | None:
    """An INTEGER/Gauge as float, or the number inside a short text (`parse`'s first group or match)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, bytes) or len(value) > MAX_TEXT_NUMBER * 4:
        return None
    text = value.decode("latin-1")[: MAX_TEXT_NUMBER * 4]
    found = (parse or FIRST_NUMBER).search(text)
    if found is None:
        return None
    try:
        result = float(found.group(1) if found.re.groups else found.group(0))
    except (ValueError, IndexError):
        return None
    return result if math.isfinite(result) else None


def _same(value: Value, wanted: int | str) -> bool:
    if isinstance(wanted, int):
        return isinstance(value, int) and value == wanted
    if isinstance(value, tuple):
        return ".".join(map(str, value)) == wanted
    return text_of(value) == wanted


def _passes(where: Sequence[Where], cols: Columns, index: OID) -> bool:
    for w in where:
        value = cols[parse_oid(w.column)].get(index)
        if w.equals is not None and not any(_same(value, x) for x in w.equals):
            return False
        if w.not_equals is not None and any(_same(value, x) for x in w.not_equals):
            return False
        if w.above is not None:
            n = number(value)
            if n is None or n <= w.above:
                return False
        if w.matches is not None:
            text = text_of(value)
            if text is None or not re.search(w.matches, text):
                return False
    return True


def _rows(
    anchor: str,
    where: Sequence[Where],
    cols: Columns,
    prefix: Sequence[int] = (),
    limit: int = MAX_COMPONENTS,
) -> list[OID]:
    """Indexes of the anchor column under `prefix` passing `where`, in index order, at most `limit`."""
    out: list[OID] = []
    head = tuple(prefix)
    for index in sorted(cols[parse_oid(anchor)]):
        if index[: len(head)] == head and _passes(where, cols, index):
            out.append(index)
            if len(out) >= limit:
                break
    return out


class EntityNames:
    """entPhysicalName (else entPhysicalDescr) by entPhysicalIndex, fetched with GETs for just the
    indexes needed, once per poll."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[int, str | None] = {}

    async def fetch(self, indexes: Iterable[int]) -> None:
        missing = sorted({i for i in indexes if 0 < i < 2**31 and i not in self.known})[:MAX_COMPONENTS]
        for start in range(0, len(missing), GET_CHUNK // 2):
            chunk = missing[start : start + GET_CHUNK // 2]
            got = await self.session.get(
                [(*c, i) for i in chunk for c in (ENT_PHYSICAL_NAME, ENT_PHYSICAL_DESCR)]
            )
            for i in chunk:
                name = text_of(got.get((*ENT_PHYSICAL_NAME, i)))
                self.known[i] = name or text_of(got.get((*ENT_PHYSICAL_DESCR, i)))


def _name_columns(name: Name) -> set[str]:
    return {c for c in (name.column, name.entity_index_column) if c is not None}


async def _names(
    spec: Name, cols: Columns, indexes: Sequence[OID], entities: EntityNames, kind: str
) -> dict[OID, str]:
    """Each row's name, made unique by appending the index where two rows share one."""
    found: dict[OID, str | None] = {}
    if spec.column is not None:
        column = cols[parse_oid(spec.column)]
        found = {i: text_of(column.get(i)) for i in indexes}
    elif spec.entity_index or spec.entity_index_column is not None:
        ent: dict[OID, int | None] = {}
        for i in indexes:
            if spec.entity_index_column is not None:
                v = cols[parse_oid(spec.entity_index_column)].get(i)
                ent[i] = v if isinstance(v, int) else None
            else:
                ent[i] = i[0] if len(i) == 1 else None
        await entities.fetch(e for e in ent.values() if e is not None)
        found = {i: entities.known.get(e) if e is not None else None for i, e in ent.items()}
    out: dict[OID, str] = {}
    used: set[str] = set()
    for i in indexes:
        dotted = ".".join(map(str, i))
        name = found.get(i) or (spec.label or f"{kind} {{index}}").replace("{index}", dotted)[:MAX_NAME]
        if name in used:
            name = f"{name[: MAX_NAME - len(dotted) - 3]} ({dotted})"
        used.add(name)
        out[i] = name
    return out


class Walker:
    """Walks columns for one poll, each at most once: sections sharing a column (a filter, a name)
    reuse it, and `prefetch` walks the likely ones together (one GETBULK carries every open column)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.walked: Columns = {}

    async def columns(self, columns: set[str]) -> Columns:
        oids = {parse_oid(c) for c in columns}
        missing = sorted(oids - self.walked.keys())
        if missing:
            self.walked.update(await self.session.columns(missing))
        return {oid: self.walked[oid] for oid in oids}


def _reading_columns(src: Reading) -> set[str]:
    found = {src.value, *(w.column for w in src.where), *_name_columns(src.name)}
    return found | {c for c in (src.sensor_scale_column, src.precision_column) if c is not None}


def _memory_columns(src: Memory) -> set[str]:
    found = {c for c in (src.percent, src.used, src.total, src.free, src.units_column) if c is not None}
    return found | {w.column for w in src.where} | _name_columns(src.name)


def _state_columns(src: StateTable) -> set[str]:
    return {src.state, *(w.column for w in src.where), *_name_columns(src.name)}


def _levels(src: Optics) -> list[tuple[str, Level]]:
    found = [("rx", src.rx_power), ("tx", src.tx_power), ("temperature", src.temperature)]
    return [(k, v) for k, v in (*found, ("bias", src.bias_current)) if v is not None]


def _optics_columns(src: Optics) -> set[str]:
    found = {*(w.column for w in src.where), *_name_columns(src.name)}
    for _, level in _levels(src):
        found |= {level.value, *(w.column for w in level.where)}
        found |= {c for c in (level.sensor_scale_column, level.precision_column) if c is not None}
    return found | ({ENT_PHYSICAL_CONTAINED_IN} if src.port == "entity_parent" else set())


def first_columns(profile: Profile) -> set[str]:
    """The columns of each section's first source: what a device of this profile nearly always needs."""
    found: set[str] = _optics_columns(profile.optics[0]) if profile.optics else set()
    for readings in (profile.cpu, profile.temperatures):
        found |= _reading_columns(readings[0]) if readings else set()
    found |= _memory_columns(profile.memory[0]) if profile.memory else set()
    for tables in (profile.fans, profile.power_supplies):
        found |= _state_columns(tables[0]) if tables else set()
    return found


def _reading(src: Reading | Level, cols: Columns, index: OID, parse: re.Pattern[str] | None) -> float | None:
    raw = number(cols[parse_oid(src.value)].get(index), parse)
    if raw is None:
        return None
    exponent = 0
    if src.sensor_scale_column is not None:
        scale = cols[parse_oid(src.sensor_scale_column)].get(index)
        steps = scale if isinstance(scale, int) and 1 <= scale <= 17 else UNITS_SCALE
        exponent += 3 * (steps - UNITS_SCALE)
    if src.precision_column is not None:
        precision = cols[parse_oid(src.precision_column)].get(index)
        if isinstance(precision, int) and -8 <= precision <= 9:
            exponent -= precision
    value = raw * src.scale * 10.0**exponent
    return round(value, 6) if math.isfinite(value) else None  # 282 × 10⁻¹ is 28.2, not 28.200000000000003


async def read_readings(
    walker: Walker, sources: Sequence[Reading], entities: EntityNames, kind: str, low: float, high: float
) -> dict[str, float]:
    """name → value of the first source with rows; values outside low…high are dropped."""
    for src in sources:
        cols = await walker.columns(_reading_columns(src))
        parse = re.compile(src.parse) if src.parse else None
        values: dict[OID, float] = {}
        for index in _rows(src.value, src.where, cols, src.index_prefix):
            v = _reading(src, cols, index, parse)
            if v is not None and low <= v <= high:
                values[index] = v
        if values:
            names = await _names(src.name, cols, list(values), entities, kind)
            return {names[i]: v for i, v in values.items()}
    return {}


def _pool(src: Memory, cols: Columns, index: OID, name: str) -> MemoryPool | None:
    def raw(column: str | None) -> int | None:
        if column is None:
            return None
        v = cols[parse_oid(column)].get(index)
        return v if isinstance(v, int) and 0 <= v < MAX_MEMORY_BYTES else None

    unit = src.unit_bytes
    if src.units_column is not None:
        per_row = raw(src.units_column)
        if per_row is None or not 1 <= per_row <= 2**30:
            return None
        unit *= per_row
    used, free, total = raw(src.used), raw(src.free), raw(src.total)
    if total is None and used is not None and free is not None:
        total = used + free
    if used is None and total is not None and free is not None:
        used = total - free
    pool = MemoryPool(name)
    if used is not None and total is not None and 0 <= used <= total and 0 < total * unit <= MAX_MEMORY_BYTES:
        pool.used_bytes, pool.total_bytes = used * unit, total * unit
        pool.percent = round(100.0 * used / total, 2)
    elif total is not None and 0 < total * unit <= MAX_MEMORY_BYTES:
        pool.total_bytes = total * unit
    percent = number(cols[parse_oid(src.percent)].get(index)) if src.percent else None
    if percent is not None and 0 <= percent <= 100:
        pool.percent = percent
        if pool.used_bytes is None and pool.total_bytes is not None:
            pool.used_bytes = round(pool.total_bytes * percent / 100)
    return pool if pool.percent is not None else None


async def read_memory(walker: Walker, sources: Sequence[Memory], entities: EntityNames) -> list[MemoryPool]:
    for src in sources:
        sizes = [c for c in (src.percent, src.used, src.total, src.free) if c is not None]
        cols = await walker.columns(_memory_columns(src))
        indexes = _rows(sizes[0], src.where, cols, src.index_prefix)
        names = await _names(src.name, cols, indexes, entities, "memory")
        pools = [p for i in indexes if (p := _pool(src, cols, i, names[i])) is not None]
        if pools:
            return pools
    return []


async def read_states(
    walker: Walker, sources: Sequence[StateTable], entities: EntityNames, kind: str
) -> list[HardwareState]:
    for src in sources:
        cols = await walker.columns(_state_columns(src))
        indexes = _rows(src.state, src.where, cols, src.index_prefix)
        if not indexes:
            continue
        names = await _names(src.name, cols, indexes, entities, kind)
        column = cols[parse_oid(src.state)]
        out = []
        for i in indexes:
            v = column.get(i)
            state = src.states.get(v, "unknown") if isinstance(v, int) else "unknown"
            out.append(HardwareState(names[i], state))
        return out
    return []


def _dbm(level: PowerLevel, value: float) -> float | None:
    """The level in dBm (µW and mW converted), or -inf for "no light" (0 µW/mW or −50…−40 dBm), or
    None when out of range."""
    if level.unit != "dbm":
        if value <= 0:
            return -math.inf if value == 0 else None
        value = 10.0 * math.log10(value / 1000.0 if level.unit == "microwatt" else value)
    low, high = OPTIC_DBM_RANGE
    if NO_LIGHT_DBM <= value <= low:
        return -math.inf
    return round(value, 2) if low < value <= high else None


def _port(src: Optics, cols: Columns, index: OID) -> OID | None:
    if src.port == "index":
        return index
    parent = cols[parse_oid(ENT_PHYSICAL_CONTAINED_IN)].get(index)
    return (parent,) if isinstance(parent, int) and 0 < parent < 2**31 else None


def _set_level(optic: Optic, kind: str, level: Level, value: float) -> None:
    if isinstance(level, PowerLevel):
        dbm = _dbm(level, value)
        if dbm is not None and kind == "rx":
            optic.rx_dbm, optic.rx_no_light = (None, True) if dbm == -math.inf else (dbm, False)
        elif dbm is not None:
            optic.tx_dbm, optic.tx_no_light = (None, True) if dbm == -math.inf else (dbm, False)
    elif kind == "temperature" and TEMPERATURE_RANGE_C[0] <= value <= TEMPERATURE_RANGE_C[1]:
        optic.temperature_c = value
    elif kind == "bias" and BIAS_RANGE_MA[0] <= value <= BIAS_RANGE_MA[1]:
        optic.bias_ma = value


async def read_optics(walker: Walker, sources: Sequence[Optics], entities: EntityNames) -> list[Optic]:
    """Per port, the levels of the first source with any: rows joined by index or by parent entity."""
    for src in sources:
        cols = await walker.columns(_optics_columns(src))
        ports: dict[OID, Optic] = {}
        for kind, level in _levels(src):
            where = [*src.where, *level.where]
            for index in _rows(level.value, where, cols, src.index_prefix, limit=MAX_OPTICS * 4):
                port = _port(src, cols, index)
                raw = cols[parse_oid(level.value)].get(index)
                if port is None or (port not in ports and len(ports) >= MAX_OPTICS):
                    continue
                optic = ports.setdefault(port, Optic(""))
                if isinstance(raw, int) and raw in src.no_signal and isinstance(level, PowerLevel):
                    optic.rx_no_light |= kind == "rx"
                    optic.tx_no_light |= kind == "tx"
                    continue
                value = _reading(level, cols, index, None)
                if value is not None:
                    _set_level(optic, kind, level, value)
        found = {p: o for p, o in ports.items() if o != Optic("")}
        if found:
            names = await _names(src.name, cols, sorted(found), entities, "port")
            for port, optic in sorted(found.items()):
                optic.name = names[port]
            return [found[p] for p in sorted(found)]
    return []


def _device_memory(res: Resources, pools: list[MemoryPool], how: str) -> None:
    sized = [p for p in pools if p.used_bytes is not None and p.total_bytes is not None]
    if how == "sum" and sized:
        res.memory_used_bytes = sum(p.used_bytes or 0 for p in sized)
        res.memory_total_bytes = sum(p.total_bytes or 0 for p in sized)
        res.memory_percent = round(100.0 * res.memory_used_bytes / res.memory_total_bytes, 2)
        return
    chosen = pools[0] if how == "first" or not sized else max(sized, key=lambda p: p.total_bytes or 0)
    res.memory_percent = chosen.percent
    if chosen.used_bytes is not None and chosen.total_bytes is not None:
        res.memory_used_bytes, res.memory_total_bytes = chosen.used_bytes, chosen.total_bytes


async def evaluate(session: Session, profile: Profile, generic: Profile | None) -> Resources | None:
    """The device's Resources as `profile` reads them (generic filling CPU/memory/temperature gaps),
    or None when nothing at all was found."""
    entities = EntityNames(session)
    walker = Walker(session)
    await walker.columns(first_columns(profile))
    res = Resources(profile=profile.name)
    fallback = generic if generic is not None and generic is not profile else None
    loads = await read_readings(walker, profile.cpu, entities, "CPU", 0.0, 100.0)
    cpu_device = profile.cpu_device
    if not loads and fallback is not None:
        loads = await read_readings(walker, fallback.cpu, entities, "CPU", 0.0, 100.0)
        cpu_device = fallback.cpu_device
    res.processors = [Processor(name, percent) for name, percent in loads.items()]
    if loads:
        values = list(loads.values())
        res.cpu_percent = max(values) if cpu_device == "max" else round(sum(values) / len(values), 2)
    pools = await read_memory(walker, profile.memory, entities)
    memory_device = profile.memory_device
    if not pools and fallback is not None:
        pools = await read_memory(walker, fallback.memory, entities)
        memory_device = fallback.memory_device
    res.memory_pools = pools
    if pools:
        _device_memory(res, pools, memory_device)
    low, high = TEMPERATURE_RANGE_C
    temps = await read_readings(walker, profile.temperatures, entities, "sensor", low, high)
    if not temps and fallback is not None:
        temps = await read_readings(walker, fallback.temperatures, entities, "sensor", low, high)
    res.temperatures_c = temps
    res.fans = await read_states(walker, profile.fans, entities, "fan")
    res.power_supplies = await read_states(walker, profile.power_supplies, entities, "power supply")
    res.optics = await read_optics(walker, profile.optics, entities)
    found = res.cpu_percent is not None or res.memory_percent is not None or res.temperatures_c
    return res if found or res.fans or res.power_supplies or res.optics else None
