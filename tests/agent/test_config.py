"""Agent config: TOML parsing, validation errors naming file and key, env overrides, secrets, example."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from canhgac_agent.config import (
    AgentConfig,
    ConfigError,
    KeyValueFormatter,
    ProbeTarget,
    Secret,
    SnmpDeviceConfig,
    fields,
    load_config,
    parse_config,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    config = parse_config({}, "<defaults>", env={})
    assert config == AgentConfig()
    assert config.state_dir == Path("/var/lib/canhgac-agent")
    assert (config.interval_s, config.security_interval_s) == (30.0, 3600.0)
    assert (config.spool.max_bytes, config.spool.max_age_s) == (64 * 1024 * 1024, 14 * 86400.0)
    assert (config.probes.gateway, config.probes.count, config.probes.timeout_s) == (True, 4, 2.0)
    assert config.tls.verify is True


def test_full_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    path = write(
        tmp_path,
        f"""
server_url = "https://canhgac.example.gov.vn"
enrollment_key = "k-123"
state_dir = "{tmp_path / "state"}"
interval_s = 15
log_level = "DEBUG"
[identity]
machine_id = "sim-01"
[spool]
max_bytes = 1048576
max_age_s = 3600
[probes]
gateway = false
[[probes.targets]]
name = "dc"
kind = "tcp"
host = "10.0.0.1"
port = 443
[[probes.targets]]
name = "portal"
kind = "http"
url = "https://dichvucong.example.gov.vn/"
[tls]
ca_file = "{ca}"
""",
    )
    config = load_config(path, env={})
    assert config.server_url == "https://canhgac.example.gov.vn"
    assert config.enrollment_key == Secret("k-123")
    assert config.interval_s == 15.0
    assert config.log_level == "debug"
    assert config.identity.machine_id == "sim-01"
    assert config.identity.hostname is None
    assert config.spool.max_bytes == 1048576
    assert config.probes.gateway is False
    assert config.probes.targets == (
        ProbeTarget("dc", "tcp", host="10.0.0.1", port=443),
        ProbeTarget("portal", "http", url="https://dichvucong.example.gov.vn/"),
    )
    assert config.probes.targets[0].as_setting() == {
        "name": "dc",
        "kind": "tcp",
        "host": "10.0.0.1",
        "port": 443,
    }
    assert config.tls.ca_file == str(ca)
    assert config.source == str(path)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("intervall_s = 30", "intervall_s", "unknown key"),
        ("[spool]\nmax_byte = 1", "spool.max_byte", "unknown key"),
        ("[probes]\ncount = 4\n[[probes.targets]]\nname='a'\nkind='tcp'\nhost='h'\nport=1\ncolour='red'",
         "probes.targets[0].colour", "unknown key"),
        ("[tls]\nverify = 'yes'", "tls.verify", "true or false"),
        ("interval_s = 0", "interval_s", "greater than 0"),
        ("interval_s = true", "interval_s", "must be a number"),
        ("security_interval_s = 'hourly'", "security_interval_s", "must be a number"),
        ("log_level = 'loud'", "log_level", "must be one of"),
        ("server_url = 'ftp://x'", "server_url", "http:// or https://"),
        ("server_url = ''", "server_url", "must not be empty"),
        ("[spool]\nmax_bytes = 10", "spool.max_bytes", "between"),
        ("[spool]\nmax_bytes = 1.5", "spool.max_bytes", "must be an integer"),
        ("[probes]\ncount = 0", "probes.count", "between 1 and 100"),
        ("[[probes.targets]]\nname='a'\nkind='smtp'\nhost='h'", "probes.targets[0].kind", "must be one of"),
        ("[[probes.targets]]\nname='a'\nkind='tcp'\nhost='h'", "probes.targets[0].port", "required"),
        ("[[probes.targets]]\nname='a'\nkind='http'\nhost='h'\nurl='http://h/'", "probes.targets[0].host",
         "does not apply"),
        ("[[probes.targets]]\nname='a'\nkind='dns'\nhost='h'\n[[probes.targets]]\nname='a'\nkind='dns'\nhost='i'",
         "probes.targets[1].name", "duplicate"),
        ("[[probes.targets]]\nkind='dns'\nhost='h'", "probes.targets[0].name", "required"),
        ("[tls]\nca_file = '/nonexistent/ca.pem'", "tls.ca_file", "no such file"),
        (
            "[[probes.targets]]\nname = 'dc'\nkind = 'tcp'\nhost = 'http://10.0.0.1/'\nport = 443",
            "probes.targets[0].host",
            "not a URL",
        ),
        ("[tls]\ncert_file = '/nonexistent/client.pem'", "tls.cert_file", "no such file"),
        ("identity = 'x'", "identity", "must be a table"),
        ("[egress]\nendpoint = 'http://x/'", "egress.endpoint", "not a URL"),
        ("[egress]\nports = [445, 70000]", "egress.ports", "1-65535"),
        ("[egress]\nports = [445, 445]", "egress.ports", "repeats"),
        ("[egress]\nports = [1, 2, 3, 4, 5, 6, 7, 8, 9]", "egress.ports", "1 to 8"),
        ("[egress]\ntimeout_s = 60", "egress.timeout_s", "at most 10"),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.key == key
    assert str(err.value).startswith(f"{path}: {key}: ")
    assert message in str(err.value)


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "interval_s = = 3")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: invalid TOML"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml", env={})


def test_environment_overrides_top_level_scalars(tmp_path: Path) -> None:
    path = write(tmp_path, "interval_s = 30\nserver_url = 'https://a.example'\n")
    config = load_config(
        path,
        env={
            "CANHGAC_AGENT_SERVER_URL": "https://b.example",
            "CANHGAC_AGENT_INTERVAL_S": "12.5",
            "CANHGAC_AGENT_ENROLLMENT_KEY": "from-env",
            "CANHGAC_AGENT_STATE_DIR": str(tmp_path / "s"),
            "CANHGAC_AGENT_LOG_LEVEL": "WARNING",
        },
    )
    assert config.server_url == "https://b.example"
    assert config.interval_s == 12.5
    assert config.enrollment_key == Secret("from-env")
    assert config.state_dir == tmp_path / "s"
    assert config.log_level == "warning"

    with pytest.raises(
        ConfigError, match=r"^environment variable CANHGAC_AGENT_INTERVAL_S: must be a number"
    ):
        load_config(path, env={"CANHGAC_AGENT_INTERVAL_S": "soon"})
    with pytest.raises(ConfigError, match=r"^environment variable CANHGAC_AGENT_INTERVAL_S: must be greater"):
        load_config(path, env={"CANHGAC_AGENT_INTERVAL_S": "-1"})
    with pytest.raises(ConfigError, match="CANHGAC_AGENT_INTERVAL: unknown setting"):
        load_config(path, env={"CANHGAC_AGENT_INTERVAL": "5"})
    assert load_config(None, env={"CANHGAC_AGENT_CONFIG": str(path)}).source == str(path)


def test_secrets_never_show(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "enrollment_key = 'super-secret-key'\n")
    config = load_config(path, env={})
    assert "super-secret-key" not in repr(config)
    assert "super-secret-key" not in str(config)
    assert "super-secret-key" not in f"{config.enrollment_key}"
    assert config.enrollment_key is not None
    assert config.enrollment_key.reveal() == "super-secret-key"


def test_key_value_log_lines() -> None:
    record = logging.LogRecord("canhgac_agent.x", logging.WARNING, __file__, 1, "spool bound", None, None)
    record.kv = fields(dropped=3, path="/var/lib/canhgac agent", error='say "no"')["kv"]
    line = KeyValueFormatter().format(record)
    assert line.startswith("ts=")
    assert ' level=warning logger=canhgac_agent.x msg="spool bound" dropped=3 ' in line
    assert 'path="/var/lib/canhgac agent"' in line
    assert r'error="say \"no\""' in line
    assert "\n" not in line


# --- the commented example -------------------------------------------------------------------------


def _field_paths(cls: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(table, key) for every config field, recursing into nested config tuples."""
    out: list[tuple[str, str]] = []
    for name in cls._fields:
        if name == "source":
            continue
        sub = {"identity", "spool", "probes", "tls", "egress", "lan", "retry", "snmp"}
        if name in sub:
            out += _field_paths(type(getattr(cls(), name)), name)
        elif name == "targets":
            out += [("probes.targets", t) for t in ProbeTarget._fields]
        elif name == "devices":
            out += [("snmp.devices", t) for t in SnmpDeviceConfig._fields]
        else:
            out.append((prefix, name))
    return out


