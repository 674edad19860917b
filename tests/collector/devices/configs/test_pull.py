"""Config pulls with netmiko against the SSH device simulator on loopback: every platform byte-for-byte,
each failure mode as its kind, host-key pinning, and the pool's order, isolation and deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from canhgac_collector.devices.configs.pool import pull_many
from canhgac_collector.devices.configs.pull import fingerprint, pull_running_config
from canhgac_collector.devices.configs.target import PLATFORMS, PullError, PullResult, SshTarget
from canhgac_collector.lab.sshconfigs import sample_config
from canhgac_collector.lab.sshdevice import SimDevice, SshDeviceLab

ENABLE = "en-secret-1"
WITH_ENABLE_SECRET = ("cisco_ios", "cisco_xe", "ruijie_os", "tplink_jetstream")


def dev_name(platform: str) -> str:
    return "sw-" + platform.replace("_", "-")


@pytest.fixture(scope="module")
def lab() -> Iterator[SshDeviceLab]:
    with SshDeviceLab() as running:
        for platform in PLATFORMS:
            name = dev_name(platform)
            secret = ENABLE if platform in WITH_ENABLE_SECRET else None
            running.add(SimDevice(name, platform, sample_config(platform, name, 120), enable_secret=secret))
        yield running


@pytest.fixture
def fault_device(lab: SshDeviceLab, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh Cisco device of its own for a test that breaks it."""
    name = f"fault-{request.node.name}"[:60].replace("[", "-").replace("]", "")
    lab.add(SimDevice(name, "cisco_ios", sample_config("cisco_ios", name, 120), enable_secret=ENABLE))
    return name


def target(lab: SshDeviceLab, name: str, **changes: object) -> SshTarget:
    host, port = lab.endpoint(name)
    fields: dict[str, object] = {
        "name": name,
        "host": host,
        "port": port,
        "platform": lab.device(name).platform,
        "username": "netadmin",
        "password": "lab-pass",
        "enable_secret": ENABLE,
        "timeout_s": 5.0,
    }
    fields.update(changes)
    return SshTarget(**fields)  # type: ignore[arg-type]


def pull_error(t: SshTarget) -> PullError:
    with pytest.raises(PullError) as caught:
        pull_running_config(t)
    return caught.value


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_returns_exactly_the_config_it_serves(lab: SshDeviceLab, platform: str) -> None:
    name = dev_name(platform)
    result = pull_running_config(target(lab, name))
    assert result.config == lab.device(name).config  # byte-for-byte: no echo, prompt or pager
    assert result.host_key == lab.host_key(name)  # first use: the presented key is reported to pin


def test_slow_chunked_output_keeps_multibyte_characters_split_between_chunks(
    lab: SshDeviceLab, fault_device: str
) -> None:
    text = "".join(
        f"interface Gi1/0/{i}\n description Phòng Tư pháp – xã Thạch Đài {i}\n!\n" for i in range(60)
    )
    lab.update(fault_device, config=text, chunk_bytes=7, chunk_delay_s=0.0005)
    assert pull_running_config(target(lab, fault_device)).config == text


def test_set_config_is_what_the_next_pull_returns(lab: SshDeviceLab, fault_device: str) -> None:
    first = pull_running_config(target(lab, fault_device)).config
    changed = first.replace("logging host 10.10.0.5", "logging host 10.10.0.9")
    assert changed != first
    lab.set_config(fault_device, changed)
    assert pull_running_config(target(lab, fault_device)).config == changed


def test_wrong_password_is_auth(lab: SshDeviceLab) -> None:
    error = pull_error(target(lab, dev_name("huawei"), password="not-it"))
    assert error.kind == "auth"
    assert "not-it" not in str(error)


def test_wrong_or_missing_enable_secret_is_auth_and_never_shown(lab: SshDeviceLab) -> None:
    for secret in ("wrong-enable-xyz", None):
        error = pull_error(target(lab, dev_name("cisco_ios"), enable_secret=secret))
        assert error.kind == "auth"
        assert "enable" in str(error)
        assert "wrong-enable-xyz" not in str(error)
        assert ENABLE not in str(error)


def test_key_login(lab: SshDeviceLab, fault_device: str, tmp_path: object) -> None:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    lab.update(fault_device, authorized_key=key.export_public_key().decode().strip())
    text = key.export_private_key().decode()
    result = pull_running_config(target(lab, fault_device, password=None, key_text=text))
    assert result.config == lab.device(fault_device).config


