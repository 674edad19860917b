"""The SSH device simulator as a plain SSH client (paramiko) sees it: vendor prompts, enable with its
secret, the pager until the terminal-length command, login refused, a new host key on the same port."""

from __future__ import annotations

import time
from collections.abc import Iterator

import paramiko
import pytest

from canhgac_collector.devices.configs.target import PLATFORMS
from canhgac_collector.lab.sshconfigs import sample_config
from canhgac_collector.lab.sshdevice import SimDevice, SshDeviceLab

PROMPTS = {
    "cisco_ios": "sw1>",
    "cisco_xe": "sw1>",
    "ruijie_os": "sw1>",
    "tplink_jetstream": "sw1>",
    "huawei": "<sw1>",
    "hp_comware": "<sw1>",
    "juniper_junos": "netadmin@sw1> ",
    "mikrotik_routeros": "[netadmin@sw1] > ",
}


@pytest.fixture(scope="module")
def lab() -> Iterator[SshDeviceLab]:
    with SshDeviceLab() as running:
        yield running


class Shell:
    """An interactive shell as a terminal user has it (no netmiko)."""

    def __init__(self, lab: SshDeviceLab, name: str, password: str = "lab-pass") -> None:  # noqa: S107 - the lab device's login
        host, port = lab.endpoint(name)
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect(
            host,
            port,
            username="netadmin",
            password=password,
            look_for_keys=False,
            allow_agent=False,
            timeout=5,
        )
        self.channel = self.client.invoke_shell()
        self.channel.settimeout(5)

    def read_until(self, end: str, limit_s: float = 5) -> str:
        data = b""
        deadline = time.monotonic() + limit_s
        while not data.decode(errors="replace").endswith(end):
            assert time.monotonic() < deadline, f"no {end!r} after {data[-200:]!r}"
            data += self.channel.recv(65536)
        return data.decode()

    def send(self, text: str) -> None:
        self.channel.send(text.encode())

    def close(self) -> None:
        self.client.close()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_login_lands_at_the_vendor_prompt(lab: SshDeviceLab, platform: str) -> None:
    name = f"p-{platform}"
    lab.add(SimDevice(name, platform, "x\n"))
    shell = Shell(lab, name)
    try:
        assert shell.read_until(PROMPTS[platform].replace("sw1", name)).endswith(
            PROMPTS[platform].replace("sw1", name)
        )
    finally:
        shell.close()


def test_cisco_enable_pager_and_terminal_length(lab: SshDeviceLab) -> None:
    config = sample_config("cisco_ios", "sw-cisco", 60)
    lab.add(SimDevice("sw-cisco", "cisco_ios", config, enable_secret="s3cret", page_lines=24))
    shell = Shell(lab, "sw-cisco")
    try:
        shell.read_until("sw-cisco>")
        shell.send("show running-config\n")
        assert "% Invalid input" in shell.read_until("sw-cisco>")  # not in user mode
        shell.send("enable\n")
        shell.read_until("Password: ")
        shell.send("wrong\n")
        assert "% Access denied" in shell.read_until("sw-cisco>")
        shell.send("enable\n")
        shell.read_until("Password: ")
        shell.send("s3cret\n")
        assert "s3cret" not in shell.read_until("sw-cisco#")  # the secret is not echoed
        shell.send("show running-config\n")
        first_page = shell.read_until(" --More-- ")
        assert first_page.startswith("show running-config\r\n")  # the command is echoed
        assert first_page.count("\r\n") == 25  # echo + 24 lines
        shell.send(" ")
        shell.read_until(" --More-- ")
        shell.send("q")
        shell.read_until("sw-cisco#")
        shell.send("terminal length 0\n")
        shell.read_until("sw-cisco#")
        shell.send("show running-config\n")
        whole = shell.read_until("sw-cisco#")
        assert "--More--" not in whole
        assert whole == "show running-config\r\n" + config.replace("\n", "\r\n") + "sw-cisco#"
    finally:
        shell.close()


def test_wrong_password_is_refused_by_ssh(lab: SshDeviceLab) -> None:
    lab.add(SimDevice("sw-auth", "huawei", "x\n"))
    with pytest.raises(paramiko.AuthenticationException):
        Shell(lab, "sw-auth", password="nope")
    assert lab.auth_attempts("sw-auth") >= 1


def test_rotated_host_key_on_the_same_port(lab: SshDeviceLab) -> None:
    lab.add(SimDevice("sw-key", "juniper_junos", "set system host-name sw-key\n"))
    port = lab.endpoint("sw-key")[1]
    before = lab.host_key("sw-key")
    shell = Shell(lab, "sw-key")
    seen = shell.client.get_transport().get_remote_server_key()
    shell.close()
    assert f"{seen.get_name()} {seen.get_base64()}" == before
    after = lab.rotate_host_key("sw-key")
    assert after != before
    assert lab.endpoint("sw-key")[1] == port
    shell = Shell(lab, "sw-key")
    seen = shell.client.get_transport().get_remote_server_key()
    shell.close()
    assert f"{seen.get_name()} {seen.get_base64()}" == after


def test_sample_configs_have_the_lines_asked_for() -> None:
    for platform in PLATFORMS:
        text = sample_config(platform, "sw-x", 1500)
        assert text.count("\n") == 1500
        assert text.endswith("\n")
        assert "sw-x" in text
