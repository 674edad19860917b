"""`canhgac db backup` / `db restore` as an operator runs them: a real store (SQLite and PostgreSQL) with
hosts, devices whose SNMP secrets are encrypted, alerts; a backup taken while a writer keeps committing;
the database and keys wiped; the restore read back."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import threading
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from canhgac_collector.alerting.links import load_or_create_key
from canhgac_collector.config import load_config
from canhgac_collector.devices.store import sync_config_devices
from canhgac_collector.store.db import head_revision, make_engine, session_factory
from canhgac_collector.store.events import record_event
from canhgac_collector.store.models import Alert, Device, Event, Host
from canhgac_collector.store.secrets import SecretBox
from tests.collector.seed import alert, host, open_store
from tests.conftest import site_tree

DEVICES = [
    {
        "name": "sw-xa-a",
        "address": "127.0.0.1",
        "site": "XA-A",
        "snmp": {"version": "2c", "community": "cong-dong-bi-mat-xa-a"},
    },
    {
        "name": "rt-p",
        "address": "127.0.0.2",
        "site": "P",
        "snmp": {
            "version": "3",
            "v3": {"user": "canhgac", "auth_key": "khoa-xac-thuc-01", "priv_key": "khoa-ma-hoa-0001"},
        },
    },
]


def canhgac(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _write_config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "server.yaml"
    data: dict[str, Any] = {
        "database_url": db_url,
        "sites": site_tree(),
        "devices": DEVICES,
        "snmp": {"secrets_key_file": str(tmp_path / "keys" / "secrets.key")},
        "alerting": {"link_key_file": str(tmp_path / "keys" / "alerts.key")},
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _snapshot(db_url: str, box: SecretBox) -> dict[str, Any]:
    """What a user relies on after a restore: hosts, devices with usable secrets, alerts."""
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            return {
                "hosts": sorted((h.id, h.hostname, h.site_id) for h in session.scalars(select(Host))),
                "devices": sorted(
                    (d.name, d.address, box.decrypt(d.snmp_secret_enc).get("community"), d.snmp_version)
                    for d in session.scalars(select(Device))
                ),
                "v3": [
                    box.credentials(d.snmp_secret_enc).priv_key
                    for d in session.scalars(select(Device).where(Device.snmp_version == "3"))
                ],
                "alerts": sorted((a.key, a.state, a.site_id) for a in session.scalars(select(Alert))),
            }
    finally:
        engine.dispose()


def _wipe(db_url: str, tmp_path: Path) -> None:
    """The disaster: the database and both key files gone."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
    else:
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    for key in (tmp_path / "keys").glob("*.key"):
        key.unlink()


