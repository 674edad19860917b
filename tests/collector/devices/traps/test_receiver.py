"""The trap receiver against net-snmp's own senders (`snmptrap`, `snmpinform`) over loopback, storing
into a real database: what is accepted lands on the right device and interface, what is not is counted
by reason, and neither bad input nor a storm stops the traps behind it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.results import DevicePoll, InterfaceSample, SystemInfo
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.store import make_device_sink, sync_config_devices
from canhgac_collector.devices.traps.service import TrapService
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import DeviceInterface, Event
from canhgac_collector.store.secrets import SecretBox
from canhgac_collector.store.sites import sync_sites
from tests.conftest import site_tree

COMMUNITY = "trap-c0mmunity-x9"
AUTH, PRIV = "auth-pass-7781", "priv-pass-3319"
ENGINE = "0x80001f8880a1b2c3d4e5f60718"
LINK_DOWN, COLD_START = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.1"
IF_INDEX, IF_OPER, IF_ADMIN = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.2.2.1.7"


def net_snmp(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found: scripts/install-system-deps installs Debian `snmp`")
    return path


def send(*args: str, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")  # numeric OIDs: no MIB loading
    tool, rest = args[0], args[1:]
    done = subprocess.run(
        [net_snmp(tool), *rest], check=False, capture_output=True, text=True, env=env, timeout=20
    )
    if expect_ok:
        assert done.returncode == 0, done.stderr
    return done


def v2c(port: int, source: str, trap: str, *varbinds: str, community: str = COMMUNITY) -> None:
    send(
        "snmptrap",
        "-v",
        "2c",
        "-c",
        community,
        f"--clientaddr={source}",
        f"127.0.0.1:{port}",
        "",
        trap,
        *varbinds,
    )


def v3(port: int, source: str, auth: str = AUTH, user: str = "trapper") -> None:
    send(
        "snmptrap",
        "-v",
        "3",
        "-u",
        user,
        "-l",
        "authPriv",
        "-a",
        "SHA-256",
        "-A",
        auth,
        "-x",
        "AES",
        "-X",
        PRIV,
        "-e",
        ENGINE,
        f"--clientaddr={source}",
        f"127.0.0.1:{port}",
        "",
        COLD_START,
    )


def wait_for(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def traps_config(**overrides: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "listen_host": "127.0.0.1",
        "listen_port": 0,
        "communities": [COMMUNITY],
        "v3_users": [
            {
                "user": "trapper",
                "auth_protocol": "sha256",
                "auth_key": AUTH,
                "priv_protocol": "aes128",
                "priv_key": PRIV,
            },
            {
                "user": "md5-des",
                "auth_protocol": "md5",
                "auth_key": AUTH,
                "priv_protocol": "des",
                "priv_key": PRIV,
            },
        ],
        **overrides,
    }


DEVICES = [
    {
        "name": "sw-a",
        "address": "127.0.0.2",
        "site": "XA-A",
        "snmp": {"version": "2c", "community": "poll-9f8e7d6c"},
    },
    {
        "name": "sw-b",
        "address": "127.0.0.3",
        "site": "XA-B",
        "snmp": {"version": "2c", "community": "poll-9f8e7d6c"},
    },
]


def uplink_poll(name: str) -> DevicePoll:
    """The device as a poll left it: up, with port 2 an uplink (a description) up."""
    return DevicePoll(
        device=name,
        started_at=time.time() - 1,
        duration_s=0.1,
        state="up",
        system=SystemInfo(sysName=name, sysUpTime=500_000),
        interfaces=[
            InterfaceSample(
                ifIndex=2,
                ifName="Gi0/2",
                ifAlias="uplink to district",
                ifType=6,
                ifAdminStatus="up",
                ifOperStatus="up",
                ifLastChange=100_000,
            ),
        ],
    )


class Store:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.engine = make_engine(config.database_url)
        upgrade(self.engine)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        with self.sessions.begin() as session:
            sync_sites(session, resolve_tree(config))
            sync_config_devices(session, config, SecretBox.for_config(config))
        make_device_sink(self.sessions).write_many([uplink_poll("sw-a"), uplink_poll("sw-b")])

    def events(self, kind: str | None = None) -> list[Event]:
        with self.sessions() as session:
            stmt = select(Event).where(Event.actor == "snmp-trap").order_by(Event.id)
            if kind:
                stmt = stmt.where(Event.kind == kind)
            return list(session.scalars(stmt))

    def interface(self, index: int = 2) -> DeviceInterface:
        with self.sessions() as session:
            row = session.scalars(select(DeviceInterface).where(DeviceInterface.if_index == index)).first()
            assert row is not None
            return row


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[TrapService, Store]]:
    config = ServerConfig(
        database_url=f"sqlite:///{tmp_path / 'traps.sqlite'}",
        sites=site_tree(),
        devices=DEVICES,
        snmp={"secrets_key_file": str(tmp_path / "secrets.key")},
        traps=traps_config(storm_quiet_s=0.5, rate_per_s=5, burst=20),
    )
    store = Store(config)
    service = TrapService(config.traps, store.sessions)
    service.start()
    try:
        yield service, store
    finally:
        service.stop()
        store.engine.dispose()


def test_v1_v2c_v3_traps_land_on_their_device_and_interface(receiver: tuple[TrapService, Store]) -> None:
    service, store = receiver
    port = service.address[1]
    v2c(
        port,
        "127.0.0.2",
        LINK_DOWN,
        f"{IF_INDEX}.2",
        "i",
        "2",
        f"{IF_ADMIN}.2",
        "i",
        "1",
        f"{IF_OPER}.2",
        "i",
        "2",
    )
    send(
        "snmptrap",
        "-v",
        "1",
        "-c",
        COMMUNITY,
        "--clientaddr=127.0.0.3",
        f"127.0.0.1:{port}",
        "1.3.6.1.4.1.2011",
        "127.0.0.3",
        "6",
        "1",
        "",
        "1.3.6.1.4.1.2011.6.10.1.1",
        "s",
        "Huawei cfg",
    )
    send(
        "snmptrap",
        "-v",
        "1",
        "-c",
        COMMUNITY,
        "--clientaddr=127.0.0.3",
        f"127.0.0.1:{port}",
        "1.3.6.1.4.1.2011.6.10.2",
        "127.0.0.3",
        "6",
        "1",
        "",
    )
    v3(port, "127.0.0.2")
    send(
        "snmptrap",
        "-v",
        "3",
        "-u",
        "md5-des",
        "-l",
        "authPriv",
        "-a",
        "MD5",
        "-A",
        AUTH,
        "-x",
        "DES",
        "-X",
        PRIV,
        "-e",
        "0x8000000001020304aa",
        "--clientaddr=127.0.0.3",
        f"127.0.0.1:{port}",
        "",
        "1.3.6.1.4.1.9.9.43.2.0.1",
    )
    events = wait_for(lambda: len(store.events()) >= 5 and store.events(), "five trap events")
    by_kind = {(e.kind, e.subject_id): e for e in events}
    down = by_kind[("trap.link_down", "sw-a/2")]
    assert down.subject_type == "interface"
    assert down.to_state == "down"
    assert "Gi0/2" in down.message
    assert down.message.startswith("sw-a Gi0/2: mất kết nối")
    itf = store.interface()
    assert (itf.oper_status, itf.admin_status) == ("down", "up")
    assert itf.last_change_at is not None
    assert abs(itf.last_change_at.timestamp() - time.time()) < 10
    # a v1 enterprise trap nobody maps is kept raw, with its trap OID in SNMPv2 form (enterprise.0.specific)
    raw = by_kind[("trap.raw", "sw-b")]
    assert raw.data is not None
    assert raw.data["trap_oid"] == "1.3.6.1.4.1.2011.0.1"
    assert raw.data["varbinds"] == [["1.3.6.1.4.1.2011.6.10.1.1", "Huawei cfg"]]
    # Huawei's hwCfgManEventlog as a v1 trap and Cisco's ciscoConfigManEvent over v3 MD5/DES
    changed = [e for e in events if e.kind == "device.config_changed"]
    assert sorted(e.data["version"] for e in changed if e.data) == ["1", "3"]
    cold = by_kind[("trap.cold_start", "sw-a")]
    assert cold.data is not None
    assert cold.data["user"] == "trapper"
    assert cold.data["version"] == "3"
    assert service.received["accepted"] == 5


def test_bad_traps_are_counted_by_reason_and_a_good_one_still_gets_through(
    receiver: tuple[TrapService, Store],
) -> None:
    service, store = receiver
    port = service.address[1]
    v2c(port, "127.0.0.2", COLD_START, community="public")
    v3(port, "127.0.0.2", user="nobody")
    v3(port, "127.0.0.2", auth="wrong-auth-pass")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        for garbage in (b"\x30\x82\xff\xff\x02\x01", b"\x00" * 40, os.urandom(300), b"\x30\x03\x02\x01\x09"):
            raw.sendto(garbage, ("127.0.0.1", port))
    v2c(port, "127.0.0.2", COLD_START)
    wait_for(lambda: store.events("trap.cold_start"), "the good trap after the bad ones")
    wait_for(lambda: sum(service.received.values()) >= 8, "every datagram counted")
    assert service.received["bad_community"] == 1
    assert service.received["unknown_user"] == 1
    assert service.received["wrong_digest"] == 1
    assert service.received["malformed"] == 4
    assert service.received["accepted"] == 1


def test_an_inform_is_answered(receiver: tuple[TrapService, Store]) -> None:
    service, store = receiver
    done = send(
        "snmpinform",
        "-v",
        "2c",
        "-c",
        COMMUNITY,
        "-r",
        "0",
        "-t",
        "3",
        "--clientaddr=127.0.0.3",
        f"127.0.0.1:{service.address[1]}",
        "",
        COLD_START,
    )
    assert done.returncode == 0
    assert service.informs_answered == 1
    wait_for(lambda: store.events("trap.cold_start"), "the inform stored")
    # a wrong community gets no answer: snmpinform times out
    refused = send(
        "snmpinform",
        "-v",
        "2c",
        "-c",
        "guess",
        "-r",
        "0",
        "-t",
        "1",
        f"127.0.0.1:{service.address[1]}",
        "",
        COLD_START,
        expect_ok=False,
    )
    assert refused.returncode != 0


def test_a_storm_is_rate_limited_and_another_device_still_gets_through(
    receiver: tuple[TrapService, Store],
) -> None:
    service, store = receiver
    port = service.address[1]
    datagram = _storm_datagram()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.2", 0))
        for _ in range(300):
            sock.sendto(datagram, ("127.0.0.1", port))
    v2c(port, "127.0.0.3", COLD_START)
    wait_for(lambda: store.events("trap.cold_start"), "sw-b's trap during sw-a's storm")
    storm = wait_for(lambda: store.events("trap.storm"), "the storm's summary")
    assert len(storm) == 1
    assert storm[0].subject_id == "sw-a"
    stored = [e for e in store.events("trap.raw") if e.subject_id == "sw-a"]
    assert storm[0].data is not None
    assert storm[0].data["suppressed"] == service.received["rate_limited"] == 300 - len(stored)
    assert 20 <= len(stored) < 60  # the burst and what the rate refilled meanwhile


def _storm_datagram() -> bytes:
    from canhgac_agent.snmp import ber

    varbinds = ber.encode_varbinds(
        [
            ((1, 3, 6, 1, 2, 1, 1, 3, 0), 0x43, 1234),
            ((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), 0x06, (1, 3, 6, 1, 4, 1, 99, 0, 1)),
        ]
    )
    return ber.encode_message(1, COMMUNITY.encode(), ber.encode_pdu(ber.TRAP_V2, 7, 0, 0, varbinds))
