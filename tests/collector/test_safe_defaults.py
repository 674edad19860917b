"""Safe defaults: the example config polls nothing and starts only once its placeholder secrets are
replaced; `config check` and `serve` refuse placeholders anywhere a secret goes, warn when nobody would
hear an alert, and refuse host addresses that are not IP addresses or host names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from canhgac_collector.config import ConfigError, ServerConfig, load_config
from canhgac_collector.config_advice import config_warnings
from canhgac_collector.lab.demo import DemoLayout, write_server_config
from tests.conftest import site_tree

EXAMPLE = Path(__file__).parents[2] / "examples" / "server.yaml"
DEVICE = {
    "name": "sw1",
    "address": "127.0.0.1",
    "site": "P",
    "snmp": {"version": "2c", "community": "s3cr3t-c0mm"},
}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", *args],
        capture_output=True,
        text=True,
        check=False,  # the tests read the exit code
        timeout=120,
    )


def _write(tmp_path: Path, **config: Any) -> Path:
    path = tmp_path / "server.yaml"
    path.write_text(yaml.safe_dump({"sites": site_tree(), **config}, allow_unicode=True), encoding="utf-8")
    return path


def test_the_example_config_is_refused_until_its_placeholders_are_replaced() -> None:
    result = _cli("config", "check", str(EXAMPLE))
    assert result.returncode == 2
    assert "placeholder secrets" in result.stderr
    assert "bí mật còn là giá trị mẫu" in result.stderr
    assert "sites[0].children[0].enrollment_keys[0]" in result.stderr
    assert "change-me" not in result.stderr  # where, never the value


def test_the_example_config_declares_no_device() -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert doc["devices"] == []  # the example switches are comments until an operator adapts them


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"devices": [{**DEVICE, "snmp": {"version": "2c", "community": "change-me-community"}}]},
         "devices[0].snmp.community"),
        ({"devices": [{**DEVICE, "snmp": {"version": "3", "v3": {"user": "u", "auth_key": "CHANGEME-auth",
                                                                 "priv_key": "priv-key-0123"}}}]},
         "devices[0].snmp.v3.auth_key"),
        ({"metrics": {"bearer_token": "a-long-random-string"}}, "metrics.bearer_token"),
        ({"alerting": {"telegram": {"enabled": True, "bot_token": "replace-me"}}},
         "alerting.telegram.bot_token"),
        ({"alerting": {"webhooks": [{"name": "soc", "url": "http://127.0.0.1:9/", "secret": "<secret>"}]}},
         "alerting.webhooks[0].secret"),
        ({"influx": {"token": "change_me"}}, "influx.token"),
        ({"database_url": "postgresql+psycopg://canhgac:PASSWORD@127.0.0.1/canhgac"},
         "database_url (password)"),
    ],
)  # fmt: skip
def test_placeholder_secrets_are_refused_where_they_are(
    tmp_path: Path, overrides: dict[str, Any], where: str
) -> None:
    with pytest.raises(ConfigError, match="placeholder secrets") as info:
        load_config(_write(tmp_path, **overrides))
    assert where in str(info.value)


def test_a_placeholder_enrollment_key_stops_serve_before_it_listens(tmp_path: Path) -> None:
    tree = site_tree()
    tree[0]["enrollment_keys"] = ["change-me-province-0123456789"]
    path = tmp_path / "server.yaml"
    path.write_text(yaml.safe_dump({"sites": tree, "listen": {"port": 9}}), encoding="utf-8")
    result = _cli("serve", "--config", str(path))
    assert result.returncode == 2
    assert "sites[0].enrollment_keys[0]" in result.stderr
    assert not (tmp_path / "canhgac.sqlite").exists()  # refused before anything was created


def test_the_demo_config_has_real_secrets(tmp_path: Path) -> None:
    layout = DemoLayout(tmp_path, port=9, link_port=10, interval=5)
    write_server_config(layout, [])
    cfg = load_config(layout.config_path)
    assert cfg.sites


def test_no_notification_channel_is_a_warning(tmp_path: Path) -> None:
    result = _cli("config", "check", str(_write(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "no notification channel is configured" in result.stdout
    assert "chưa cấu hình kênh thông báo" in result.stdout

    webhook = {"webhooks": [{"name": "soc", "url": "http://127.0.0.1:9/hook"}]}
    with_channel = load_config(_write(tmp_path, alerting=webhook))
    assert not [w for w in config_warnings(with_channel) if "notification channel" in w]


def test_a_wan_listener_without_tls_is_a_warning() -> None:
    cfg = ServerConfig(sites=site_tree(), listen={"host": "0.0.0.0"})  # validated, never bound
    warnings = config_warnings(cfg)
    assert any("without TLS" in w for w in warnings)
    assert any("no notification channel" in w for w in warnings)


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"devices": [{**DEVICE, "address": "10.10.0.300"}]}, "devices.0.address"),
        ({"devices": [{**DEVICE, "address": "http://10.0.0.1"}]}, "devices.0.address"),
        ({"devices": [{**DEVICE, "address": "sw1\n"}]}, "devices.0.address"),
        ({"listen": {"host": "my host"}}, "listen.host"),
        ({"sites": [{"code": "A", "name": "A",
                     "probe_targets": [{"name": "dc", "kind": "tcp", "host": "1.2.3", "port": 443}]}]},
         "sites.0.probe_targets.0.host"),
        ({"sites": [{"code": "A", "name": "A", "management_networks": ["10.0.0.1/24"]}]},
         "sites.0.management_networks.0"),
    ],
)  # fmt: skip
def test_addresses_that_are_neither_ips_nor_host_names_are_refused(
    tmp_path: Path, overrides: dict[str, Any], where: str
) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        load_config(_write(tmp_path, **overrides))


def test_host_names_and_ip_addresses_are_accepted(tmp_path: Path) -> None:
    devices = [
        {**DEVICE, "name": "a", "address": "sw-core.ht.example.gov.vn"},
        {**DEVICE, "name": "b", "address": "fe80::1%eth0"},
        {**DEVICE, "name": "c", "address": "10.10.0.2"},
    ]
    cfg = load_config(_write(tmp_path, devices=devices, listen={"host": "::"}))
    assert [d.address for d in cfg.devices] == ["sw-core.ht.example.gov.vn", "fe80::1%eth0", "10.10.0.2"]
