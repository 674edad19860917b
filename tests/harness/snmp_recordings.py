"""Tiny .snmprec recordings written by the tests, for cases real dumps do not cover with known values
(a counter wrap between two polls, a reboot, an erroring table), served by the lab's SnmpsimFleet."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

Row = tuple[str, str, str]  # oid, snmprec tag, value

MACS = ["00:1b:21:0a:00:01", "00:1b:21:0a:00:02", "3c:52:82:11:22:33"]


def _hex(text: str) -> str:
    return text.encode().hex()


def switch_rows(
    *,
    name: str = "sw-xa-1",
    uptime: int = 123_456,
    ports: int = 4,
    in_octets32: int = 1000,
    in_hc: int | None = 5_000_000,
    speed_mbit: int = 100,
    lldp: bool = True,
    extra: Iterable[Row] = (),
) -> list[Row]:
    """A small access switch: `ports` Ethernet ports (port 4 down), LLDP to an uplink on port 1,
    Q-BRIDGE FDB with VLANs, ARP, HOST-RESOURCES CPU/RAM and one ENTITY-SENSOR temperature."""
    rows: list[Row] = [
        ("1.3.6.1.2.1.1.1.0", "4", "Lab switch 24p"),
        ("1.3.6.1.2.1.1.2.0", "6", "1.3.6.1.4.1.25506.1.1"),  # h3c
        ("1.3.6.1.2.1.1.3.0", "67", str(uptime)),
        ("1.3.6.1.2.1.1.4.0", "4", "noc@example.vn"),
        ("1.3.6.1.2.1.1.5.0", "4x", _hex(name)),
        ("1.3.6.1.2.1.1.6.0", "4x", _hex("UBND xã Thạch Hà")),
    ]
    for i in range(1, ports + 1):
        e, x = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
        rows += [
            (f"{e}.1.{i}", "2", str(i)),
            (f"{e}.2.{i}", "4", f"GigabitEthernet1/0/{i}"),
            (f"{e}.3.{i}", "2", "6"),
            (f"{e}.4.{i}", "2", "1500"),
            (f"{e}.5.{i}", "66", str(speed_mbit * 1_000_000)),
            (f"{e}.6.{i}", "4x", f"001b210b00{i:02x}"),
            (f"{e}.7.{i}", "2", "1"),
            (f"{e}.8.{i}", "2", "2" if i == 4 else "1"),
            (f"{e}.9.{i}", "67", "100"),
            (f"{e}.10.{i}", "65", str(in_octets32)),
            (f"{e}.11.{i}", "65", "10"),
            (f"{e}.13.{i}", "65", "0"),
            (f"{e}.14.{i}", "65", str(7 * i)),
            (f"{e}.16.{i}", "65", "2000"),
            (f"{e}.17.{i}", "65", "20"),
            (f"{e}.19.{i}", "65", "0"),
            (f"{e}.20.{i}", "65", "0"),
            (f"{x}.1.{i}", "4", f"GE1/0/{i}"),
            (f"{x}.15.{i}", "66", str(speed_mbit)),
            (f"{x}.18.{i}", "4", "uplink" if i == 1 else ""),
        ]
        if in_hc is not None:
            rows += [
                (f"{x}.6.{i}", "70", str(in_hc)),
                (f"{x}.7.{i}", "70", "100"),
                (f"{x}.10.{i}", "70", str(in_hc * 2)),
                (f"{x}.11.{i}", "70", "200"),
            ]
    if lldp:
        rows += [
            ("1.0.8802.1.1.2.1.3.7.1.2.1", "2", "5"),
            ("1.0.8802.1.1.2.1.3.7.1.3.1", "4", "GE1/0/1"),
            ("1.0.8802.1.1.2.1.3.7.1.4.1", "4", "GigabitEthernet1/0/1"),
            ("1.0.8802.1.1.2.1.4.1.1.4.0.1.1", "2", "4"),
            ("1.0.8802.1.1.2.1.4.1.1.5.0.1.1", "4x", "70106f000001"),
            ("1.0.8802.1.1.2.1.4.1.1.6.0.1.1", "2", "5"),
            ("1.0.8802.1.1.2.1.4.1.1.7.0.1.1", "4", "GE1/0/24"),
            ("1.0.8802.1.1.2.1.4.1.1.8.0.1.1", "4", "to xa"),
            ("1.0.8802.1.1.2.1.4.1.1.9.0.1.1", "4", "sw-huyen-core"),
            ("1.0.8802.1.1.2.1.4.1.1.10.0.1.1", "4", "Huawei S5720"),
            ("1.0.8802.1.1.2.1.4.2.1.3.0.1.1.1.4.10.20.0.1", "2", "2"),
        ]
    for n, mac in enumerate(MACS, start=1):
        octets = ".".join(str(int(b, 16)) for b in mac.split(":"))
        vlan = 10 if n < 3 else 20
        rows += [
            (f"1.3.6.1.2.1.17.7.1.2.2.1.2.{vlan}.{octets}", "2", str(n + 1)),
            (f"1.3.6.1.2.1.17.7.1.2.2.1.3.{vlan}.{octets}", "2", "3"),
            (f"1.3.6.1.2.1.4.22.1.2.1.10.20.{vlan}.{n}", "4x", mac.replace(":", "")),
            (f"1.3.6.1.2.1.4.22.1.4.1.10.20.{vlan}.{n}", "2", "3"),
        ]
    rows += [(f"1.3.6.1.2.1.17.1.4.1.2.{p}", "2", str(p)) for p in range(1, ports + 1)]
    rows += [
        ("1.3.6.1.2.1.25.2.3.1.2.1", "6", "1.3.6.1.2.1.25.2.1.2"),
        ("1.3.6.1.2.1.25.2.3.1.4.1", "2", "1024"),
        ("1.3.6.1.2.1.25.2.3.1.5.1", "2", "262144"),
        ("1.3.6.1.2.1.25.2.3.1.6.1", "2", "131072"),
        ("1.3.6.1.2.1.25.3.3.1.2.1", "2", "20"),
        ("1.3.6.1.2.1.25.3.3.1.2.2", "2", "40"),
        ("1.3.6.1.2.1.47.1.1.1.1.7.5", "4", "CPU temp"),
        ("1.3.6.1.2.1.99.1.1.1.1.5", "2", "8"),
        ("1.3.6.1.2.1.99.1.1.1.2.5", "2", "9"),
        ("1.3.6.1.2.1.99.1.1.1.3.5", "2", "1"),
        ("1.3.6.1.2.1.99.1.1.1.4.5", "2", "415"),
        ("1.3.6.1.2.1.99.1.1.1.5.5", "2", "1"),
    ]
    rows += list(extra)
    return rows


def write_recording(path: Path, rows: Iterable[Row]) -> Path:
    """Write rows as a .snmprec, sorted by OID as snmpsim expects."""
    ordered = sorted(rows, key=lambda r: tuple(int(p) for p in r[0].split(".")))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{o}|{t}|{v}\n" for o, t, v in ordered), encoding="utf-8")
    return path
