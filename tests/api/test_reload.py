"""`Server.reload` inside the running app (SQLite and PostgreSQL): a new site, its key and contacts, and a
new alert channel take effect for the next request and the next evaluation; a config that cannot be
applied changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from canhgac_api.context import AppContext
from canhgac_collector.alerting import routing
from canhgac_collector.config import ServerConfig
from canhgac_collector.reload import ReloadError
from canhgac_collector.server import Server
from canhgac_collector.store.models import Site
from tests.api.conftest import Api
from tests.conftest import site_tree
from tests.harness.reports import make_report

NEW_KEY = "commune-c-key-0123456789"


def _with_commune_c(**alerting: Any) -> dict[str, Any]:
    tree = site_tree()
    tree[0]["children"].append(
        {
            "code": "XA-C",
            "name": "Xã C",
            "kind": "commune",
            "level": 2,
            "contacts": [{"name": "Cán bộ xã C", "email": "xac@example.gov.vn"}],
            "enrollment_keys": [NEW_KEY],
            "probe_targets": [{"name": "xa-c-gw", "kind": "icmp", "host": "127.0.0.1"}],
        }
    )
    return {"sites": tree, "alerting": alerting}


def _server(api: Api) -> tuple[Server, AppContext]:
    ctx: AppContext = api.client.app.state.ctx  # type: ignore[attr-defined]
    assert ctx.server is not None
    return ctx.server, ctx


def test_reload_adds_a_site_its_key_contacts_and_a_channel(
    make_api: Callable[..., Api], make_config: Callable[..., ServerConfig]
) -> None:
    api = make_api()
    server, ctx = _server(api)
    r = api.client.post(
        "/api/v1/agents/enroll",
        json={"enrollment_key": NEW_KEY, "machine_id": "m-c1", "hostname": "pc-c1"},
    )
    assert r.status_code == 401, r.text

    webhook = {"name": "soc", "url": "http://127.0.0.1:9/hook", "site": "XA-C"}
    new = make_config(**_with_commune_c(webhooks=[webhook], evaluate_interval_s=30))
    assert api.client.portal is not None
    done = api.client.portal.call(server.reload, new)
    assert done.sites_added == ["XA-C"]
    assert done.restart_needed == []

    enrolled = api.enroll(NEW_KEY, "m-c1", "pc-c1")
    assert [t["name"] for t in enrolled["settings"]["probe_targets"]] == [
        "provincial-dc",
        "portal",
        "xa-c-gw",
    ]
    engine = server.alerting.engine
    assert engine.tree["XA-C"].config.contacts[0].name == "Cán bộ xã C"
    assert [s.channel for s in routing.subscribers("XA-C", engine.cfg, engine.tree)] == ["webhook:soc"]
    assert server.alerting.dispatcher.sender("webhook:soc") is not None
    assert server.alerting.config.alerting.evaluate_interval_s == 30
    assert ctx.config is server.config
    with api.sessions() as session:
        site = session.scalars(select(Site).where(Site.code == "XA-C")).one()
        assert site.contacts == [{"name": "Cán bộ xã C", "email": "xac@example.gov.vn"}]
        assert site.path == "/P/XA-C/"


def test_reload_that_cannot_apply_changes_nothing(
    make_api: Callable[..., Api], make_config: Callable[..., ServerConfig]
) -> None:
    api = make_api()
    server, ctx = _server(api)
    before = (server.config, dict(server.site_ids), server.alerting.engine)
    bad = make_config(**_with_commune_c(overrides=[{"site": "NO-SUCH", "rules": {}}]))
    assert api.client.portal is not None
    with pytest.raises(ReloadError, match="NO-SUCH"):
        api.client.portal.call(server.reload, bad)
    assert (server.config, server.site_ids, server.alerting.engine) == before
    assert ctx.config is before[0]
    with api.sessions() as session:
        assert session.scalars(select(Site).where(Site.code == "XA-C")).one_or_none() is None
    r = api.client.post(
        "/api/v1/agents/enroll",
        json={"enrollment_key": NEW_KEY, "machine_id": "m-c1", "hostname": "pc-c1"},
    )
    assert r.status_code == 401


def test_listen_changes_are_reported_as_needing_a_restart(
    make_api: Callable[..., Api], make_config: Callable[..., ServerConfig]
) -> None:
    api = make_api()
    server, _ctx = _server(api)
    moved = make_config(listen={"port": 18080}, ingest={"rate_limit_burst": 99})
    assert api.client.portal is not None
    done = api.client.portal.call(server.reload, moved)
    assert done.restart_needed == ["listen", "ingest"]
    assert server.config.listen.port == api.config.listen.port  # not applied: it needs a restart


def test_agents_of_a_site_taken_out_by_a_reload_get_a_clear_refusal(
    make_api: Callable[..., Api], make_config: Callable[..., ServerConfig]
) -> None:
    api = make_api(**_with_commune_c())
    server, _ctx = _server(api)
    enrolled = api.enroll(NEW_KEY, "m-c1", "pc-c1")
    report = make_report(enrolled["agent_id"], 1, hostname="pc-c1", machine_id="m-c1")
    assert api.push(enrolled["token"], [report]).status_code == 200

    assert api.client.portal is not None
    api.client.portal.call(server.reload, make_config())  # XA-C is gone from the tree
    r = api.push(
        enrolled["token"], [make_report(enrolled["agent_id"], 2, hostname="pc-c1", machine_id="m-c1")]
    )
    assert r.status_code == 403, r.text
    assert r.json()["type"].endswith("site-retired")
