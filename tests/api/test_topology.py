"""The topology graph from LLDP/CDP neighbours: one node per device, one edge per link however many
ends report it, unknown neighbours as their own nodes, and nothing outside the caller's scope."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.api.conftest import Api
from tests.api.device_fixtures import SECRETS, Neighbor, make_device_api, populate, sink, up


def links(graph: dict[str, Any]) -> set[frozenset[str]]:
    return {frozenset((e["source"], e["target"])) for e in graph["edges"]}


def test_graph_has_each_link_once_and_unknown_neighbours_as_nodes(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = make_device_api(make_api, tmp_path)
    populate(api)
    graph = api.get("/api/v1/topology", api.token("operator")).json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert {i for i, n in nodes.items() if n["kind"] == "device"} == {
        "device:core-p",
        "device:dist-d1",
        "device:sw-a1",
        "device:sw-b1",
    }
    assert nodes["device:core-p"] == {
        "id": "device:core-p",
        "kind": "device",
        "name": "core-p",
        "site": "P",
        "state": "up",
        "vendor": "cisco",
    }
    assert nodes["unknown:SEP001122334455"]["kind"] == "unknown"
    # core-p↔dist-d1 reported by both ends (dist-d1 spells its port "GigabitEthernet0/4"): one edge.
    assert links(graph) == {
        frozenset(("device:core-p", "device:dist-d1")),
        frozenset(("device:core-p", "device:sw-b1")),  # "SW-B1.xa-b.gov.vn" → sw-b1
        frozenset(("device:dist-d1", "device:sw-a1")),
        frozenset(("device:sw-a1", "unknown:SEP001122334455")),
    }
    assert len(graph["edges"]) == 4
    core_dist = next(
        e for e in graph["edges"] if {e["source"], e["target"]} == {"device:core-p", "device:dist-d1"}
    )
    ports = {core_dist["source"]: core_dist["source_port"], core_dist["target"]: core_dist["target_port"]}
    assert ports["device:core-p"] == "Gi0/1"
    assert core_dist["protocol"] == "lldp"
    for secret in SECRETS:
        assert secret not in str(graph)


def test_parallel_links_stay_two_edges(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(make_api, tmp_path)
    sink(api).write_many(
        [
            up(
                "core-p",
                neighbors=[
                    Neighbor("lldp", 1, "Gi0/1", "dist-d1", "Gi0/4"),
                    Neighbor("lldp", 2, "Gi0/2", "dist-d1", "Gi0/3"),
                ],
            ),
            up(
                "dist-d1",
                neighbors=[
                    Neighbor("lldp", 4, "Gi0/4", "core-p", "Gi0/1"),
                    Neighbor("lldp", 3, "Gi0/3", "core-p", "Gi0/2"),
                ],
            ),
        ]
    )
    graph = api.get("/api/v1/topology", api.token("admin")).json()
    assert len(graph["edges"]) == 2


def test_topology_is_scoped_and_filtered_by_site(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_device_api(make_api, tmp_path)
    populate(api)
    officer_a = api.token("officer", "XA-A")
    graph = api.get("/api/v1/topology", officer_a).json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert [i for i, n in nodes.items() if n["kind"] == "device"] == ["device:sw-a1"]
    # dist-d1 is outside XA-A: only the name sw-a1 itself reported, no state, site or vendor.
    assert nodes["unknown:dist-d1"] == {
        "id": "unknown:dist-d1",
        "kind": "unknown",
        "name": "dist-d1",
        "site": None,
        "state": None,
        "vendor": None,
    }
    assert "device:core-p" not in nodes
    assert "device:sw-b1" not in nodes
    assert api.get("/api/v1/topology", officer_a, site="XA-B").status_code == 404

    d1 = api.get("/api/v1/topology", api.token("admin"), site="D1").json()
    assert {n["id"] for n in d1["nodes"] if n["kind"] == "device"} == {"device:dist-d1", "device:sw-a1"}
    assert frozenset(("device:dist-d1", "device:sw-a1")) in links(d1)
    assert api.get("/api/v1/topology", api.token("admin"), site="NOPE").status_code == 404


def test_approving_stores_the_current_links_with_who_and_when(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    from sqlalchemy import select

    from canhgac_collector.store.models import TopologySnapshot

    api = make_device_api(make_api, tmp_path)
    populate(api)
    operator = api.token("operator")
    r = api.client.post("/api/v1/topology/approve", params={"site": "P"}, headers=api.auth(operator))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["site"] == "P"
    assert body["links"] == 4  # the same links the graph draws, each once
    assert body["approved_by"].startswith("token:")
    with api.sessions() as session:
        stored = session.scalars(select(TopologySnapshot)).one()
        ends = {frozenset((link["a"], link["b"])) for link in stored.links}
    assert frozenset(("core-p", "dist-d1")) in ends
    assert frozenset(("sw-a1", "SEP001122334455")) in ends
    officer = api.token("officer", site="XA-A")
    denied = api.client.post("/api/v1/topology/approve", params={"site": "XA-A"}, headers=api.auth(officer))
    assert denied.status_code == 403
    scoped = api.token("operator", site="XA-B")
    hidden = api.client.post("/api/v1/topology/approve", params={"site": "XA-A"}, headers=api.auth(scoped))
    assert hidden.status_code == 404
    with api.sessions() as session:
        assert len(session.scalars(select(TopologySnapshot)).all()) == 1  # refused calls stored nothing
