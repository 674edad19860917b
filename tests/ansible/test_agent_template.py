"""The canhgac_agent role's agent.toml, rendered by Ansible itself from the role's defaults plus an
inventory's variables, is accepted by the agent's own config loader: with the LAN sensor off (the
default: no `[lan]` table) and on (every `canhgac_agent_lan_*` variable lands in `[lan]`); LAN variables
the agent would refuse stop the role before it installs anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from canhgac_agent.config import LanConfig, load_config
from tests.ansible.test_agent_role import ANSIBLE_DIR, tool

ROLE = ANSIBLE_DIR / "roles" / "canhgac_agent"
ENV = {
    **os.environ,
    "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",  # as tests/ansible/test_agent_role.py
}


def render(tmp_path: Path, variables: dict[str, Any]) -> Path:
    """`ansible.builtin.template` of the role's agent.toml.j2 on localhost, as linux.yml runs it."""
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(variables))
    dest = tmp_path / "agent.toml"
    result = subprocess.run(
        [tool("ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.template",
         "-a", f"src={ROLE / 'templates' / 'agent.toml.j2'} dest={dest}",
         "-e", f"@{ROLE / 'defaults' / 'main.yml'}", "-e", f"@{tmp_path / 'vars.yml'}",
         "-e", f"canhgac_agent_state_path={tmp_path / 'state'}",
         "-e", f"canhgac_agent_ca_path={tmp_path / 'ca.pem'}"],
        cwd=ANSIBLE_DIR, env=ENV, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return dest


SERVER = {"canhgac_agent_server_url": "https://canhgac.example.gov.vn"}


def test_default_agent_toml_has_no_lan_table_and_loads_with_the_sensor_off(tmp_path: Path) -> None:
    path = render(tmp_path, SERVER)
    assert "[lan]" not in path.read_text()
    config = load_config(path, env={})
    assert config.server_url == "https://canhgac.example.gov.vn"
    assert config.lan == LanConfig()
    assert not config.lan.enabled


def test_lan_variables_render_a_lan_table_the_agent_accepts(tmp_path: Path) -> None:
    lan = {
        "canhgac_agent_lan_enabled": True,
        "canhgac_agent_lan_interfaces": ["enp1s0", "eno1.20"],
        "canhgac_agent_lan_approved_dhcp_servers": ["10.20.1.1"],
        "canhgac_agent_lan_gateways": ["10.20.1.1", "10.20.2.1"],
        "canhgac_agent_lan_approved_macs": ["00:1b:a9:12:34:56"],
        "canhgac_agent_lan_subnets": ["10.20.1.0/24"],
        "canhgac_agent_lan_sweep_interval_s": 3600,
    }
    config = load_config(render(tmp_path, {**SERVER, **lan}), env={})
    assert config.lan.enabled
    assert config.lan.interfaces == ("enp1s0", "eno1.20")
    assert config.lan.approved_dhcp_servers == ("10.20.1.1",)
    assert config.lan.gateways == ("10.20.1.1", "10.20.2.1")
    assert config.lan.approved_macs == ("00:1b:a9:12:34:56",)
    assert config.lan.subnets == ("10.20.1.0/24",)
    assert config.lan.sweep_interval_s == 3600
    assert config.lan.hold_s == LanConfig().hold_s  # what the role does not set keeps the agent's default


def test_lan_sensor_without_interfaces_stops_the_role_before_it_installs_anything(tmp_path: Path) -> None:
    wheel = tmp_path / "canhgac-0.0.0-py3-none-any.whl"
    wheel.write_bytes(b"")  # the role's first check wants a file; nothing gets that far
    playbook = tmp_path / "play.yml"
    play = {
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": True,
        "roles": [{"role": str(ROLE)}],
        "vars": {
            **SERVER,
            "canhgac_agent_wheel": str(wheel),
            "canhgac_agent_prefix": str(tmp_path / "opt"),
            "canhgac_agent_lan_enabled": True,
        },
    }
    playbook.write_text(yaml.safe_dump([play]))
    result = subprocess.run(
        [tool("ansible-playbook"), "-i", "localhost,", str(playbook)],
        cwd=ANSIBLE_DIR, env=ENV, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "canhgac_agent_lan_interfaces" in output
    assert "Check the LAN sensor's variables" in output
    assert not (tmp_path / "opt").exists()


def test_snmp_variables_render_an_snmp_table_the_agent_accepts(tmp_path: Path) -> None:
    devices = [
        {"name": "xa-sw1", "address": "10.20.1.2", "version": "2c", "community": "cong-dong"},
        {"name": "xa-sw2", "address": "10.20.1.3:1161", "version": 3, "user": "canhgac",
         "auth_protocol": "sha256", "auth_key": "auth-pass-xa", "priv_protocol": "none"},
    ]  # fmt: skip
    snmp = {"canhgac_agent_snmp_enabled": True, "canhgac_agent_snmp_devices": devices}
    config = load_config(render(tmp_path, {**SERVER, **snmp}), env={})
    assert config.snmp.enabled
    assert config.snmp.interval_s == 60
    assert [(d.name, d.address, d.version) for d in config.snmp.devices] == [
        ("xa-sw1", "10.20.1.2", "2c"),
        ("xa-sw2", "10.20.1.3:1161", "3"),
    ]
    assert config.snmp.devices[1].auth_protocol == "sha256"
    (tmp_path / "off").mkdir()
    assert "[snmp]" not in render(tmp_path / "off", SERVER).read_text()


def test_the_role_installs_the_extras_of_the_roles_switched_on(tmp_path: Path) -> None:
    def extras(variables: dict[str, Any]) -> str:
        (tmp_path / "vars.yml").write_text(yaml.safe_dump(variables))
        result = subprocess.run(
            [tool("ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.debug",
             "-a", "msg=extras={{ canhgac_agent_extras }}",
             "-e", f"@{ROLE / 'defaults' / 'main.yml'}", "-e", f"@{tmp_path / 'vars.yml'}"],
            cwd=ANSIBLE_DIR, env=ENV, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout.split("extras=")[1].split('"')[0]

    assert extras({}) == ""
    assert extras({"canhgac_agent_snmp_enabled": True}) == "[edge]"
    assert extras({"canhgac_agent_snmp_enabled": True, "canhgac_agent_lan_enabled": True}) == "[lan,edge]"
