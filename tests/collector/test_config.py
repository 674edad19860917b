"""Server config: the example file stays complete and valid; bad files say what is wrong and where."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from canhgac_collector.config import ConfigError, ServerConfig, load_config
from canhgac_collector.sitetree import agent_settings, resolve_tree
from tests.conftest import site_tree

EXAMPLE = Path(__file__).parents[2] / "examples" / "server.yaml"


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            inner = getattr(arg, "__args__", (arg,))
            for t in (arg, *inner):
                if isinstance(t, type) and issubclass(t, BaseModel) and t not in seen:
                    names |= _field_names(t, seen)
    return names


def _example_with_real_secrets(tmp_path: Path) -> Path:
    """examples/server.yaml with its placeholder secrets replaced, as an operator must."""
    text = re.sub(
        r"change-me-[\w-]+", lambda _: secrets.token_urlsafe(18), EXAMPLE.read_text(encoding="utf-8")
    )
    path = tmp_path / "server.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    cfg = load_config(_example_with_real_secrets(tmp_path))
    assert cfg.sites[0].code == "HT"
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = [name for name in sorted(_field_names(ServerConfig)) if f"{name}:" not in text]
    assert missing == [], f"examples/server.yaml lacks keys: {missing}"


def test_example_devices_block_with_ssh_is_valid(tmp_path: Path) -> None:
    """The commented `devices:` example (SNMP v3 and v2c, an `ssh:` block) is a working config."""
    text = _example_with_real_secrets(tmp_path).read_text(encoding="utf-8")
    block = text[text.index("# devices:\n") :].split("\n\n", 1)[0]
    devices = yaml.safe_load("\n".join(line.removeprefix("#") for line in block.splitlines()))["devices"]
    cfg = load_config(_example_with_real_secrets(tmp_path))
    with_devices = ServerConfig.model_validate({**cfg.model_dump(), "devices": devices})
    ssh = with_devices.devices[0].ssh
    assert ssh is not None
    assert (ssh.platform, ssh.port, ssh.username) == ("cisco_ios", 22, "canhgac-backup")
    assert ssh.password is not None
    assert "change-me" not in ssh.password.get_secret_value()
    assert with_devices.device_configs.retention_versions == 100
    assert [d.poller for d in with_devices.devices] == ["auto", "edge"]  # auto unless the entry says
    with pytest.raises(ValueError, match="poller"):
        ServerConfig.model_validate({**cfg.model_dump(), "devices": [{**devices[1], "poller": "agent"}]})


def test_unknown_key_is_rejected_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("listen:\n  host: 127.0.0.1\n  prot: 8080\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "listen.prot" in str(info.value)


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("sites: [{code: A, name: X}, {code: A, name: Y}]", "appears twice"),
        ("sites: [{code: A, name: X, enrollment_keys: [short]}]", "at least 16"),
        ("sites: [{code: 'bad code', name: X}]", "sites.0.code"),
        ("sites: [{code: A, name: X, level: 7}]", "sites.0.level"),
        ("sites: [{code: A, name: X, probe_targets: [{name: p, kind: tcp, host: h}]}]", "needs port"),
        ("report: {agncy: UBND}", "report.agncy"),
        ("host_state: {stale_after_s: 600, down_after_s: 60}", "greater than"),
        (
            "sites: [{code: A, name: X, enrollment_keys: [k-0123456789abcdef]},"
            " {code: B, name: Y, enrollment_keys: [k-0123456789abcdef]}]",
            "shared by sites",
        ),
        ("listen: [1, 2", "not valid YAML"),
        ("- just a list", "mapping"),
    ],
)
def test_invalid_configs_say_what_is_wrong(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_secrets_never_appear_in_errors_or_repr(tmp_path: Path) -> None:
    secret = "super-secret-enrollment-key"
    path = tmp_path / "server.yaml"
    path.write_text(f"sites: [{{code: A, name: X, enrollment_keys: [{secret}], level: 9}}]", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert secret not in str(info.value)
    cfg = ServerConfig(
        sites=[{"code": "A", "name": "X", "enrollment_keys": [secret]}],
        database_url="postgresql+psycopg://canhgac:hunter2-pw@db/canhgac",
    )
    assert secret not in repr(cfg)
    assert "hunter2-pw" not in cfg.redacted_database_url()


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("listen: {port: 8080}\nlog_level: INFO\n", encoding="utf-8")
    monkeypatch.setenv("CANHGAC_LISTEN__PORT", "9191")
    monkeypatch.setenv("CANHGAC_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("CANHGAC_CONFIG", str(path))  # the CLI's own variable is not a config key
    cfg = load_config(path)
    assert cfg.listen.port == 9191
    assert cfg.log_level == "DEBUG"


def test_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "server.yaml"
    path.parent.mkdir()
    path.write_text("database_url: sqlite:///state/canhgac.sqlite\n", encoding="utf-8")
    assert load_config(path).database_url == f"sqlite:///{tmp_path / 'etc' / 'state' / 'canhgac.sqlite'}"


def test_levels_and_probe_targets_inherit_down_the_tree() -> None:
    cfg = ServerConfig(sites=site_tree())
    tree = resolve_tree(cfg)
    assert tree["D1"].level == 3  # inherits the province's
    assert tree["XA-A"].level == 2
    assert tree["XA-B-MC"].level == 2
    assert tree["XA-B-MC"].path == "/P/XA-B/XA-B-MC/"
    a_targets = {t["name"]: t for t in agent_settings(cfg, tree["XA-A"])["probe_targets"]}
    assert a_targets["portal"]["url"] == "http://127.0.0.1:10/"  # overridden by the commune
    assert a_targets["provincial-dc"]["host"] == "127.0.0.1"  # inherited from the province
    b_targets = {t["name"]: t for t in agent_settings(cfg, tree["XA-B"])["probe_targets"]}
    assert b_targets["portal"]["url"] == "http://127.0.0.1:9/"
