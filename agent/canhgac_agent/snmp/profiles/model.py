"""The schema of a device profile: which MIB columns carry a vendor's CPU, memory, temperatures, fans,
power supplies and transceiver optical levels, and how to turn their raw values into percent, bytes, °C,
dBm and a normalised state.

Strict (unknown keys are errors) so a typo in a profile is reported, not silently ignored. A profile file
is `profiles: [...]`; the one profile without `match` is the generic fallback.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

HealthState = Literal["ok", "warning", "failed", "absent", "unknown"]
HEALTH_STATES: tuple[HealthState, ...] = ("ok", "warning", "failed", "absent", "unknown")
MAX_OID_PARTS = 64


def _dotted_oid(text: str) -> str:
    """A numeric dotted OID under iso (1.3.…), without a leading dot; every arc a 32-bit number."""
    parts = text.split(".")
    if len(parts) < 2 or len(parts) > MAX_OID_PARTS or parts[0] not in ("1", "2"):
        raise ValueError(f"{text!r} is not a numeric OID such as 1.3.6.1.2.1.25.3.3.1.2")
    if not all(p.isdigit() and len(p) <= 10 and int(p) < 2**32 for p in parts):
        raise ValueError(f"{text!r} is not a numeric OID such as 1.3.6.1.2.1.25.3.3.1.2")
    return text


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"bad regular expression {text!r}: {exc}") from None
    return text


Oid = Annotated[str, AfterValidator(_dotted_oid)]
Regex = Annotated[str, Field(max_length=500), AfterValidator(_regex)]
Label = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(_Strict):
    """Keep only rows whose `column` (same index) passes: equals one of `equals`, none of `not_equals`,
    is above `above`, or (text) matches the regex `matches`. OBJECT IDENTIFIER values compare as dotted
    text."""

    column: Oid
    equals: list[int | str] | None = None
    not_equals: list[int | str] | None = None
    above: float | None = None
    matches: Regex | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Where:
        tests = (self.equals, self.not_equals, self.above, self.matches)
        if sum(x is not None for x in tests) != 1:
            raise ValueError("where: give exactly one of equals, not_equals, above, matches")
        return self


IndexPrefix = Annotated[list[Annotated[int, Field(ge=0, lt=2**32)]], Field(max_length=8)]


class Name(_Strict):
    """How a row is named: a text `column` of the same table, the row index as an entPhysicalIndex
    (`entity_index: true`), or a column holding an entPhysicalIndex; `label` (with `{index}`) otherwise."""

    column: Oid | None = None
    entity_index: bool = False
    entity_index_column: Oid | None = None
    label: Label | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Name:
        if sum((self.column is not None, self.entity_index, self.entity_index_column is not None)) > 1:
            raise ValueError("name: give at most one of column, entity_index, entity_index_column")
        return self


class Reading(_Strict):
    """A numeric column: value × scale; ENTITY-SENSOR-style `sensor_scale_column`/`precision_column`
    apply 10^(3·(scale−9)) / 10^precision per row; `parse` pulls the number out of a text value."""

    value: Oid
    scale: Annotated[float, Field(gt=0)] = 1.0
    parse: Regex | None = None
    sensor_scale_column: Oid | None = None
    precision_column: Oid | None = None
    where: list[Where] = []
    index_prefix: IndexPrefix = []  # only rows whose index starts so (a table's part)
    name: Name = Name()


class Memory(_Strict):
    """A memory pool table: two of used/free/total, or `percent` (with `total` when known). Sizes are
    in units of `unit_bytes` (or of the `units_column` per row, as hrStorageAllocationUnits)."""

    used: Oid | None = None
    free: Oid | None = None
    total: Oid | None = None
    percent: Oid | None = None
    unit_bytes: Annotated[int, Field(ge=1, le=2**30)] = 1
    units_column: Oid | None = None
    where: list[Where] = []
    index_prefix: IndexPrefix = []  # only rows whose index starts so (a table's part)
    name: Name = Name()

    @model_validator(mode="after")
    def _enough(self) -> Memory:
        sizes = sum(x is not None for x in (self.used, self.free, self.total))
        if self.percent is None and sizes < 2:
            raise ValueError("memory: give two of used, free, total, or percent")
        return self


class StateTable(_Strict):
    """A fan or power-supply status column and what each of its values means."""

    state: Oid
    states: Annotated[dict[int, HealthState], Field(min_length=1)]
    where: list[Where] = []
    index_prefix: IndexPrefix = []  # only rows whose index starts so (a table's part)
    name: Name = Name()


class Level(_Strict):
    """One quantity of a transceiver row: its column, value × `scale` (× the ENTITY-SENSOR scale and
    precision of the row when those columns are given), and `where` for the rows that carry it (a
    sensor table mixing receive and transmit rows)."""

    value: Oid
    scale: Annotated[float, Field(gt=0)] = 1.0
    sensor_scale_column: Oid | None = None
    precision_column: Oid | None = None
    where: list[Where] = []


class PowerLevel(Level):
    """An optical power: after scaling, in dBm, µW or mW (µW and mW are turned into dBm)."""

    unit: Literal["dbm", "microwatt", "milliwatt"] = "dbm"


class Optics(_Strict):
    """Transceiver levels per port. `port: index` reads every level in the same row (a table indexed by
    ifIndex or entPhysicalIndex); `port: entity_parent` groups sensor rows by their entPhysicalContainedIn
    (a sensor table with one row per level, as CISCO-ENTITY-SENSOR-MIB) and names the port after that
    parent entity. `no_signal` lists raw values that mean "no light / no reading", not a level."""

    rx_power: PowerLevel | None = None
    tx_power: PowerLevel | None = None
    temperature: Level | None = None  # °C after scale
    bias_current: Level | None = None  # mA after scale
    no_signal: Annotated[list[int], Field(max_length=16)] = []
    port: Literal["index", "entity_parent"] = "index"
    where: list[Where] = []
    index_prefix: IndexPrefix = []  # only rows whose index starts so (a table's part)
    name: Name = Name()

    @model_validator(mode="after")
    def _some_power(self) -> Optics:
        if self.rx_power is None and self.tx_power is None:
            raise ValueError("optics: give rx_power, tx_power or both")
        return self


class Match(_Strict):
    """Devices a profile is for: sysObjectID under one of the prefixes and/or sysDescr matching."""

    sys_object_id: list[Oid] = []
    sys_descr: Regex | None = None

    @model_validator(mode="after")
    def _something(self) -> Match:
        if not self.sys_object_id and self.sys_descr is None:
            raise ValueError("match: give sys_object_id prefixes, a sys_descr regex, or both")
        return self


class Profile(_Strict):
    """One vendor family. Each section lists sources tried in order: the first that yields rows is used,
    so a newer MIB can come first and an older one follow."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    description: Annotated[str, Field(min_length=1, max_length=300)]
    match: Match | None = None
    cpu: list[Reading] = []
    cpu_device: Literal["average", "max"] = "average"
    memory: list[Memory] = []
    memory_device: Literal["largest", "sum", "first"] = "largest"
    temperatures: list[Reading] = []
    fans: list[StateTable] = []
    power_supplies: list[StateTable] = []
    optics: list[Optics] = []


class ProfileFile(_Strict):
    profiles: Annotated[list[Profile], Field(min_length=1)]