def _keys_by_table(text: str) -> dict[str, set[str]]:
    """Keys set or shown commented-out (`# key = …`) under each table header of the example."""
    tables: dict[str, set[str]] = {"": set()}
    current = ""
    for line in text.splitlines():
        header = re.match(r"^\[\[?([\w.]+)\]\]?\s*$", line)
        if header:
            current = header.group(1)
            tables.setdefault(current, set())
            continue
        key = re.match(r"^#?\s?(\w+)\s*=", line)
        if key:
            tables[current].add(key.group(1))
    return tables


def test_example_parses_and_documents_every_field() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.server_url
    assert {t.kind for t in config.probes.targets} == {"icmp", "tcp", "http", "dns"}
    tables = _keys_by_table(EXAMPLE.read_text())
    missing = [f"{t}.{k}" if t else k for t, k in _field_paths(AgentConfig) if k not in tables.get(t, set())]
    assert not missing, f"examples/agent.toml does not mention: {missing}"
    documented = {(t, k) for t, keys in tables.items() for k in keys}
    unknown = documented - set(_field_paths(AgentConfig))
    assert not unknown, f"examples/agent.toml mentions keys the config does not have: {unknown}"


def test_example_commented_keys_are_valid_when_uncommented(tmp_path: Path) -> None:
    text = re.sub(r"^# (\w+ = .*)$", r"\1", EXAMPLE.read_text(), flags=re.MULTILINE)
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("x")
        text = text.replace(f"/etc/canhgac-agent/{name}", str(tmp_path / name))
    tomllib.loads(text)
    config = load_config(write(tmp_path, text), env={})
    assert config.identity.machine_id
    assert config.egress.endpoint == "egress-test.example.gov.vn"
    assert config.tls.client_cert == (str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    assert config.enrollment_key is not None
    assert config.snmp.devices[1].context_name == "vlan-10"


def test_client_certificate_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("x")
    with pytest.raises(ConfigError, match=r"tls\.cert_file: cert_file and key_file go together"):
        load_config(write(tmp_path, f"[tls]\ncert_file = '{cert}'\n"), env={})


# --- the LAN sensor role ----------------------------------------------------------------------------


def test_lan_table_is_typed_and_bounded(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[lan]\nenabled = true\ninterfaces = ["eth0"]\napproved_dhcp_servers = ["198.51.100.1"]\n'
            'gateways = ["198.51.100.1"]\napproved_macs = ["00-1B-21-3A-4F-10"]\n'
            'subnets = ["198.51.100.0/24"]\nsweep_interval_s = 3600\n',
        ),
        env={},
    )
    assert config.lan.enabled
    assert config.lan.approved_macs == ("00:1b:21:3a:4f:10",)
    assert config.lan.subnets == ("198.51.100.0/24",)
    assert parse_config({}, "agent.toml", env={}).lan.enabled is False
    bad = {
        "lan.interfaces: is required": {"enabled": True},
        "lan.subnets: '10.0.0.0/16': 10.0.0.0/16 is larger than /22": {"subnets": ["10.0.0.0/16"]},
        "lan.gateways: 'gw'": {"gateways": ["gw"]},
        "lan.approved_macs: 'zz'": {"approved_macs": ["zz"]},
        "lan.subnets: is required for the sweep": {"sweep_interval_s": 3600},
        "lan.sweep_interval_s: must be greater than 59": {"sweep_interval_s": 5, "subnets": ["10.0.0.0/24"]},
        "lan.promisc: unknown key": {"promisc": True},
    }
    for expected, table in bad.items():
        with pytest.raises(ConfigError) as err:
            parse_config({"lan": table}, "agent.toml", env={})
        assert f"agent.toml: {expected}" in str(err.value)