def test_device_off_is_unreachable(lab: SshDeviceLab, fault_device: str) -> None:
    lab.power_off(fault_device)
    error = pull_error(target(lab, fault_device))
    assert error.kind == "unreachable"
    assert "refused" in str(error)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never speaks SSH (a hung device)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_device_that_never_speaks_ssh_is_timeout(silent_port: int) -> None:
    t = SshTarget("hung", "127.0.0.1", "cisco_ios", "netadmin", port=silent_port, password="x", timeout_s=1.0)
    started = time.monotonic()
    error = pull_error(t)
    assert error.kind == "timeout"
    assert time.monotonic() - started < 5


def test_output_slower_than_the_timeout_is_timeout(lab: SshDeviceLab, fault_device: str) -> None:
    lab.update(fault_device, chunk_bytes=200, chunk_delay_s=0.1)  # ~5 KB config: ~2.5 s
    error = pull_error(target(lab, fault_device, timeout_s=1.0))
    assert error.kind == "timeout"
    assert "not complete" in str(error)


def test_connection_dropped_mid_output_is_device_error(lab: SshDeviceLab, fault_device: str) -> None:
    lab.update(fault_device, drop_after_lines=50)
    started = time.monotonic()
    error = pull_error(target(lab, fault_device))
    assert error.kind == "device_error"
    assert "mid-output" in str(error)
    assert time.monotonic() - started < 3  # noticed at once, not after the timeout


def test_prompt_netmiko_does_not_know_is_unknown_prompt(lab: SshDeviceLab, fault_device: str) -> None:
    lab.update(fault_device, odd_prompt="Switch ready: ")
    error = pull_error(target(lab, fault_device, timeout_s=1.0))
    assert error.kind == "unknown_prompt"


@pytest.mark.parametrize("platform", ["cisco_ios", "huawei", "juniper_junos", "tplink_jetstream"])
def test_paging_that_stays_on_is_paging(lab: SshDeviceLab, platform: str) -> None:
    name = f"stuck-{platform}"
    lab.add(SimDevice(name, platform, sample_config(platform, name, 120), paging_stuck=True))
    error = pull_error(target(lab, name, enable_secret=None))
    assert error.kind == "paging"


def test_host_key_learned_then_a_changed_key_refused_before_any_credential(
    lab: SshDeviceLab, fault_device: str
) -> None:
    learned = pull_running_config(target(lab, fault_device)).host_key
    assert pull_running_config(target(lab, fault_device, pinned_host_key=learned)).config
    new_key = lab.rotate_host_key(fault_device)
    attempts = lab.auth_attempts(fault_device)
    error = pull_error(target(lab, fault_device, pinned_host_key=learned))
    assert error.kind == "host_key_changed"
    assert error.presented_host_key == new_key
    assert fingerprint(learned) in str(error)
    assert fingerprint(new_key) in str(error)
    assert lab.auth_attempts(fault_device) == attempts  # no password was offered to the new key
    accepted = pull_running_config(target(lab, fault_device, pinned_host_key=new_key))
    assert accepted.host_key == new_key


def test_bad_target_is_usage(lab: SshDeviceLab) -> None:
    assert pull_error(target(lab, dev_name("huawei"), platform="cisco_nxos")).kind == "usage"
    assert pull_error(target(lab, dev_name("huawei"), key_file="/nonexistent/key")).kind == "usage"


def test_pool_keeps_order_and_isolates_failures(lab: SshDeviceLab, fault_device: str) -> None:
    lab.power_off(fault_device)
    targets = [target(lab, dev_name(p)) for p in PLATFORMS[:4]]
    targets.insert(2, target(lab, fault_device))
    targets.append(target(lab, dev_name("juniper_junos"), password="wrong"))
    results = pull_many(targets, max_workers=3)
    assert [type(r).__name__ for r in results] == [
        "PullResult", "PullResult", "PullError", "PullResult", "PullResult", "PullError"
    ]  # fmt: skip
    for t, r in zip(targets, results, strict=True):
        if isinstance(r, PullResult):
            assert r.config == lab.device(t.name).config
    assert [r.kind for r in results if isinstance(r, PullError)] == ["unreachable", "auth"]


def test_pool_returns_by_its_deadline(lab: SshDeviceLab, silent_port: int) -> None:
    hung = SshTarget("hung", "127.0.0.1", "cisco_ios", "u", port=silent_port, password="x", timeout_s=4)
    started = time.monotonic()
    results = pull_many(
        [target(lab, dev_name("cisco_ios")), hung], max_workers=2, deadline_s=1.5
    )  # the hung one alone takes 4 s
    assert time.monotonic() - started < 3
    assert isinstance(results[0], PullResult)
    assert isinstance(results[1], PullError)
    assert results[1].kind == "timeout"
    assert "deadline" in str(results[1])