def test_backup_while_writing_then_wipe_and_restore(tmp_path: Path, db_url: str) -> None:
    config_path = _write_config(tmp_path, db_url)
    config = load_config(config_path)
    sessions, ids = open_store(config)
    box = SecretBox.for_config(config)
    with sessions.begin() as session:
        sync_config_devices(session, config, box)
        session.add_all([host(ids["XA-A"], "h-a1", "PC-XA-A-01"), host(ids["XA-B"], "h-b1", "PC-XA-B-01")])
        session.add_all(
            [alert(ids["XA-A"], "host_down", "h-a1"), alert(ids["XA-B"], "disk_usage", "h-b1", "acked")]
        )
    load_or_create_key(tmp_path / "keys" / "alerts.key")
    before = _snapshot(db_url, box)
    assert len(before["devices"]) == 2
    assert before["v3"] == [b"khoa-ma-hoa-0001"]

    # A writer commits events the whole time the backup runs (as `canhgac serve` would).
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            with sessions.begin() as session:
                record_event(session, kind="test.tick", subject_type="site", subject_id="P", message="tick")
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        dest = tmp_path / "backups" / "2026-03-02"
        done = canhgac("db", "backup", str(dest), "--config", str(config_path))
    finally:
        stop.set()
        thread.join(30)
    assert done.returncode == 0, done.stderr
    assert written[0] > 0
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["database"]["schema_revision"] == head_revision()
    roles = {f["role"]: f for f in manifest["files"]}
    assert set(roles) == {"database", "secrets_key", "alert_link_key"}
    assert (dest / "keys" / "secrets.key").stat().st_mode & 0o777 == 0o600
    with sessions() as session:
        events_at_end = session.scalar(select(func.count()).select_from(Event))

    _wipe(db_url, tmp_path)
    done = canhgac("db", "restore", str(dest), "--config", str(config_path))
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout
    assert "secrets_key restored" in done.stdout

    key = tmp_path / "keys" / "secrets.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert _snapshot(db_url, SecretBox(key)) == before
    restored = session_factory(make_engine(db_url))
    with restored() as session:  # a consistent snapshot from within the writer's run
        events = session.scalar(select(func.count()).select_from(Event))
    assert events is not None
    assert events_at_end is not None
    assert 0 < events <= events_at_end

    # A second restore onto the now non-empty store is refused without --force, allowed with it.
    again = canhgac("db", "restore", str(dest), "--config", str(config_path))
    assert again.returncode == 1
    assert "not empty" in again.stderr
    assert "--force" in again.stderr
    forced = canhgac("db", "restore", str(dest), "--force", "--config", str(config_path))
    assert forced.returncode == 0, forced.stderr
    assert _snapshot(db_url, SecretBox(key)) == before


def test_tampered_backup_is_refused_naming_the_file(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'canhgac.sqlite'}"
    config_path = _write_config(tmp_path, db_url)
    config = load_config(config_path)
    sessions, _ids = open_store(config)
    with sessions.begin() as session:
        sync_config_devices(session, config, SecretBox.for_config(config))
    archive = tmp_path / "backup.tar.gz"
    assert canhgac("db", "backup", str(archive), "--config", str(config_path)).returncode == 0
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["database.sqlite", "keys/secrets.key", "manifest.json"]
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    key = unpacked / "keys" / "secrets.key"
    data = bytearray(key.read_bytes())
    data[5] ^= 0x01  # one changed byte
    key.write_bytes(bytes(data))
    _wipe(db_url, tmp_path)

    refused = canhgac("db", "restore", str(unpacked), "--config", str(config_path))
    assert refused.returncode == 1
    assert "keys/secrets.key" in refused.stderr
    assert "sha256" in refused.stderr
    assert not Path(tmp_path / "canhgac.sqlite").exists(), "nothing may be written before the check"
    assert not (tmp_path / "keys" / "secrets.key").exists()

    # The untouched archive restores.
    done = canhgac("db", "restore", str(archive), "--config", str(config_path))
    assert done.returncode == 0, done.stderr


def test_backup_refuses_an_existing_destination(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'canhgac.sqlite'}"
    config_path = _write_config(tmp_path, db_url)
    open_store(load_config(config_path))
    dest = tmp_path / "old"
    dest.mkdir()
    (dest / "manifest.json").write_text("{}")
    done = canhgac("db", "backup", str(dest), "--config", str(config_path))
    assert done.returncode == 1
    assert "not an empty directory" in done.stderr
    assert (dest / "manifest.json").read_text() == "{}"


def test_backup_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    revision = "ffffffffffff"
    db_url = f"sqlite:///{tmp_path / 'canhgac.sqlite'}"
    config_path = _write_config(tmp_path, db_url)
    open_store(load_config(config_path))
    dest = tmp_path / "b"
    assert canhgac("db", "backup", str(dest), "--config", str(config_path)).returncode == 0
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest["database"]["schema_revision"] = revision
    (dest / "manifest.json").write_text(json.dumps(manifest))
    _wipe(db_url, tmp_path)
    done = canhgac("db", "restore", str(dest), "--config", str(config_path))
    assert done.returncode == 1
    assert revision in done.stderr
    assert "newer" in done.stderr
