"""`canhgac backup pull` as an operator runs it: a real subprocess against the SSH device simulator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from canhgac_collector.lab.sshconfigs import sample_config
from canhgac_collector.lab.sshdevice import SimDevice, SshDeviceLab

PASSWORD = "cli-pass-42"
ENABLE = "cli-enable-42"


@pytest.fixture(scope="module")
def lab() -> Iterator[SshDeviceLab]:
    with SshDeviceLab() as running:
        config = sample_config("cisco_ios", "sw-cli", 300)
        running.add(SimDevice("sw-cli", "cisco_ios", config, password=PASSWORD, enable_secret=ENABLE))
        running.add(SimDevice("sw-tp", "tplink_jetstream", sample_config("tplink_jetstream", "sw-tp", 80)))
        yield running


def canhgac(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", "backup", "pull", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200", "SW_PASS": PASSWORD, "SW_ENABLE": ENABLE, "BAD": "nope"},
    )


def address(lab: SshDeviceLab, name: str) -> str:
    host, port = lab.endpoint(name)
    return f"{host}:{port}"


def test_pull_writes_exactly_the_running_config(lab: SshDeviceLab, tmp_path: Path) -> None:
    out = tmp_path / "sw-cli.cfg"
    run = canhgac(
        address(lab, "sw-cli"), "--platform", "cisco_ios", "--username", "netadmin",
        "--password-env", "SW_PASS", "--enable-env", "SW_ENABLE", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == lab.device("sw-cli").config.encode()
    assert lab.host_key("sw-cli") in run.stderr  # the key to pin next time
    assert PASSWORD not in run.stderr + run.stdout
    assert ENABLE not in run.stderr + run.stdout


def test_pull_with_a_key_file(lab: SshDeviceLab, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(key.export_private_key())
    lab.update("sw-tp", authorized_key=key.export_public_key().decode())
    out = tmp_path / "sw-tp.cfg"
    run = canhgac(
        address(lab, "sw-tp"), "--platform", "tplink_jetstream", "--username", "netadmin",
        "--key", str(key_file), "--out", str(out), "--host-key", lab.host_key("sw-tp"),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.read_text() == lab.device("sw-tp").config


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--platform", "cisco_nxos", "--password-env", "SW_PASS"], "--platform"),
        (["--platform", "cisco_ios"], "exactly one of"),
        (["--platform", "cisco_ios", "--password-env", "UNSET_VAR_XYZ"], "UNSET_VAR_XYZ"),
    ],
)
def test_usage_errors_exit_2(lab: SshDeviceLab, tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "x.cfg"
    run = canhgac(address(lab, "sw-cli"), "--username", "netadmin", "--out", str(out), *args)
    assert run.returncode == 2
    assert needle in run.stderr
    assert not out.exists()


def test_failures_exit_with_their_code_and_one_line(lab: SshDeviceLab, tmp_path: Path) -> None:
    out = tmp_path / "x.cfg"
    common = ["--platform", "cisco_ios", "--username", "netadmin", "--out", str(out), "--timeout", "3"]
    wrong = canhgac(address(lab, "sw-cli"), *common, "--password-env", "BAD")
    assert (wrong.returncode, wrong.stderr.count("\n")) == (4, 1), wrong.stderr
    assert "[auth]" in wrong.stderr
    pinned_other = canhgac(
        address(lab, "sw-cli"), *common, "--password-env", "SW_PASS", "--enable-env", "SW_ENABLE",
        "--host-key", lab.host_key("sw-tp"),
    )  # fmt: skip
    assert (pinned_other.returncode, pinned_other.stderr.count("\n")) == (5, 1), pinned_other.stderr
    assert "[host_key_changed]" in pinned_other.stderr
    lab.power_off("sw-cli")
    try:
        off = canhgac(address(lab, "sw-cli"), *common, "--password-env", "SW_PASS")
    finally:
        lab.power_on("sw-cli")
    assert (off.returncode, off.stderr.count("\n")) == (3, 1), off.stderr
    assert not out.exists()
