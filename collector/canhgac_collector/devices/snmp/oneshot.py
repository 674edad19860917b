"""`canhgac poll`: one device, once — for operators at a terminal and for scripts (`--json`).

The JSON speaks the MIB's vocabulary: interface fields are IF-MIB object names with the counters
flattened beside them (ifHCInOctets, ifInErrors, …), so it reads like the MIB an operator already knows.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from canhgac_agent.snmp.poller import poll_device
from canhgac_agent.snmp.results import DevicePoll, InterfaceSample, Optic
from canhgac_agent.snmp.types import DeviceTarget

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_SNMP_ERROR = 5

_RATE_FIELDS = frozenset(
    {
        "in_bps",
        "out_bps",
        "in_errors_ps",
        "out_errors_ps",
        "in_discards_ps",
        "out_discards_ps",
        "utilisation",
    }
)
TABLE_ROWS = 60  # longer tables (FDB on a core switch) are cut in the terminal view; --json has all


def parse_host_port(text: str, default_port: int = 161) -> tuple[str, int]:
    """HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address → (host, port). Raises ValueError."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address {text!r}: use [IPv6]:PORT")
        port_text = rest[1:] if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:  # a name, IPv4, or a bare IPv6 address
        host, port_text = text, ""
    if not host:
        raise ValueError(f"bad address {text!r}: no host")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"bad port {port_text!r} in {text!r}: use 1-65535")
    return host, int(port_text)


def interface_json(sample: InterfaceSample) -> dict[str, Any]:
    """An interface as a flat dict of MIB object names (counters beside the other fields)."""
    out = {k: v for k, v in asdict(sample).items() if k != "counters" and k not in _RATE_FIELDS}
    out.update(sample.counters)
    return out


def poll_json(poll: DevicePoll) -> dict[str, Any]:
    """The `--json` document for one poll."""
    return {
        "device": poll.device,
        "state": poll.state,
        "reason": poll.reason,
        "detail": poll.detail,
        "duration_s": round(poll.duration_s, 4),
        "varbinds": poll.varbinds,
        "system": asdict(poll.system) if poll.system else None,
        "interfaces": [interface_json(s) for s in poll.interfaces],
        "neighbors": [asdict(n) for n in poll.neighbors],
        "fdb": [asdict(e) for e in poll.fdb],
        "arp": [asdict(e) for e in poll.arp],
        "resources": asdict(poll.resources) if poll.resources else None,
        "errors": dict(poll.module_errors),
    }


def exit_code(poll: DevicePoll) -> int:
    """0 answered; 3 unreachable/timeout; 4 authentication failure; 5 any other SNMP error."""
    if poll.state == "up":
        return EXIT_OK
    if poll.reason == "timeout" or poll.state == "down":
        return EXIT_UNREACHABLE
    if poll.reason == "auth_failure":
        return EXIT_AUTH
    return EXIT_SNMP_ERROR


def run_poll(device: DeviceTarget, *, max_repetitions: int) -> DevicePoll:
    """Poll `device` once with a fresh engine (the lean client; pysnmp only where it must)."""
    from canhgac_agent.snmp.client import SnmpEngine

    async def once() -> DevicePoll:
        async with SnmpEngine() as engine:
            return await poll_device(engine, device, previous=None, max_repetitions=max_repetitions)

    return asyncio.run(once())


def _speed(sample: InterfaceSample) -> str:
    if sample.ifHighSpeed:
        mbit = sample.ifHighSpeed
        return f"{mbit // 1000}G" if mbit >= 1000 and mbit % 1000 == 0 else f"{mbit}M"
    if sample.ifSpeed:
        return f"{sample.ifSpeed / 1e6:g}M"
    return "-"


def _cut(table: Table, shown: int, total: int, console: Console) -> None:
    console.print(table)
    if total > shown:
        console.print(f"… {total - shown} more (--json prints all)", highlight=False)


def _level(value: float | None, no_light: bool, unit: str) -> str:
    return "không có ánh sáng / no light" if no_light else "" if value is None else f"{value:.2f} {unit}"


