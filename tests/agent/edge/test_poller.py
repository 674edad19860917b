"""The edge poller on its own: SNMPv3 with privacy against net-snmp, a garbage-answering agent confined to
its own polls, topology sent again when it changes, secrets kept out of logs, hostile values bounded."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from canhgac_agent.config import SnmpConfig, parse_config
from canhgac_agent.edge.poller import EdgePoller
from canhgac_agent.edge.wire import edge_poll, topology_of
from canhgac_agent.snmp.results import (
    ArpEntry,
    DevicePoll,
    FdbEntry,
    InterfaceSample,
    Neighbor,
    Resources,
    SystemInfo,
)
from canhgac_agent.snmp.types import Tag, Varbind
from canhgac_api.schemas.report_snmp import SnmpSection
from canhgac_collector.lab.snmpd import Snmpd
from tests.harness.snmp_badagent import DEFAULT_TABLE, BadAgent

from .conftest import device, fleet, snmpd, wait_for

__all__ = ["fleet", "snmpd"]


def snmp_config(devices: list[dict[str, Any]], **options: Any) -> SnmpConfig:
    table = {"enabled": True, "interval_s": 10, "timeout_s": 0.5, "retries": 0, "devices": devices, **options}
    return parse_config({"snmp": table}, "agent.toml", env={}).snmp


def run_until(poller: EdgePoller, polls: int, timeout_s: float = 20) -> list[dict[str, Any]]:
    """Start, wait for `polls` polls, stop; the section's polls (validated as the report's SnmpSection)."""
    poller.start()
    try:
        wait_for(lambda: poller.polls >= polls, timeout_s, f"{polls} polls")
    finally:
        poller.stop()
    section = poller.section()
    SnmpSection.model_validate(section)
    return list(section["polls"])


def test_v3_with_authentication_and_privacy_polls_net_snmp(snmpd: Snmpd) -> None:
    host, port = snmpd.endpoint
    v3 = {
        "name": "xa-sw-v3",
        "address": f"{host}:{port}",
        "version": "3",
        "user": "privsha256",
        "auth_protocol": "sha256",
        "auth_key": "auth-pass-3",
        "priv_protocol": "aes128",
        "priv_key": "priv-pass-3",
    }
    wrong = {**v3, "name": "xa-sw-wrongkey", "priv_key": "not-the-priv-key"}
    (good, bad) = sorted(run_until(EdgePoller(snmp_config([v3, wrong])), 2), key=lambda p: p["device"])
    assert good["state"] == "up", good
    assert good["system"]["sysLocation"] == "Canh Gac lab"
    assert good["interfaces"]  # net-snmp's own interfaces (lo at least)
    assert bad["state"] in ("down", "error")  # a wrong privacy key: net-snmp drops or reports it


class ThreadedAgent:
    """A BadAgent on its own event loop thread, so the poller's thread can talk to it."""

    def __init__(self, mode: str, table: list[Varbind] | None = None) -> None:
        self.agent = BadAgent(mode, table=table)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._serve(),), daemon=True
        )

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.agent:
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> BadAgent:
        self.thread.start()
        assert self._ready.wait(5)
        return self.agent

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(5)
        self.loop.close()


