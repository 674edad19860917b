"""`canhgac backup list|history|show|diff|approve|accept-host-key` as an administrator runs them on the
server, on a real (SQLite) store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml
from click.testing import Result
from typer.testing import CliRunner

from canhgac_collector.cli import app
from canhgac_collector.config import load_config
from canhgac_collector.devices.configs.history import record_pull
from canhgac_collector.devices.configs.target import PullError, PullResult
from canhgac_collector.store.models import Device
from tests.collector.devices.configs.conftest import device_entries, open_store
from tests.collector.devices.configs.samples import CISCO_V1, CISCO_V2
from tests.conftest import site_tree

T0 = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"


def canhgac(*args: str) -> Result:
    """One `canhgac` command, in this process (the CLI's own subprocess tests cover start-up)."""
    return CliRunner().invoke(app, list(args))


def test_backup_commands(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{tmp_path / 'canhgac.sqlite'}",
                "sites": site_tree(),
                "devices": device_entries(),
                "snmp": {"secrets_key_file": str(tmp_path / "secrets.key")},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    store, engine = open_store(load_config(path), tmp_path / "secrets.key")
    sw = store.device_id("sw-a1")
    with store.sessions.begin() as session:
        record_pull(session, sw, PullResult(CISCO_V1, KEY_A, 0.4), T0)
        record_pull(session, sw, PullResult(CISCO_V2, KEY_A, 0.4), T0 + dt.timedelta(hours=1))
        record_pull(
            session, sw, PullError("host_key_changed", "host key changed", KEY_B), T0 + dt.timedelta(hours=2)
        )
    engine.dispose()
    c = str(path)

    r = canhgac("backup", "list", "--config", c, "--json")
    assert r.exit_code == 0, r.stderr
    rows = {row["device"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"sw-a1", "core-p"}  # snmp-only has no ssh block
    a1 = rows["sw-a1"]
    assert (a1["platform"], a1["status"], a1["error_kind"], a1["pending_host_key"]) == (
        "cisco_ios",
        "error",
        "host_key_changed",
        True,
    )
    assert (a1["versions"], a1["latest_version"], a1["approved_version"]) == (2, 2, None)
    assert rows["core-p"]["platform"] is None  # not configured, nothing known from SNMP: unknown
    table = canhgac("backup", "list", "--config", c, "--wide")
    assert "chưa rõ / unknown" in table.stdout

    history = json.loads(canhgac("backup", "history", "sw-a1", "--config", c, "--json").stdout)
    assert [(v["version"], v["lines_added"], v["lines_removed"]) for v in history] == [(2, 2, 2), (1, 27, 0)]

    masked = canhgac("backup", "show", "sw-a1", "--version", "1", "--config", c)
    assert masked.exit_code == 0, masked.stderr
    assert "snmp-server community ****** RO 10" in masked.stdout
    assert "Pr0v1nce" not in masked.stdout
    raw = canhgac("backup", "show", "sw-a1", "--version", "1", "--raw", "--config", c)
    assert raw.stdout == CISCO_V1  # restore-ready, byte for byte

    diff = canhgac("backup", "diff", "sw-a1", "--config", c)
    assert diff.exit_code == 0, diff.stderr
    assert diff.stdout.startswith("--- version 1\n+++ version 2\n")
    assert "+snmp-server community ****** RO 10\n" in diff.stdout
    assert "N3wC0mm" not in diff.stdout

    assert canhgac("backup", "show", "nope", "--config", c).exit_code == 4
    assert canhgac("backup", "diff", "sw-a1", "--from", "9", "--config", c).exit_code == 4
    no_comment = canhgac("backup", "approve", "sw-a1", "--version", "2", "--comment", " ", "--config", c)
    assert no_comment.exit_code == 2
    assert "comment" in no_comment.stderr
    approved = canhgac(
        "backup",
        "approve",
        "sw-a1",
        "--version",
        "2",
        "--comment",
        "Theo phiếu thay đổi 12",
        "--config",
        c,
        "--json",
    )
    assert approved.exit_code == 0, approved.stderr
    doc = json.loads(approved.stdout)
    assert (doc["version"], doc["approval_comment"]) == (2, "Theo phiếu thay đổi 12")
    assert doc["approved_by"].startswith("cli:")

    no_ssh = canhgac("backup", "pull-now", "snmp-only", "--config", c)
    assert no_ssh.exit_code == 2
    assert "no ssh: settings" in no_ssh.stderr
    requested = canhgac("backup", "pull-now", "core-p", "--config", c, "--json")
    assert requested.exit_code == 0, requested.stderr
    assert json.loads(requested.stdout)["pull_requested_at"] is not None

    accepted = canhgac("backup", "accept-host-key", "sw-a1", "--config", c, "--json")
    assert accepted.exit_code == 0, accepted.stderr
    assert json.loads(accepted.stdout) == {"device": "sw-a1", "host_key": KEY_B}
    assert canhgac("backup", "accept-host-key", "sw-a1", "--config", c).exit_code == 4

    store, engine = open_store(load_config(path), tmp_path / "secrets.key")
    with store.sessions() as session:
        device = session.get(Device, sw)
        assert device is not None
        assert (device.ssh_host_key, device.ssh_pending_host_key) == (KEY_B, None)
    engine.dispose()