def _render_optics(optics: list[Optic], console: Console) -> None:
    table = Table("port", "rx", "tx", "°C", "bias mA", title="Quang / optics")
    for o in optics[:TABLE_ROWS]:
        table.add_row(
            o.name,
            _level(o.rx_dbm, o.rx_no_light, "dBm"),
            _level(o.tx_dbm, o.tx_no_light, "dBm"),
            "" if o.temperature_c is None else f"{o.temperature_c:.1f}",
            "" if o.bias_ma is None else f"{o.bias_ma:.2f}",
        )
    _cut(table, min(TABLE_ROWS, len(optics)), len(optics), console)


def render(poll: DevicePoll, console: Console) -> None:
    """Readable tables: system, interfaces, neighbours, FDB, ARP, resources, module errors."""
    system = poll.system
    if system is not None:
        info = Table("", "", show_header=False, box=None)
        for key, value in asdict(system).items():
            info.add_row(key, "" if value is None else str(value))
        info.add_row("poll", f"{poll.duration_s:.2f} s, {poll.varbinds} varbinds")
        console.print(info)
    if poll.interfaces:
        columns = ("ifIndex", "ifName", "ifAlias", "admin/oper", "speed", "in octets", "out octets")
        table = Table(*columns, "in err", "out err", title="Giao diện / interfaces")
        for s in poll.interfaces[:TABLE_ROWS]:
            c = s.counters
            table.add_row(
                str(s.ifIndex),
                s.ifName or s.ifDescr or "",
                s.ifAlias or "",
                f"{s.ifAdminStatus or '?'}/{s.ifOperStatus or '?'}",
                _speed(s),
                str(c.get("ifHCInOctets", c.get("ifInOctets", ""))),
                str(c.get("ifHCOutOctets", c.get("ifOutOctets", ""))),
                str(c.get("ifInErrors", "")),
                str(c.get("ifOutErrors", "")),
            )
        _cut(table, min(TABLE_ROWS, len(poll.interfaces)), len(poll.interfaces), console)
    if poll.neighbors:
        table = Table(
            "proto", "local port", "remote", "remote port", "address", title="Láng giềng / neighbours"
        )
        for n in poll.neighbors[:TABLE_ROWS]:
            table.add_row(
                n.protocol,
                n.local_port or str(n.local_ifIndex or ""),
                n.remote_name or n.remote_chassis_id or "",
                n.remote_port or "",
                n.remote_address or "",
            )
        _cut(table, min(TABLE_ROWS, len(poll.neighbors)), len(poll.neighbors), console)
    if poll.fdb:
        names = {s.ifIndex: s.ifName or s.ifDescr or "" for s in poll.interfaces}
        table = Table("mac", "vlan", "port", "status", title="Bảng MAC / FDB")
        for e in poll.fdb[:TABLE_ROWS]:
            port = names.get(e.ifIndex, "") if e.ifIndex else ""
            table.add_row(e.mac, str(e.vlan or ""), port or str(e.bridge_port or ""), e.status or "")
        _cut(table, min(TABLE_ROWS, len(poll.fdb)), len(poll.fdb), console)
    if poll.arp:
        table = Table("ip", "mac", "ifIndex", title="ARP")
        for a in poll.arp[:TABLE_ROWS]:
            table.add_row(a.ip, a.mac, str(a.ifIndex or ""))
        _cut(table, min(TABLE_ROWS, len(poll.arp)), len(poll.arp), console)
    res = poll.resources
    if res is not None:
        parts = []
        if res.cpu_percent is not None:
            parts.append(f"CPU {res.cpu_percent:.0f}%")
        if res.memory_total_bytes:
            used = res.memory_used_bytes or 0
            parts.append(f"RAM {used / 2**20:.0f}/{res.memory_total_bytes / 2**20:.0f} MiB")
        elif res.memory_percent is not None:
            parts.append(f"RAM {res.memory_percent:.0f}%")
        parts += [f"{name} {value:.1f} °C" for name, value in res.temperatures_c.items()]
        parts += [f"{h.name}: {h.state}" for h in (*res.fans, *res.power_supplies) if h.state != "ok"]
        if res.fans or res.power_supplies:
            ok = sum(h.state == "ok" for h in (*res.fans, *res.power_supplies))
            parts.append(f"{ok}/{len(res.fans) + len(res.power_supplies)} quạt, nguồn ổn / fans, PSUs ok")
        console.print("Tài nguyên / resources: " + ", ".join(parts), highlight=False)
        if res.optics:
            _render_optics(res.optics, console)
    for module, why in poll.module_errors.items():
        console.print(f"[yellow]module {module} failed:[/] {why}", highlight=False)
