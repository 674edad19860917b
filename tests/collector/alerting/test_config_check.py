"""`canhgac config check` refuses alerting settings that name a site code missing from the site tree
(a mistyped commune code would otherwise never apply): the real CLI, run as a subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.collector.alerting.conftest import province
from tests.collector.test_cli import canhgac


def write_config(tmp_path: Path, alerting: dict[str, Any]) -> Path:
    path = tmp_path / "server.yaml"
    doc = {"database_url": "sqlite:///state.sqlite", "sites": province(), "alerting": alerting}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def window(site: str) -> dict[str, Any]:
    return {"name": "Tết", "site": site, "dates": [{"start": "2027-02-05", "end": "2027-02-11"}]}


def test_known_site_codes_pass(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        {
            "overrides": [{"site": "XA-A", "rules": {"memory_usage": {"threshold": 0.8}}}],
            "maintenance": [window("D1")],
            "webhooks": [{"name": "noc", "url": "http://127.0.0.1:9/hook", "site": "P"}],
        },
    )
    r = canhgac("config", "check", str(cfg))
    assert r.returncode == 0, r.stderr
    assert f"{cfg}: OK — 4 sites" in r.stdout


@pytest.mark.parametrize("command", [["config", "check"], ["serve", "--config"]], ids=["check", "serve"])
def test_unknown_site_codes_are_named_one_line_each(tmp_path: Path, command: list[str]) -> None:
    """`config check` and `serve` (before it binds or migrates anything) refuse the same config."""
    cfg = write_config(
        tmp_path,
        {
            "overrides": [
                {"site": "XA-A", "rules": {"memory_usage": {"threshold": 0.8}}},
                {"site": "XA-C", "rules": {"temperature": {"threshold": 60}}},  # typo: no commune C
            ],
            "maintenance": [window("XA-B"), window("D9")],
            "webhooks": [{"name": "noc", "url": "http://127.0.0.1:9/hook", "site": "p"}],  # codes are exact
        },
    )
    r = canhgac(*command, str(cfg))
    assert r.returncode == 2
    assert "OK" not in r.stdout
    assert r.stderr.splitlines() == [
        f"Lỗi cấu hình / config error: {cfg}: alerting.overrides[1].site: site 'XA-C' is not in the "
        "site tree",
        f"Lỗi cấu hình / config error: {cfg}: alerting.maintenance[1].site: site 'D9' of window 'Tết' is "
        "not in the site tree",
        f"Lỗi cấu hình / config error: {cfg}: alerting.webhooks[0].site: site 'p' of webhook 'noc' is not "
        "in the site tree",
    ]
    assert "Traceback" not in r.stderr
