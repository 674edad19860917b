"""`canhgac` as an administrator uses it: real subprocesses, a real database, meaningful exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import select

from canhgac_collector.store.db import head_revision, make_engine, session_factory
from canhgac_collector.store.models import Event, Token
from canhgac_collector.store.tokens import hash_secret
from tests.conftest import site_tree


def canhgac(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "server.yaml"
    path.write_text(
        yaml.safe_dump({"database_url": db_url, "sites": site_tree()}, allow_unicode=True), encoding="utf-8"
    )
    return path


def test_db_upgrade_and_token_lifecycle(tmp_path: Path, db_url: str) -> None:
    cfg = str(_config(tmp_path, db_url))
    r = canhgac("db", "upgrade", "--config", cfg)
    assert r.returncode == 0, r.stderr
    assert f"→ {head_revision()}" in r.stdout
    assert "hunter" not in r.stdout

    r = canhgac(
        "token",
        "create",
        "--role",
        "officer",
        "--site",
        "XA-A",
        "--name",
        "Cán bộ xã A",
        "--json",
        "--config",
        cfg,
    )
    assert r.returncode == 0, r.stderr
    created = json.loads(r.stdout)
    assert created["token"].startswith(f"cgt_{created['id']}_")
    sessions = session_factory(make_engine(db_url))
    with sessions() as session:
        token = session.get(Token, created["id"])
        assert token is not None
        assert token.secret_sha256 == hash_secret(created["token"])  # only the hash is stored
        assert token.role == "officer"

    listed = canhgac("token", "list", "--json", "--config", cfg)
    assert listed.returncode == 0
    assert [(t["id"], t["role"], t["site"]) for t in json.loads(listed.stdout)] == [
        (created["id"], "officer", "XA-A")
    ]
    assert created["token"] not in listed.stdout  # never shown again
    assert canhgac("token", "list", "--config", cfg).returncode == 0  # the table for people

    assert canhgac("token", "revoke", created["id"], "--config", cfg).returncode == 0
    again = canhgac("token", "revoke", created["id"], "--config", cfg)
    assert again.returncode == 4
    with sessions() as session:
        kinds = session.scalars(select(Event.kind).where(Event.subject_id == created["id"])).all()
    assert sorted(kinds) == ["token.created", "token.revoked"]  # the audit trail


def test_token_create_refuses_bad_requests(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"))
    not_migrated = canhgac("token", "create", "--role", "admin", "--config", cfg)
    assert not_migrated.returncode == 2
    assert "canhgac db upgrade" in not_migrated.stderr
    assert canhgac("db", "upgrade", "--config", cfg).returncode == 0
    officer = canhgac("token", "create", "--role", "officer", "--config", cfg)
    assert officer.returncode == 2
    assert "needs --site" in officer.stderr
    unknown_site = canhgac("token", "create", "--role", "auditor", "--site", "NOWHERE", "--config", cfg)
    assert unknown_site.returncode == 2
    assert "NOWHERE" in unknown_site.stderr


def test_config_check_reports_file_and_key(tmp_path: Path) -> None:
    good = _config(tmp_path, "sqlite:///x.sqlite")
    r = canhgac("config", "check", str(good))
    assert r.returncode == 0
    assert "5 sites" in r.stdout
    assert "XA-B-MC" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen:\n  port: 99999\nsitez: []\n", encoding="utf-8")
    r = canhgac("config", "check", str(bad))
    assert r.returncode == 2
    assert str(bad) in r.stderr
    assert "listen.port" in r.stderr
    assert "sitez" in r.stderr
    missing = canhgac("config", "check", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
