"""A small province network for the devices, topology and locate tests: configured switches, and poll
results written through the same sink the poller uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canhgac_agent.snmp.results import (  # re-exported for the tests
    ArpEntry,
    DevicePoll,
    FdbEntry,
    InterfaceSample,
    Neighbor,
    Optic,
    Resources,
    SystemInfo,
)
from canhgac_collector.devices.store import DeviceSink, make_device_sink
from tests.api.conftest import Api

COMMUNITY = "pr0vince-c0mmunity"
V3_AUTH = "v3-auth-secret-99"
V3_PRIV = "v3-priv-secret-98"
SECRETS = (COMMUNITY, V3_AUTH, V3_PRIV)


def device(name: str, site: str, role: str = "access", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "address": "127.0.0.1",
        "port": 16161,
        "site": site,
        "role": role,
        "snmp": {"version": "2c", "community": COMMUNITY},
        **extra,
    }


def province_devices() -> list[dict[str, Any]]:
    """dist-d1 (district D1) links to sw-a1 (commune XA-A); core-p (province) links to dist-d1 and
    sw-b1 (commune XA-B, v3)."""
    v3 = {
        "version": "3",
        "v3": {"user": "nms", "auth_protocol": "sha", "auth_key": V3_AUTH, "priv_key": V3_PRIV},
    }
    return [
        device("core-p", "P", "core"),
        device("dist-d1", "D1", "distribution"),
        device("sw-a1", "XA-A"),
        device("sw-b1", "XA-B", snmp=v3),
    ]


def make_device_api(make_api: Callable[..., Api], tmp_path: Path, **overrides: Any) -> Api:
    overrides.setdefault("devices", province_devices())
    # The poller stays off: these tests write poll results themselves, through the poller's own sink.
    return make_api(snmp={"enabled": False, "secrets_key_file": str(tmp_path / "secrets.key")}, **overrides)


def sink(api: Api) -> DeviceSink:
    return make_device_sink(api.sessions)


def ports(n: int) -> list[InterfaceSample]:
    return [
        InterfaceSample(
            ifIndex=i,
            ifName=f"Gi0/{i}",
            ifDescr=f"GigabitEthernet0/{i}",
            ifType=6,
            ifMtu=1500,
            ifHighSpeed=1000,
            ifPhysAddress=f"00:1a:2b:00:00:{i:02x}",
            ifAdminStatus="up",
            ifOperStatus="down" if i == 3 else "up",
            counters={"ifHCInOctets": 10_000 * i, "ifHCOutOctets": 5_000 * i, "ifInErrors": i},
            in_bps=8e8 if i == 1 else 1e6,
            out_bps=2e6,
            in_errors_ps=0.5 if i == 2 else 0.0,
            utilisation=0.8 if i == 1 else 0.001,
        )
        for i in range(1, n + 1)
    ]


def up(name: str, **kw: Any) -> DevicePoll:
    return DevicePoll(device=name, started_at=time.time() - 1, duration_s=0.2, state="up", **kw)


def populate(api: Api) -> None:
    """One cycle of polls: LLDP both ways on core-p↔dist-d1 and dist-d1↔sw-a1, one way core-p→sw-b1
    (sw-b1 speaks CDP only and says nothing), a phone seen only by sw-a1; PC-1 behind sw-a1 port 2,
    its MAC also learned on the uplinks of dist-d1 and core-p; ARP on core-p."""
    pc1 = "00:50:56:aa:00:01"
    write = sink(api)
    write.write_many(
        [
            up(
                "core-p",
                system=SystemInfo(sysName="core-p.tinh.gov.vn", vendor="cisco", sysDescr="Cisco IOS-XE"),
                interfaces=ports(4),
                neighbors=[
                    Neighbor("lldp", 1, "Gi0/1", "dist-d1", "Gi0/4", "00:1a:2b:00:01:00"),
                    Neighbor("lldp", 2, "Gi0/2", "SW-B1.xa-b.gov.vn", "Gi0/1"),
                ],
                fdb=[FdbEntry(pc1, 10, 1, 1, "learned"), FdbEntry("00:50:56:aa:00:09", 10, 4, 4, "learned")],
                arp=[ArpEntry("10.20.1.11", pc1, 100), ArpEntry("10.20.2.22", "00:50:56:bb:00:02", 100)],
                resources=Resources(
                    cpu_percent=12.0,
                    optics=[Optic("Te1/1/1", rx_dbm=-3.5, tx_dbm=-2.1), Optic("Te1/1/2", rx_no_light=True)],
                    profile="cisco-ios",
                ),
            ),
            up(
                "dist-d1",
                system=SystemInfo(sysName="dist-d1", vendor="huawei"),
                interfaces=ports(4),
                neighbors=[
                    Neighbor("lldp", 4, "GigabitEthernet0/4", "core-p.tinh.gov.vn", "Gi0/1"),
                    Neighbor("lldp", 1, "Gi0/1", "sw-a1", "Gi0/4"),
                ],
                fdb=[FdbEntry(pc1, 10, 1, 1, "learned")]
                + [FdbEntry(f"00:50:56:cc:00:{k:02x}", 10, 1, 1, "learned") for k in range(5)],
            ),
            up(
                "sw-a1",
                system=SystemInfo(sysName="sw-a1", vendor="hpe"),
                interfaces=ports(4),
                neighbors=[
                    Neighbor("lldp", 4, "Gi0/4", "dist-d1", "Gi0/1"),
                    Neighbor("lldp", 2, "Gi0/2", "SEP001122334455", "Port 1", "00:11:22:33:44:55"),
                ],
                fdb=[
                    FdbEntry(pc1, 10, 2, 2, "learned"),
                    FdbEntry("00:50:56:aa:00:02", None, 3, 3, "learned"),
                ],
            ),
            up("sw-b1", system=SystemInfo(sysName="sw-b1.xa-b.gov.vn"), interfaces=ports(2)),
        ]
    )
