"""Devices in the state store, on SQLite and a real PostgreSQL: the migration, config sync, encrypted
secrets, and poll results (state events, interfaces, neighbours, MAC/ARP locations)."""

from __future__ import annotations

import datetime as dt
import logging
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from canhgac_agent.snmp.results import (
    ArpEntry as PolledArp,
)
from canhgac_agent.snmp.results import (
    DevicePoll,
    FdbEntry,
    InterfaceSample,
    Neighbor,
    SystemInfo,
)
from canhgac_collector.config import ServerConfig
from canhgac_collector.devices.store import (
    device_fields,
    load_device_targets,
    make_device_sink,
    new_device,
    prune_locations,
    record_poll,
    sync_config_devices,
)
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import (
    ArpEntry,
    Device,
    DeviceInterface,
    DeviceNeighbor,
    Event,
    MacLocation,
)
from canhgac_collector.store.secrets import SecretBox, SecretsError, default_key_path
from canhgac_collector.store.sites import sync_sites
from tests.conftest import site_tree

COMMUNITY = "c0mmunity-s3cret"
AUTH_KEY = "auth-pass-phrase-42"
PRIV_KEY = "priv-pass-phrase-43"


def devices_config(db_url: str, key_file: Path, *names: str, **extra: Any) -> ServerConfig:
    devices: list[dict[str, Any]] = []
    for name in names:
        devices.append(
            {
                "name": name,
                "address": "127.0.0.1",
                "port": 16100,
                "site": "XA-A",
                "snmp": {"version": "2c", "community": COMMUNITY},
            }
        )
    devices.append(
        {
            "name": "core-v3",
            "address": "127.0.0.2",
            "site": "P",
            "role": "core",
            "timeout_s": 5,
            "snmp": {
                "version": "3",
                "v3": {
                    "user": "nms",
                    "auth_protocol": "sha256",
                    "auth_key": AUTH_KEY,
                    "priv_protocol": "aes128",
                    "priv_key": PRIV_KEY,
                },
            },
        }
    )
    return ServerConfig(
        database_url=db_url,
        sites=site_tree(),
        devices=devices,
        snmp={"secrets_key_file": str(key_file), **extra},
    )


def store(cfg: ServerConfig) -> sessionmaker[Session]:
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_sites(session, resolve_tree(cfg))
    return sessions


def poll(name: str, state: str = "up", at: float | None = None, **kw: Any) -> DevicePoll:
    return DevicePoll(device=name, started_at=at or time.time(), duration_s=0.25, state=state, **kw)  # type: ignore[arg-type]


def ports(n: int, in_bps: float = 1e6) -> list[InterfaceSample]:
    return [
        InterfaceSample(
            ifIndex=i,
            ifName=f"Gi0/{i}",
            ifDescr=f"GigabitEthernet0/{i}",
            ifType=6,
            ifHighSpeed=1000,
            ifSpeed=1_000_000_000,
            ifAdminStatus="up",
            ifOperStatus="up" if i % 5 else "down",
            counters={"ifHCInOctets": i * 1000, "ifInErrors": 0},
            in_bps=in_bps,
            out_bps=in_bps / 2,
            utilisation=in_bps / 1e9,
        )
        for i in range(1, n + 1)
    ]


def test_cli_db_upgrade_creates_the_device_tables(tmp_path: Path, db_url: str) -> None:
    cfg = tmp_path / "server.yaml"
    cfg.write_text(yaml.safe_dump({"database_url": db_url, "sites": site_tree()}), encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", "db", "upgrade", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    tables = set(inspect(make_engine(db_url)).get_table_names())
    assert {"devices", "device_interfaces", "device_neighbors", "mac_locations", "arp_entries"} <= tables
    indexes = {i["name"] for i in inspect(make_engine(db_url)).get_indexes("mac_locations")}
    assert "ix_mac_locations_mac" in indexes  # locate by MAC
    assert "ix_arp_entries_ip" in {i["name"] for i in inspect(make_engine(db_url)).get_indexes("arp_entries")}


def test_secrets_are_encrypted_at_rest_and_decrypt_for_the_poller(tmp_path: Path, db_url: str) -> None:
    key_file = tmp_path / "keys" / "secrets.key"
    cfg = devices_config(db_url, key_file, "sw-a1")
    sessions = store(cfg)
    box = SecretBox.for_config(cfg)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, box)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with sessions() as session:
        raw = session.execute(text("SELECT snmp_secret_enc FROM devices")).scalars().all()
    for blob in raw:
        for secret in (COMMUNITY, AUTH_KEY, PRIV_KEY, "nms"):
            assert secret.encode() not in bytes(blob)
    with sessions() as session:
        targets = {t.name: t for t in load_device_targets(session, box, cfg.snmp)}
    sw = targets["sw-a1"]
    assert sw.credentials.version == "2c"
    assert sw.credentials.community == COMMUNITY.encode()
    assert (sw.target.host, sw.target.port, sw.target.timeout_s, sw.site) == ("127.0.0.1", 16100, 2.0, "XA-A")
    core = targets["core-v3"].credentials
    assert (core.user, core.auth_protocol, core.auth_key) == (b"nms", "sha256", AUTH_KEY.encode())
    assert (core.priv_protocol, core.priv_key) == ("aes128", PRIV_KEY.encode())
    assert targets["core-v3"].target.timeout_s == 5
    assert COMMUNITY not in repr(sw)
    assert AUTH_KEY not in repr(targets["core-v3"])