def test_a_garbage_answering_agent_costs_only_its_own_polls(
    fleet: dict[str, tuple[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="canhgac_agent.edge")
    with ThreadedAgent("garbage") as garbage:
        config = snmp_config(
            [
                {"name": "xa-garbage", "address": f"127.0.0.1:{garbage.endpoint[1]}", "community": "public"},
                device("xa-sw-a", fleet["edge/sw-a"], "edge/sw-a"),
            ]
        )
        poller = EdgePoller(config)
        polls = run_until(poller, 4, timeout_s=25)
    by_device: dict[str, list[dict[str, Any]]] = {}
    for poll in polls:
        by_device.setdefault(poll["device"], []).append(poll)
    assert [p["state"] for p in by_device["xa-sw-a"]] == ["up", "up"]
    assert len(by_device["xa-sw-a"][0]["interfaces"]) == 48
    assert {p["state"] for p in by_device["xa-garbage"]} <= {"down", "error"}
    assert garbage.requests > 0
    changes = [r for r in caplog.records if getattr(r, "kv", {}).get("device") == "xa-garbage"]
    assert len(changes) == 1  # logged once per change of state, not once per poll


def arp_row(n: int) -> list[Varbind]:
    """One ipNetToMediaTable row: 10.20.10.n at 00:1b:21:0a:00:n on ifIndex 1."""
    index = (1, 10, 20, 10, n)
    return [
        ((1, 3, 6, 1, 2, 1, 4, 22, 1, 2, *index), Tag.OCTET_STRING, bytes([0, 0x1B, 0x21, 0x0A, 0, n])),
        ((1, 3, 6, 1, 2, 1, 4, 22, 1, 4, *index), Tag.INTEGER, 3),
    ]


def test_topology_goes_once_then_again_when_it_changes() -> None:
    with ThreadedAgent("normal", table=sorted(DEFAULT_TABLE + arp_row(1))) as agent:
        poller = EdgePoller(
            snmp_config(
                [{"name": "xa-sw", "address": f"127.0.0.1:{agent.endpoint[1]}", "community": "public"}]
            )
        )
        poller.start()
        try:
            wait_for(lambda: poller.polls >= 2, 20, "two polls")
            agent.table = sorted(DEFAULT_TABLE + arp_row(1) + arp_row(2))  # a new PC on the switch
            agent._oids = [vb[0] for vb in agent.table]
            wait_for(lambda: poller.polls >= 4, 25, "two more polls")
        finally:
            poller.stop()
    polls = poller.section()["polls"]
    SnmpSection.model_validate({"polls": polls})
    assert [p["topology"] for p in polls[:4]] == [True, False, True, False]
    assert [len(p.get("arp", [])) for p in polls[:4]] == [1, 0, 2, 0]
    assert polls[2]["arp"][1] == {"ip": "10.20.10.2", "mac": "00:1b:21:0a:00:02", "ifIndex": 1}


def test_secrets_stay_out_of_repr_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = snmp_config(
        [
            {"name": "xa-sw1", "address": "127.0.0.1:9", "community": "community-secret-1"},
            {
                "name": "xa-sw2",
                "address": "127.0.0.1:9",
                "version": "3",
                "user": "canhgac",
                "auth_key": "auth-secret-22",
                "priv_key": "priv-secret-333",
            },
        ]
    )
    poller = EdgePoller(config)
    run_until(poller, 2)
    shown = repr(config) + str(config) + repr(poller.targets) + caplog.text
    assert "xa-sw1" in caplog.text  # the log does speak of the devices ...
    for secret in ("community-secret-1", "auth-secret-22", "priv-secret-333"):
        assert secret not in shown  # ... never of their secrets


def test_hostile_values_are_bounded_so_the_report_validates() -> None:
    huge = 2**64 - 1
    poll = DevicePoll(
        device="xa-sw",
        started_at=1.7e9,
        duration_s=math.inf,
        state="unknown",
        reason="bad\nreason\x00",
        detail="x\x1b[31m" * 1000,
        system=SystemInfo(sysDescr="d" * 5000, sysObjectID="not.an.oid", sysUpTime=-1, sysName="a\tb\nc"),
        interfaces=[
            InterfaceSample(
                ifIndex=i,
                ifName="\x00" * 300,
                ifPhysAddress="zz:zz",
                ifSpeed=huge,
                counters={"ifHCInOctets": huge, "ifInErrors": 5, "bogus name": 1},
                in_bps=math.nan,
                out_bps=-1.0,
                utilisation=1.5,
            )
            for i in range(0, 4200)
        ],
        neighbors=[Neighbor("lldp", 0, "p", "r" * 999, None)] * 1100,
        fdb=[FdbEntry("00:11:22:33:44:55", 9999, -1, 1), FdbEntry("nonsense", 1, 1, 1)],
        arp=[ArpEntry("10.0.0.1", "00:11:22:33:44:55", 2**40), ArpEntry("<script>", "00:11:22:33:44:55", 1)],
        resources=Resources(cpu_percent=250.0, temperatures_c={f"t{i}": 40.0 for i in range(100)}),
        module_errors={f"m{i}": "e" * 3000 for i in range(20)},
        varbinds=-5,
    )
    out = edge_poll(poll, "127.0.0.1:161", topology=topology_of(poll))
    section = SnmpSection.model_validate({"polls": [out]})
    edge = section.polls[0]
    assert edge.state == "error"  # "unknown" is not a wire state
    assert len(edge.interfaces) == 4096  # ifIndex 0 left out, the rest cut to the bound
    assert edge.interfaces[0].counters == {"ifInErrors": 5}  # above INT64_MAX: left out
    assert edge.interfaces[0].ifSpeed is None
    assert edge.interfaces[0].in_bps is None
    assert len(edge.neighbors) == 1024
    assert [f.vlan for f in edge.fdb] == [None]
    assert [a.ip for a in edge.arp] == ["10.0.0.1"]
    assert edge.system is not None
    assert edge.system.sysName == "a b c"
    assert len(edge.module_errors) == 16
    assert edge.resources is not None
    assert edge.resources.cpu_percent is None


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = {t.name for t in threading.enumerate()}
    yield
    assert "edge-poller" not in {t.name for t in threading.enumerate()} - before
