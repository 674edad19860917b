"""Channels are plugins: each registered channel brings its config model, sender, style and addressing;
the example config documents exactly the registered channels; the rest of alerting never names one."""

from __future__ import annotations

import ast
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from canhgac_agent.plugins import registry
from canhgac_collector.alerting import engine as engine_module
from canhgac_collector.alerting.channels import CHANNELS, plugin_of, smtp
from canhgac_collector.alerting.channels.base import ChannelConfig, Style
from canhgac_collector.alerting.outbox import Dispatcher
from canhgac_collector.alerting.settings import AlertingConfig, AlertingSettings
from canhgac_collector.config import Contact

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "examples" / "server.yaml"
ALERTING = Path(engine_module.__file__).parent
STYLES = set(typing.get_args(Style))


def example_alerting() -> dict[str, Any]:
    """The commented-out `alerting:` block of examples/server.yaml, as YAML."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    block = []
    for line in lines[lines.index("# alerting:") :]:
        if not line.startswith("#"):
            break
        block.append(line[2:])
    doc: dict[str, Any] = yaml.safe_load("\n".join(block))["alerting"]
    return doc


def test_the_four_channels_are_registered_by_name() -> None:
    assert list(CHANNELS) == ["smtp", "webhook", "telegram", "alertmanager"]
    assert all(name == plugin.name for name, plugin in CHANNELS.items())
    with pytest.raises(ValueError, match="registered twice"):
        registry(smtp.PLUGIN, smtp.PLUGIN)


@pytest.mark.parametrize("name", list(CHANNELS))
def test_every_channel_has_a_config_model_a_sender_and_a_style(name: str) -> None:
    plugin = CHANNELS[name]
    assert issubclass(plugin.config, ChannelConfig)
    assert plugin.config.model_config.get("extra") == "forbid"
    assert callable(plugin.send)
    assert plugin.style(None) in STYLES
    if not plugin.many:
        assert plugin.style(plugin.config()) in STYLES
        assert plugin.destination(plugin.config()).enabled is False  # off until configured
    assert plugin.contact_field is None or plugin.contact_field in Contact.model_fields
    secrets = [f for f in plugin.config.model_fields if any(w in f for w in ("password", "token", "secret"))]
    for field in secrets:
        assert SecretStr in typing.get_args(plugin.config.model_fields[field].annotation), field
    assert (Path(__file__).parent / "channels" / f"test_{name}.py").is_file()  # its test, named after it


def test_channel_sections_of_the_alerting_config_are_the_channels_models() -> None:
    channel_fields = set(AlertingConfig.model_fields) - set(AlertingSettings.model_fields)
    assert channel_fields == {p.section for p in CHANNELS.values()}
    for plugin in CHANNELS.values():
        annotation = AlertingConfig.model_fields[plugin.section].annotation
        assert annotation == (list[plugin.config] if plugin.many else plugin.config)  # type: ignore[name-defined]


def test_example_config_documents_exactly_the_registered_channels() -> None:
    doc = example_alerting()
    AlertingConfig.model_validate(doc)  # the block is valid as written
    assert set(doc) - set(AlertingSettings.model_fields) == {p.section for p in CHANNELS.values()}
    for plugin in CHANNELS.values():
        section = doc[plugin.section]
        documented = section[0] if plugin.many else section
        assert set(documented) == set(plugin.config.model_fields), plugin.name


def test_outbox_channels_resolve_to_their_plugin_and_enabled_config() -> None:
    cfg = AlertingConfig.model_validate(
        {
            "smtp": {"enabled": True},
            "telegram": {"enabled": False},
            "webhooks": [{"name": "soc", "url": "http://127.0.0.1:9/hook"}],
        }
    )
    d = Dispatcher(cfg, sessions=None)  # type: ignore[arg-type]  # `sender` reads the config only
    assert plugin_of("webhook:soc") is CHANNELS["webhook"]
    assert plugin_of("sms") is None
    assert d.sender("smtp") is not None
    assert d.sender("webhook:soc") is not None
    assert d.sender("telegram") is None  # disabled
    assert d.sender("alertmanager") is None
    assert d.sender("webhook:gone") is None
    assert d.sender("sms") is None
    webhook = CHANNELS["webhook"]
    assert webhook.style(webhook.config_of(cfg, "webhook:gone")) == "json"  # a removed webhook: still JSON
    assert CHANNELS["smtp"].style(CHANNELS["smtp"].config_of(cfg, "smtp")) == "vi_en"


# -- the layout of the alerting package ---------------------------------------------------------------


def modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(ALERTING.parents[1]).with_suffix("").parts).removesuffix(".__init__"): p
        for p in sorted(ALERTING.rglob("*.py"))
    }


def imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def test_alerting_modules_import_each_other_without_cycles_or_private_names() -> None:
    mods = modules()
    graph: dict[str, set[str]] = {}
    private: list[str] = []
    for name, path in mods.items():
        targets: set[str] = set()
        for node in imports(path):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
                continue
            base = node.module or ""
            targets.add(base)
            targets.update(f"{base}.{a.name}" for a in node.names)
            if base.startswith("canhgac_"):
                private += [f"{name}: {base}.{a.name}" for a in node.names if a.name.startswith("_")]
        graph[name] = {t for t in targets if t in mods and t != name}
    assert private == []
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str], done: set[str]) -> None:
        if node in stack:
            cycles.append([*stack[stack.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            walk(nxt, [*stack, node], done)
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        walk(name, [], done)
    assert cycles == []
    too_long = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in mods.items()}
    assert {n: lines for n, lines in too_long.items() if lines > 700} == {}


def test_only_the_channel_modules_name_a_channel() -> None:
    """Settings, routing, engine, outbox, service and CLI look channels up in CHANNELS: no string in
    their code is a channel's name (docstrings and comments may mention them)."""
    names = set(CHANNELS) | {p.section for p in CHANNELS.values()}
    found = []
    for name, path in modules().items():
        if ".channels" in name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                word = node.value.partition(":")[0]
                if word in names:
                    found.append(f"{name}:{node.lineno}: {node.value!r}")
    assert found == []
