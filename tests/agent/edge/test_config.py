"""`[snmp]` in agent.toml: typed, bounded, errors naming the key; secrets from files; privacy's extra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from canhgac_agent.config import ConfigError, MiB, Secret, load_config, parse_config
from canhgac_agent.edge.config import split_address

V2 = {"name": "xa-sw1", "address": "192.0.2.2", "community": "public"}
V3 = {"name": "xa-sw2", "address": "192.0.2.3", "version": "3", "user": "u", "auth_key": "auth-pass"}


def snmp(devices: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return {"snmp": {"enabled": True, "devices": devices, **options}}


def error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(data, "agent.toml", env={})
    return str(err.value)


def test_a_v2c_and_a_v3_device_load_with_the_server_defaults() -> None:
    v3 = {**V3, "priv_key": "priv-pass", "address": "[2001:db8::3]:1161"}
    config = parse_config(snmp([V2, v3], interval_s=30), "agent.toml", env={})
    assert config.snmp.enabled
    assert config.snmp.interval_s == 30
    first, second = config.snmp.devices
    assert (first.version, first.community) == ("2c", Secret("public"))
    assert (second.auth_protocol, second.priv_protocol) == ("sha", "aes128")
    assert split_address(second.address) == ("2001:db8::3", 1161)
    assert split_address("sw1.xa.local") == ("sw1.xa.local", 161)
    assert split_address("fe80::1") == ("fe80::1", 161)
    assert config.spool.max_bytes == 256 * MiB  # [snmp] on: room for two weeks of polls
    explicit = parse_config({**snmp([V2]), "spool": {"max_bytes": 64 * MiB}}, "agent.toml", env={})
    assert explicit.spool.max_bytes == 64 * MiB  # an explicit size wins
    assert parse_config({}, "agent.toml", env={}).snmp.enabled is False


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (snmp([{**V2, "port": 161}]), "snmp.devices[0].port: unknown key"),
        (snmp([V2], interval=60), "snmp.interval: unknown key"),
        (snmp([{**V2, "name": "-sw"}]), "snmp.devices[0].name: must be 1-64 letters"),
        (snmp([{**V2, "name": "x" * 65}]), "snmp.devices[0].name: must be at most 64 characters"),
        (snmp([V2, {**V2, "address": "192.0.2.9"}]), "snmp.devices[1].name: duplicate device name 'xa-sw1'"),
        (snmp([{**V2, "name": f"sw{i}"} for i in range(65)]), "snmp.devices: must be at most 64"),
        (snmp([{**V2, "address": "http://sw1/"}]), "snmp.devices[0].address: 'http://sw1/'"),
        (snmp([{**V2, "address": "192.0.2.2:70000"}]), "port must be 1-65535"),
        (snmp([{**V2, "address": "[2001:db8::2]161"}]), "write an IPv6 address with a port as"),
        (snmp([V2], interval_s=5), "snmp.interval_s: must be between 10 and 3600 (got 5)"),
        (snmp([V2], interval_s=3601), "snmp.interval_s: must be between 10 and 3600"),
        (snmp([{**V2, "version": 2}]), 'snmp.devices[0].version: must be "1", "2c" or "3"'),
        (
            snmp([{"name": "a", "address": "192.0.2.2"}]),
            'snmp.devices[0].community: is required for version "2c"',
        ),
        (snmp([{**V2, "user": "u"}]), 'snmp.devices[0].user: applies to version "3" only'),
        (snmp([{**V3, "community": "x"}]), 'snmp.devices[0].community: does not apply to version "3"'),
        (
            snmp([{**V3, "auth_key": "short"}]),
            "snmp.devices[0].auth_key: auth_protocol sha needs auth_key of ≥ 8",
        ),
        (
            snmp([{**V3, "priv_key": "short"}]),
            "snmp.devices[0].priv_key: priv_protocol aes128 needs priv_key",
        ),
        (
            snmp([{**V3, "auth_protocol": "none"}]),
            'snmp.devices[0].auth_key: is set but auth_protocol is "none"',
        ),
        (
            snmp([{**V3, "priv_protocol": "aes512"}]),
            "snmp.devices[0].priv_protocol: must be one of none, des",
        ),
        (snmp([]), "snmp.devices: at least one [[snmp.devices]] is required when enabled = true"),
    ],
)
def test_mistakes_name_the_key(data: dict[str, Any], expected: str) -> None:
    message = error(data)
    assert message.startswith("agent.toml: snmp.")  # the file and the dotted key
    assert expected in message


def test_secrets_come_from_files_read_at_load(tmp_path: Path) -> None:
    community = tmp_path / "community"
    community.write_text("from-a-file\n")
    two_lines = tmp_path / "two-lines"
    two_lines.write_text("a\nb\n")
    device = {"name": "xa-sw1", "address": "192.0.2.2", "community_file": str(community)}
    config = parse_config(snmp([device]), "agent.toml", env={})
    assert config.snmp.devices[0].community == Secret("from-a-file")
    assert "from-a-file" not in repr(config)
    missing = error(snmp([{**device, "community_file": str(tmp_path / "nope")}]))
    assert f"snmp.devices[0].community_file: cannot read {tmp_path / 'nope'}: No such file" in missing
    assert "must hold the secret on one line" in error(snmp([{**device, "community_file": str(two_lines)}]))
    both = error(snmp([{**device, "community": "x"}]))
    assert "snmp.devices[0].community_file: give community or community_file, not both" in both


def test_privacy_without_cryptography_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real missing package is the base-install test's; here the message path, with the probe faked."""
    reason = "SNMPv3 privacy (DES/AES) needs the `cryptography` package: pip install 'canhgac[edge]'"
    monkeypatch.setattr("canhgac_agent.snmp.usm.privacy_missing", lambda: reason)
    v3 = {**V3, "priv_key": "priv-pass"}
    message = error(snmp([v3]))
    assert "snmp.devices[0].priv_protocol: SNMPv3 privacy" in message
    assert "pip install 'canhgac[edge]'" in message
    parse_config(snmp([{**v3, "priv_protocol": "none", "priv_key": None}]), "agent.toml", env={})
    parse_config({"snmp": {"enabled": False, "devices": [v3]}}, "agent.toml", env={})  # off: no extra needed
    toml = tmp_path / "agent.toml"
    toml.write_text(
        '[snmp]\nenabled = true\n[[snmp.devices]]\nname = "a"\naddress = "192.0.2.2"\n'
        'version = "3"\nuser = "u"\nauth_key = "auth-pass"\npriv_key = "priv-pass"\n'
    )
    with pytest.raises(
        ConfigError, match=r"agent\.toml: snmp\.devices\[0\]\.priv_protocol: .*canhgac\[edge\]"
    ):
        load_config(toml, env={})