def test_a_replaced_key_is_a_clear_error_and_never_a_silent_poll(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "secrets.key"
    cfg = devices_config(db_url, key_file, "sw-a1")
    sessions = store(cfg)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, SecretBox(key_file))
    other = SecretBox(tmp_path / "other.key")
    with sessions() as session, caplog.at_level(logging.ERROR):
        assert load_device_targets(session, other, cfg.snmp) == []
        device = session.scalars(select(Device).where(Device.name == "sw-a1")).one()
        with pytest.raises(SecretsError, match=r"other\.key"):
            other.credentials(device.snmp_secret_enc)
    assert "sw-a1" in caplog.text
    assert COMMUNITY not in caplog.text

    (tmp_path / "garbage.key").write_text("not a key")
    with pytest.raises(SecretsError, match=r"garbage\.key"):
        SecretBox(tmp_path / "garbage.key").encrypt({"x": 1})
    unreadable = tmp_path / "dir.key"
    unreadable.mkdir()
    with pytest.raises(SecretsError, match="cannot read"):
        SecretBox(unreadable).encrypt({"x": 1})


def test_default_key_path_sits_beside_the_sqlite_database(tmp_path: Path) -> None:
    cfg = ServerConfig(database_url=f"sqlite:///{tmp_path / 'state.sqlite'}")
    assert default_key_path(cfg) == tmp_path / "state.sqlite.secrets.key"
    explicit = ServerConfig(snmp={"secrets_key_file": str(tmp_path / "k")})
    assert default_key_path(explicit) == tmp_path / "k"


def test_config_sync_adds_updates_removes_and_leaves_api_devices_alone(tmp_path: Path, db_url: str) -> None:
    key_file = tmp_path / "secrets.key"
    cfg = devices_config(db_url, key_file, "sw-a1", "sw-a2")
    sessions = store(cfg)
    box = SecretBox(key_file)
    with sessions.begin() as session:
        assert sync_config_devices(session, cfg, box) == {"added": 3, "updated": 0, "removed": 0}
        site_id = session.scalars(select(Device.site_id).where(Device.name == "sw-a1")).one()
        api_cfg = cfg.devices[0].model_copy(update={"name": "sw-api"})
        session.add(new_device("sw-api", device_fields(api_cfg, site_id, box), "api"))
    with sessions.begin() as session:  # unchanged config: nothing rewritten
        assert sync_config_devices(session, cfg, box) == {"added": 0, "updated": 0, "removed": 0}

    changed = devices_config(db_url, key_file, "sw-a1")
    changed.devices[0].address = "127.0.0.9"
    with sessions.begin() as session:
        assert sync_config_devices(session, changed, box) == {"added": 0, "updated": 1, "removed": 1}
    with sessions() as session:
        rows = {d.name: d for d in session.scalars(select(Device))}
        kinds = [e.kind for e in session.scalars(select(Event).where(Event.subject_type == "device"))]
    assert set(rows) == {"sw-a1", "core-v3", "sw-api"}
    assert rows["sw-a1"].address == "127.0.0.9"
    assert rows["sw-api"].source == "api"
    assert rows["core-v3"].source == "config"
    assert kinds.count("device.added") == 3
    assert kinds.count("device.removed") == 1


