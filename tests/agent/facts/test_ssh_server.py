"""sshd_config parsing (first value wins, Include in place, Match blocks) and socket-activated sshd."""

from __future__ import annotations

from typing import Any

from canhgac_agent.facts.ssh_server import parse_sshd_config, ssh_running
from tests.agent.facts.samples import DROP_IN, SSHD_CONFIG


def _includes(files: dict[str, list[str]]) -> Any:
    return lambda pattern: files.get(pattern, [])


def test_sshd_config_first_value_wins_and_includes_come_in_place() -> None:
    settings = parse_sshd_config(SSHD_CONFIG, _includes({"/etc/ssh/sshd_config.d/*.conf": [DROP_IN]}))
    assert settings["passwordauthentication"] == "no"  # the drop-in is read first, so it wins
    assert settings["permitrootlogin"] == "prohibit-password"  # Match blocks are not global
    assert settings["port"] == "22 2222"
    assert settings["acceptenv"] == "LANG LC_* TZ"
    assert settings["subsystem"] == "sftp\t/usr/lib/openssh/sftp-server"
    assert settings["maxauthtries"] == "3"
    assert settings["clientaliveinterval"] == "300"
    assert settings["banner"] == "/etc/issue.net"  # after "Match all": global again
    assert "include" not in settings
    assert "match" not in settings


def test_sshd_config_include_inside_match_is_conditional() -> None:
    text = "Match Group sftp\n  Include extra.conf\nX11Forwarding no\n"
    settings = parse_sshd_config(text, _includes({"extra.conf": ["PermitTTY no\n"]}))
    assert settings == {}


def test_sshd_config_without_include_reader_and_garbage() -> None:
    assert parse_sshd_config("Include foo\nPort 22\n") == {"port": "22"}
    assert parse_sshd_config("\x00\x01\n=\n==\n   \nPermitRootLogin\n") == {"permitrootlogin": ""}
    assert parse_sshd_config("") == {}


def test_sshd_config_include_loop_is_bounded() -> None:
    settings = parse_sshd_config("Include self\nPort 22\n", lambda _: ["Include self\nPort 2200\n"])
    assert settings["port"].split()[0] == "2200"


def test_ssh_running_via_socket_activation() -> None:
    ports = [{"proto": "tcp6", "address": "::", "port": 22, "pid": 1, "process": "systemd"}]
    assert ssh_running({"systemd"}, ports, {})
    assert ssh_running({"sshd"}, [], {})
    assert not ssh_running({"bash"}, ports, {"port": "2222"})
