"""Finding the switch port of a MAC or IP: the access port wins over uplinks that also learned it,
MACs in the usual spellings, clear errors for bad input, 404 when never seen or out of scope."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.api.conftest import Api
from tests.api.device_fixtures import make_device_api, populate

PC1 = "00:50:56:aa:00:01"


@pytest.fixture
def api(make_api: Callable[..., Api], tmp_path: Path) -> Api:
    api = make_device_api(make_api, tmp_path)
    populate(api)
    return api


def test_a_mac_is_found_on_its_access_port_not_the_uplinks(api: Api) -> None:
    operator = api.token("operator")
    for spelling in (PC1, "00-50-56-AA-00-01", "0050.56aa.0001", "005056AA0001"):
        r = api.get("/api/v1/locate", operator, mac=spelling)
        assert r.status_code == 200, (spelling, r.text)
        found = r.json()
        assert found["mac"] == PC1
        # sw-a1 port 2 also has an IP phone (an LLDP neighbour that is no switch): still the access port.
        port = found["port"]
        assert (port["device"], port["ifName"], port["ifIndex"], port["vlan"], port["site"]) == (
            "sw-a1",
            "Gi0/2",
            2,
            10,
            "XA-A",
        )
        assert port["uplink"] is False
        assert port["macs_on_port"] == 1
        assert {(o["device"], o["ifName"], o["uplink"]) for o in found["others"]} == {
            ("dist-d1", "Gi0/1", True),
            ("core-p", "Gi0/1", True),
        }
        assert found["ip"] == "10.20.1.11"
        assert found["arp"][0] == {
            "ip": "10.20.1.11",
            "mac": PC1,
            "device": "core-p",
            "last_seen": found["arp"][0]["last_seen"],
        }


def test_an_ip_is_found_through_arp(api: Api) -> None:
    operator = api.token("operator")
    found = api.get("/api/v1/locate", operator, ip="10.20.1.11").json()
    assert (found["mac"], found["ip"], found["port"]["device"], found["port"]["ifName"]) == (
        PC1,
        "10.20.1.11",
        "sw-a1",
        "Gi0/2",
    )
    # Known to ARP only (its MAC not in any FDB): the pair, and no port.
    only_arp = api.get("/api/v1/locate", operator, ip="10.20.2.22").json()
    assert only_arp["port"] is None
    assert only_arp["mac"] == "00:50:56:bb:00:02"
    # A MAC learned without a VLAN.
    no_vlan = api.get("/api/v1/locate", operator, mac="00:50:56:aa:00:02").json()
    assert no_vlan["port"]["vlan"] is None
    assert no_vlan["port"]["ifName"] == "Gi0/3"
    assert no_vlan["ip"] is None


def test_bad_input_is_a_clear_problem_and_unknown_is_404(api: Api) -> None:
    admin = api.token("admin")
    for params in ({"mac": "00:50:56:aa:00"}, {"mac": "zz:50:56:aa:00:01"}, {"ip": "10.20.1"}, {"ip": "x"}):
        r = api.get("/api/v1/locate", admin, **params)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")
        assert next(iter(params)) in r.json()["detail"]
    nothing = api.get("/api/v1/locate", admin)
    assert nothing.status_code == 404
    assert "give mac= or ip=" in nothing.json()["detail"]
    both = api.get("/api/v1/locate", admin, mac=PC1, ip="10.20.1.11").json()
    assert (both["port"]["device"], both["ip"]) == ("sw-a1", "10.20.1.11")
    for other_ip in ("10.9.9.9", "10.20.2.22"):  # unknown, or another MAC's address: no pair
        assert api.get("/api/v1/locate", admin, mac=PC1, ip=other_ip).json()["arp"] == []
    for params in ({"mac": "02:00:00:00:00:99"}, {"ip": "192.0.2.1"}, {"ip": "::1"}):
        r = api.get("/api/v1/locate", admin, **params)
        assert r.status_code == 404, params
        assert "has not been seen" in r.json()["detail"]


def test_locate_is_scoped(api: Api) -> None:
    officer_a = api.token("officer", "XA-A")
    found = api.get("/api/v1/locate", officer_a, mac=PC1).json()
    assert found["port"]["device"] == "sw-a1"
    assert found["others"] == []  # the district and province switches are not theirs to see
    assert found["arp"] == []
    officer_b = api.token("officer", "XA-B")
    assert api.get("/api/v1/locate", officer_b, mac=PC1).status_code == 404
    assert api.get("/api/v1/locate", officer_b, ip="10.20.1.11").status_code == 404
