"""`canhgac alerts …` as an administrator on the server uses it: real subprocesses on a real store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.collector.alerting.conftest import T0, Store, devices, province
from tests.collector.test_cli import canhgac


def test_alerts_list_ack_and_silences(make_store: Callable[..., Store], tmp_path: Path) -> None:
    import datetime as dt

    store = make_store()
    store.host("ok", "XA-B", "up", T0)
    store.host("pc-b", "XA-B", "down", T0)
    store.host("ok-a", "XA-A", "up", T0)
    store.engine.evaluate(T0 + dt.timedelta(seconds=1))
    cfg = tmp_path / "server.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {"database_url": store.config.database_url, "sites": province(), "devices": devices()},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    c = str(cfg)
    r = canhgac("alerts", "list", "--config", c, "--site", "XA-B", "--open", "--json")
    assert r.returncode == 0, r.stderr
    [alert] = json.loads(r.stdout)["alerts"]
    assert (alert["rule"], alert["site"], alert["state"]) == ("host_down", "XA-B", "firing")
    r = canhgac("alerts", "list", "--config", c, "--site", "XA-A", "--json")
    assert json.loads(r.stdout) == {"alerts": []}
    r = canhgac(
        "alerts", "ack", str(alert["id"]), "--config", c, "--comment", "Đã báo nhà mạng", "--by", "Lan"
    )
    assert r.returncode == 0, r.stderr
    assert "acknowledged" in r.stdout
    assert canhgac("alerts", "ack", "999999", "--config", c).returncode == 4

    r = canhgac(
        "alerts",
        "silence",
        "add",
        "--config",
        c,
        "--name",
        "Tết 2027",
        "--site",
        "XA-A",
        "--dates",
        "2027-02-05..2027-02-11",
        "--dates",
        "12-31..01-01",
    )
    assert r.returncode == 0, r.stderr
    r = canhgac(
        "alerts", "silence", "add", "--config", c, "--name", "x", "--site", "XA-A", "--weekly", "9@22:00"
    )
    assert r.returncode == 2
    assert "--weekly" in r.stderr
    r = canhgac("alerts", "silence", "list", "--config", c, "--json")
    [sil] = json.loads(r.stdout)["silences"]
    assert (sil["name"], sil["site"], sil["kind"]) == ("Tết 2027", "XA-A", "dates")
    assert sil["schedule"]["dates"] == [
        {"start": "2027-02-05", "end": "2027-02-11"},
        {"start": "12-31", "end": "01-01"},
    ]
    assert canhgac("alerts", "silence", "delete", str(sil["id"]), "--config", c).returncode == 0
    r = canhgac("alerts", "list", "--config", c, "--state", "bogus")
    assert r.returncode == 2
    assert "--state 'bogus'" in r.stderr
