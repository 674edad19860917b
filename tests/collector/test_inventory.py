"""`canhgac inventory --ansible`'s structure: the tree as nested groups, hosts in their site's group,
and agent-reported hostnames that could reach `ssh` as options left out."""

from __future__ import annotations

from canhgac_collector.config import ServerConfig
from canhgac_collector.inventory import InventoryHost, build_inventory, group_name
from canhgac_collector.sitetree import resolve_tree

TREE = ServerConfig.model_validate(
    {
        "sites": [
            {
                "code": "HT",
                "name": "Hà Tĩnh",
                "kind": "province",
                "children": [
                    {
                        "code": "TH",
                        "name": "Thạch Hà",
                        "kind": "district",
                        "children": [{"code": "XA-1", "name": "Xã Một", "kind": "commune"}],
                    },
                    {"code": "SO.TTTT", "name": "Sở TTTT", "kind": "department"},
                ],
            }
        ]
    }
)


def host(
    name: str, site: str = "XA-1", os: str | None = "Debian GNU/Linux 12", agent: str = "a1"
) -> InventoryHost:
    return InventoryHost(hostname=name, site=site, os=os, agent_id=agent)


def test_groups_nest_like_the_site_tree() -> None:
    inv = build_inventory(
        resolve_tree(TREE), [host("pc-01"), host("KT-02", site="TH", os="Windows 10", agent="a2")]
    )
    province = inv.data["all"]["children"]["site_HT"]
    district = province["children"]["site_TH"]
    commune = district["children"]["site_XA_1"]
    assert commune["vars"] == {"canhgac_site": "XA-1"}
    assert commune["hosts"] == {
        "pc-01": {"ansible_host": "pc-01", "canhgac_agent_id": "a1", "canhgac_os": "Debian GNU/Linux 12"}
    }
    assert set(district["hosts"]) == {"kt-02"}
    assert set(province["children"]) == {"site_TH", "site_SO_TTTT"}
    assert province["children"]["site_SO_TTTT"] == {"vars": {"canhgac_site": "SO.TTTT"}}
    assert set(inv.data["all"]["children"]["canhgac_windows"]["hosts"]) == {"kt-02"}
    assert set(inv.data["all"]["children"]["canhgac_linux"]["hosts"]) == {"pc-01"}
    assert inv.skipped == []


def test_hostile_or_clashing_hostnames_are_left_out_with_a_reason() -> None:
    hosts = [
        host("-oProxyCommand=sh", agent="bad1"),
        host("pc 01", agent="bad2"),
        host("pc-01\n", agent="bad3"),
        host("pc-01", agent="good"),
        host("PC-01", agent="twin"),
        host("pc-09", site="GONE", agent="orphan"),
    ]
    inv = build_inventory(resolve_tree(TREE), hosts)
    commune = inv.data["all"]["children"]["site_HT"]["children"]["site_TH"]["children"]["site_XA_1"]
    assert list(commune["hosts"]) == ["pc-01"]
    assert commune["hosts"]["pc-01"]["canhgac_agent_id"] == "good"
    assert [line.split(":")[0] for line in inv.skipped] == [
        "host bad1 (site XA-1)", "host bad2 (site XA-1)", "host bad3 (site XA-1)", "host twin (site XA-1)",
        "host orphan (site GONE)",
    ]  # fmt: skip
    assert "not a DNS host name" in inv.skipped[0]
    assert "already used by host good" in inv.skipped[3]


def test_group_names_are_valid_ansible_names() -> None:
    assert group_name("SO.TTTT") == "site_SO_TTTT"
    assert group_name("xa-1") == "site_xa_1"
