"""CPU, memory and temperature where the device exposes them.

HOST-RESOURCES-MIB hrProcessorLoad (averaged) and hrStorageTable's RAM entry; Cisco's
CISCO-PROCESS-MIB cpmCPUTotal5minRev when hrProcessorLoad is absent; ENTITY-SENSOR-MIB entPhySensorTable
celsius sensors (type 8) scaled by entPhySensorScale/Precision and named by entPhysicalName.
"""

from __future__ import annotations

from canhgac_collector.devices.snmp.modules.base import Module, Session, as_int, as_text, oid_str
from canhgac_collector.devices.snmp.results import DevicePoll, Resources
from canhgac_collector.devices.snmp.types import OID

HR_PROCESSOR_LOAD: OID = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2)
HR_STORAGE_ENTRY: OID = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPE = (*HR_STORAGE_ENTRY, 2)
HR_STORAGE_UNITS = (*HR_STORAGE_ENTRY, 4)
HR_STORAGE_SIZE = (*HR_STORAGE_ENTRY, 5)
HR_STORAGE_USED = (*HR_STORAGE_ENTRY, 6)
HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"
CISCO_CPU_5MIN: OID = (1, 3, 6, 1, 4, 1, 9, 9, 109, 1, 1, 1, 1, 8)  # cpmCPUTotal5minRev
SENSOR_ENTRY: OID = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
SENSOR_TYPE = (*SENSOR_ENTRY, 1)
SENSOR_SCALE = (*SENSOR_ENTRY, 2)
SENSOR_PRECISION = (*SENSOR_ENTRY, 3)
SENSOR_VALUE = (*SENSOR_ENTRY, 4)
SENSOR_STATUS = (*SENSOR_ENTRY, 5)
ENT_PHYSICAL_DESCR: OID = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2)
ENT_PHYSICAL_NAME: OID = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7)
CELSIUS = 8
SENSOR_OK = 1
UNITS_SCALE = 9  # entPhySensorScale: 1 yocto … 8 milli, 9 units, 10 kilo … (steps of 10^3)


def sensor_value(value: int, scale: int | None, precision: int | None) -> float:
    """entPhySensorValue in its base unit: value × 10^(3·(scale − 9)) / 10^precision."""
    exponent = 3 * ((scale or UNITS_SCALE) - UNITS_SCALE) - (precision or 0)
    return round(float(value) * (10.0**exponent), 6)  # 282 × 10⁻¹ is 28.2, not 28.200000000000003


async def collect(session: Session, poll: DevicePoll) -> None:
    res = Resources()
    loads = [
        v
        for v in (await session.columns([HR_PROCESSOR_LOAD]))[HR_PROCESSOR_LOAD].values()
        if isinstance(v, int)
    ]
    if not loads:
        loads = [
            v
            for v in (await session.columns([CISCO_CPU_5MIN]))[CISCO_CPU_5MIN].values()
            if isinstance(v, int)
        ]
    if loads:
        res.cpu_percent = sum(loads) / len(loads)
    storage = await session.columns([HR_STORAGE_TYPE, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED])
    for index, kind in storage[HR_STORAGE_TYPE].items():
        if oid_str(kind) != HR_STORAGE_RAM:
            continue
        units = as_int(storage[HR_STORAGE_UNITS].get(index))
        size, used = as_int(storage[HR_STORAGE_SIZE].get(index)), as_int(storage[HR_STORAGE_USED].get(index))
        if units and size is not None and used is not None:
            res.memory_total_bytes, res.memory_used_bytes = size * units, used * units
            break
    sensors = await session.columns(
        [SENSOR_TYPE, SENSOR_SCALE, SENSOR_PRECISION, SENSOR_VALUE, SENSOR_STATUS]
    )
    celsius = [
        i
        for i, kind in sensors[SENSOR_TYPE].items()
        if kind == CELSIUS
        and sensors[SENSOR_STATUS].get(i, SENSOR_OK) == SENSOR_OK
        and isinstance(sensors[SENSOR_VALUE].get(i), int)
    ]
    if celsius:
        names = await session.columns([ENT_PHYSICAL_NAME, ENT_PHYSICAL_DESCR])
        for index in sorted(celsius):
            raw = sensors[SENSOR_VALUE][index]
            assert isinstance(raw, int)
            label = (
                as_text(names[ENT_PHYSICAL_NAME].get(index))
                or as_text(names[ENT_PHYSICAL_DESCR].get(index))
                or f"sensor {'.'.join(map(str, index))}"
            )
            if label in res.temperatures_c:
                label = f"{label} ({'.'.join(map(str, index))})"
            res.temperatures_c[label] = sensor_value(
                raw, as_int(sensors[SENSOR_SCALE].get(index)), as_int(sensors[SENSOR_PRECISION].get(index))
            )
    has_any = res.cpu_percent is not None or res.memory_total_bytes is not None or res.temperatures_c
    poll.resources = res if has_any else None


PLUGIN = Module("resources", collect)
