"""Approved lists: the `lan:` section is validated (unknown keys, bad MACs and unknown sites refused with
their path) and mirrored into the store, where API entries survive a config reload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from canhgac_collector.config import ConfigError, ServerConfig, load_config
from canhgac_collector.lan.approved import replace_api_approved, sync_config_approved
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.models import LanApproved, Site
from canhgac_collector.store.sites import sync_sites


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("lan:\n  sites:\n    XA-A:\n      aproved: []\n", "lan.sites.XA-A.aproved"),
        (
            "lan:\n  sites:\n    XA-A:\n      approved: [{mac: 'zz:00', label: x}]\n",
            "lan.sites.XA-A.approved.0.mac",
        ),
        ("lan:\n  sites:\n    XA-A:\n      gateways: [10.0.0.300]\n", "lan.sites.XA-A.gateways.0"),
        ("lan:\n  sites:\n    NOWHERE: {}\n", "site 'NOWHERE' is not in the site tree"),
        ("lan:\n  max_devices_per_site: 1\n", "lan.max_devices_per_site"),
    ],
)
def test_bad_lan_section_says_where(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("sites: [{code: XA-A, name: Xã A, kind: commune}]\n" + yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value)


def test_config_rows_follow_the_config_and_api_rows_stay(make_config: Callable[..., ServerConfig]) -> None:
    cfg = make_config(
        lan={"sites": {"XA-A": {"approved": [{"mac": "00-1B-A9-12-34-56", "label": "Máy in"}]}}}
    )
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    try:
        with sessions.begin() as session:
            ids = sync_sites(session, resolve_tree(cfg))
            assert sync_config_approved(session, cfg.lan, ids) == 1
            site = session.scalars(select(Site).where(Site.code == "XA-A")).one()
            replace_api_approved(session, site, [("gateway", "10.0.0.1", "api")], "token:t1")
        reloaded = make_config(lan={"sites": {"XA-B": {"dhcp_servers": ["10.1.0.1"]}}})
        with sessions.begin() as session:
            sync_config_approved(session, reloaded.lan, ids)
        with sessions() as session:
            rows = {(r.site_id, r.kind, r.value, r.origin) for r in session.scalars(select(LanApproved))}
        assert rows == {
            (ids["XA-A"], "gateway", "10.0.0.1", "api"),
            (ids["XA-B"], "dhcp_server", "10.1.0.1", "config"),
        }
    finally:
        engine.dispose()