def test_record_poll_keeps_state_events_interfaces_neighbours_and_locations(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "secrets.key"
    cfg = devices_config(db_url, key_file, "sw-a1")
    sessions = store(cfg)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, SecretBox(key_file))
    sink = make_device_sink(sessions)
    t0 = time.time() - 300
    sink(
        poll(
            "sw-a1",
            at=t0,
            system=SystemInfo(
                sysDescr="Cisco IOS",
                sysObjectID="1.3.6.1.4.1.9.1.1",
                sysName="sw-a1.xa-a",
                sysUpTime=12345,
                vendor="cisco",
            ),
            interfaces=ports(4),
            neighbors=[Neighbor("lldp", 4, "Gi0/4", "dist-d1", "Gi1/0/7", "00:11:22:33:44:55", "10.0.0.1")],
            fdb=[
                FdbEntry("AA:BB:CC:00:00:01", 10, 1, 1, "learned"),
                FdbEntry("aa:bb:cc:00:00:02", None, 2, 2, "learned"),
                FdbEntry("aa:bb:cc:00:00:ff", 1, None, None, "self"),
            ],
            arp=[PolledArp("10.1.0.11", "aa:bb:cc:00:00:01", 100)],
        )
    )
    with sessions() as session:
        device = session.scalars(select(Device).where(Device.name == "sw-a1")).one()
        assert (device.state, device.vendor, device.sys_name, device.sys_uptime) == (
            "up",
            "cisco",
            "sw-a1.xa-a",
            12345,
        )
        assert device.last_ok_at is not None
        assert abs(device.last_ok_at.timestamp() - t0 - 0.25) < 1
        ifs = session.scalars(select(DeviceInterface).order_by(DeviceInterface.if_index)).all()
        assert [i.if_name for i in ifs] == ["Gi0/1", "Gi0/2", "Gi0/3", "Gi0/4"]
        assert ifs[0].speed_bps == 1_000_000_000
        assert ifs[0].in_bps == 1e6
        assert ifs[0].counters == {"ifHCInOctets": 1000, "ifInErrors": 0}
        macs = {(m.mac, m.vlan): m for m in session.scalars(select(MacLocation))}
        assert set(macs) == {("aa:bb:cc:00:00:01", 10), ("aa:bb:cc:00:00:02", 0)}  # self MAC left out
        assert macs[("aa:bb:cc:00:00:01", 10)].port_name == "Gi0/1"
        first_seen = macs[("aa:bb:cc:00:00:01", 10)].first_seen

    # Next poll: the host moved ports, a port vanished, a neighbour changed.
    sink(
        poll(
            "sw-a1",
            at=t0 + 60,
            interfaces=ports(3, in_bps=5e8),
            neighbors=[Neighbor("cdp", 3, "Gi0/3", "dist-d2", "Gi1/0/1")],
            fdb=[FdbEntry("aa:bb:cc:00:00:01", 10, 3, 3, "learned")],
            arp=[PolledArp("10.1.0.11", "aa:bb:cc:00:00:01", 100)],
        )
    )
    with sessions() as session:
        assert sorted(session.scalars(select(DeviceInterface.if_index)).all()) == [1, 2, 3]
        assert (
            session.scalars(select(DeviceInterface.utilisation).where(DeviceInterface.if_index == 1)).one()
            == 0.5
        )
        assert [(n.remote_name, n.protocol) for n in session.scalars(select(DeviceNeighbor))] == [
            ("dist-d2", "cdp")
        ]
        moved = session.scalars(select(MacLocation).where(MacLocation.vlan == 10)).one()
        assert (moved.if_index, moved.port_name, moved.first_seen) == (3, "Gi0/3", first_seen)
        assert moved.last_seen > first_seen
        arp = session.scalars(select(ArpEntry)).one()
        assert arp.first_seen < arp.last_seen

    # A timeout: state changes with an event, and what the poll did not see is kept.
    sink(
        poll(
            "sw-a1",
            "down",
            at=t0 + 120,
            reason="timeout",
            detail="no answer from 127.0.0.1:16100 after 2 tries",
        )
    )
    sink(poll("sw-a1", "error", at=t0 + 180, reason="auth_failure", detail="wrong community"))
    sink(poll("sw-a1", "error", at=t0 + 240, reason="auth_failure", detail="wrong community"))
    with sessions() as session:
        device = session.scalars(select(Device).where(Device.name == "sw-a1")).one()
        assert (device.state, device.state_reason, device.state_detail) == (
            "error",
            "auth_failure",
            "wrong community",
        )
        assert device.sys_name == "sw-a1.xa-a"
        assert session.scalars(select(DeviceNeighbor)).all()
        assert len(session.scalars(select(DeviceInterface)).all()) == 3
        events = session.scalars(select(Event).where(Event.kind == "device.state").order_by(Event.id)).all()
    assert [(e.from_state, e.to_state) for e in events] == [
        ("unknown", "up"),
        ("up", "down"),
        ("down", "error"),
    ]
    assert events[1].data == {"reason": "timeout", "detail": "no answer from 127.0.0.1:16100 after 2 tries"}
    assert "timeout" in events[1].message
    assert events[1].site_id is not None

    with sessions.begin() as session:
        assert prune_locations(session, dt.datetime.now(dt.UTC)) == 3  # 2 MACs + 1 ARP row
    with sessions() as session:
        assert not session.scalars(select(MacLocation)).all()


def test_a_poll_for_an_unknown_device_is_dropped(tmp_path: Path, db_url: str) -> None:
    cfg = devices_config(db_url, tmp_path / "k", "sw-a1")
    sessions = store(cfg)
    with sessions.begin() as session:
        assert record_poll(session, poll("ghost")) is False


def test_a_fleet_poll_in_batches_stores_every_row_and_updates_in_place(tmp_path: Path, db_url: str) -> None:
    """One cycle of 40 48-port switches (interfaces, 2 neighbours, 40 MACs, 40 ARP each) persisted in
    batches, as the poller's writer does, twice: inserts, then the steady state (updates, no new rows).
    Its speed at province scale is bench/device_store.py's job."""
    names = [f"sw-{i:04d}" for i in range(40)]
    cfg = devices_config(db_url, tmp_path / "k", *names)
    sessions = store(cfg)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, SecretBox(tmp_path / "k"))
    sink = make_device_sink(sessions)

    def cycle(at: float) -> list[DevicePoll]:
        return [
            poll(
                name,
                at=at,
                interfaces=ports(48),
                neighbors=[
                    Neighbor("lldp", 48, "Gi0/48", "dist", "Gi1/0/1"),
                    Neighbor("lldp", 47, None, "x", None),
                ],
                fdb=[
                    FdbEntry(f"02:00:00:{d:02x}:{m // 256:02x}:{m % 256:02x}", 10, m, m, "learned")
                    for d, m in ((n % 256, k + 1) for k in range(40))
                ],
                arp=[
                    PolledArp(f"10.{n // 250}.{n % 250}.{k}", f"02:00:00:00:00:{k:02x}", 1) for k in range(40)
                ],
            )
            for n, name in enumerate(names)
        ]

    for round_ in range(2):
        polls = cycle(time.time() - 60 + round_ * 60)
        for i in range(0, len(polls), 15):
            assert sink.write_many(polls[i : i + 15]) == len(polls[i : i + 15])
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(DeviceInterface)) == 40 * 48
            assert session.scalar(select(func.count()).select_from(DeviceNeighbor)) == 40 * 2
            assert session.scalar(select(func.count()).select_from(MacLocation)) == 40 * 40
            assert session.scalar(select(func.count()).select_from(ArpEntry)) == 40 * 40
            polled = select(Device.state).where(Device.name.in_(names))
            assert set(session.scalars(polled).all()) == {"up"}


def test_a_batch_keeps_order_and_a_failed_module_keeps_its_old_rows(tmp_path: Path, db_url: str) -> None:
    cfg = devices_config(db_url, tmp_path / "k", "sw-a1")
    sessions = store(cfg)
    with sessions.begin() as session:
        sync_config_devices(session, cfg, SecretBox(tmp_path / "k"))
    sink = make_device_sink(sessions)
    t0 = time.time() - 100
    # The same device twice in one batch: both state changes recorded, in order.
    sink.write_many(
        [
            poll(
                "sw-a1", at=t0, interfaces=ports(4), neighbors=[Neighbor("lldp", 4, "Gi0/4", "dist", "Gi0/1")]
            ),
            poll("sw-a1", "down", at=t0 + 10, reason="timeout"),
        ]
    )
    # Interface and LLDP walks failed this time: their rows stay, FDB ports are named from the stored ones.
    sink(
        poll(
            "sw-a1",
            at=t0 + 20,
            module_errors={"interfaces": "bad_walk: non-increasing OID", "lldp": "timeout"},
            fdb=[FdbEntry("aa:bb:cc:00:00:07", 1, 2, 2, "learned")],
        )
    )
    with sessions() as session:
        events = session.scalars(select(Event).where(Event.kind == "device.state").order_by(Event.id)).all()
        assert [(e.from_state, e.to_state) for e in events] == [
            ("unknown", "up"),
            ("up", "down"),
            ("down", "up"),
        ]
        assert len(session.scalars(select(DeviceInterface)).all()) == 4
        assert session.scalars(select(DeviceNeighbor.remote_name)).all() == ["dist"]
        assert session.scalars(select(MacLocation.port_name)).one() == "Gi0/2"
        device = session.scalars(select(Device).where(Device.name == "sw-a1")).one()
        assert device.module_errors == {"interfaces": "bad_walk: non-increasing OID", "lldp": "timeout"}
