"""Wireless-zone and WAN facts (VLAN names on ports/SVIs, ACLs applied to interfaces, static default
routes) on every platform, and the NW-02/NW-33 rules judging them with the config lines as evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from canhgac_rules.configs import parse_config
from canhgac_rules.engine import Target, evaluate, prepare_rule
from canhgac_rules.loader import LoadedRule
from canhgac_rules.validate import load_default_packs

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
RULES = {rule.id: rule for pack in load_default_packs() for rule in pack.rules}

# An edge router of a district people's committee: a wireless VLAN whose gateway filters it, an AP port in
# it, and two Internet links (main carrier + floating backup). Per platform, the same network.
EDGE = {
    "cisco_ios": """hostname HUYEN-DL-RTR
vlan 10
 name CAN-BO
vlan 30
 name WIFI-KHACH
interface GigabitEthernet0/1/0
 description Wifi AP hoi truong
 switchport mode access
 switchport access vlan 30
interface Vlan30
 description SVI WIFI-KHACH
 ip address 10.20.30.1 255.255.255.0
 ip access-group WIFI-IN in
ip access-list extended WIFI-IN
 deny ip 10.20.30.0 0.0.0.255 10.20.0.0 0.0.255.255
 permit ip any any
ip route 0.0.0.0 0.0.0.0 203.0.113.1
ip route 0.0.0.0 0.0.0.0 Dialer1 198.51.100.1 250
end
""",
    "huawei_vrp": """sysname HUYEN-DL-RTR
#
vlan 30
 description WIFI-KHACH
#
interface GigabitEthernet0/0/3
 description Wifi AP hoi truong
 port link-type access
 port default vlan 30
#
interface Vlanif30
 ip address 10.20.30.1 255.255.255.0
 traffic-filter inbound acl 3030
#
ip route-static 0.0.0.0 0 203.0.113.1
ip route-static 0.0.0.0 0 198.51.100.1 preference 100
#
return
""",
    "hp_comware": """ sysname HUYEN-DL-RTR
#
vlan 30
 name WIFI-KHACH
#
interface GigabitEthernet1/0/3
 port link-mode bridge
 description Wifi AP hoi truong
 port access vlan 30
#
interface Vlan-interface30
 ip address 10.20.30.1 255.255.255.0
 packet-filter 3030 inbound
#
 ip route-static 0.0.0.0 0 203.0.113.1
 ip route-static 0.0.0.0 0 198.51.100.1 preference 100
#
return
""",
    "juniper_junos": """set system host-name HUYEN-DL-RTR
set interfaces ge-0/0/3 description "Wifi AP hoi truong"
set interfaces ge-0/0/3 unit 0 family ethernet-switching interface-mode access
set interfaces ge-0/0/3 unit 0 family ethernet-switching vlan members WIFI-KHACH
set interfaces irb unit 30 family inet address 10.20.30.1/24
set interfaces irb unit 30 family inet filter input WIFI-IN
set vlans WIFI-KHACH vlan-id 30
set vlans WIFI-KHACH l3-interface irb.30
set routing-options static route 0.0.0.0/0 next-hop 203.0.113.1
set routing-options static route 0.0.0.0/0 qualified-next-hop 198.51.100.1 preference 10
""",
}
AP_PORT = {
    "cisco_ios": "GigabitEthernet0/1/0",
    "huawei_vrp": "GigabitEthernet0/0/3",
    "hp_comware": "GigabitEthernet1/0/3",
    "juniper_junos": "ge-0/0/3",
}
SVI = {
    "cisco_ios": "Vlan30",
    "huawei_vrp": "Vlanif30",
    "hp_comware": "Vlan-interface30",
    "juniper_junos": "irb.30",
}
# The same network done wrong: the AP port in the staff VLAN, the wireless gateway unfiltered, one link.
BREAK = {
    "cisco_ios": [
        ("switchport access vlan 30", "switchport access vlan 10"),
        (" ip access-group WIFI-IN in\n", ""),
        ("ip route 0.0.0.0 0.0.0.0 Dialer1 198.51.100.1 250\n", ""),
    ],
    "huawei_vrp": [
        ("port default vlan 30", "port default vlan 10"),
        (" traffic-filter inbound acl 3030\n", ""),
        ("ip route-static 0.0.0.0 0 198.51.100.1 preference 100\n", ""),
    ],
    "hp_comware": [
        ("port access vlan 30", "port access vlan 10"),
        (" packet-filter 3030 inbound\n", ""),
        (" ip route-static 0.0.0.0 0 198.51.100.1 preference 100\n", ""),
    ],
    "juniper_junos": [
        ("vlan members WIFI-KHACH", "vlan members CAN-BO"),
        ("set interfaces irb unit 30 family inet filter input WIFI-IN\n", ""),
        ("set routing-options static route 0.0.0.0/0 qualified-next-hop 198.51.100.1 preference 10\n", ""),
    ],
}


def _broken(platform: str) -> str:
    text = EDGE[platform]
    for old, new in BREAK[platform]:
        assert old in text
        text = text.replace(old, new)
    if platform == "juniper_junos":
        text += "set vlans CAN-BO vlan-id 10\n"
    return text


def _judge(
    rule: LoadedRule, text: str, platform: str, role: str = "router"
) -> tuple[str, list[dict[str, object]]]:
    parsed = parse_config(text, platform=platform, source="edge.cfg")
    target = Target(
        name="edge",
        kind="device",
        facts=parsed.facts,
        platform=platform,
        role=role,
        source="edge.cfg",
        lines_for=parsed.lines_for,
    )
    finding = evaluate(prepare_rule(rule, 3), target, NOW)
    return finding.result, finding.evidence


@pytest.mark.parametrize("platform", sorted(EDGE))
def test_edge_facts_with_their_lines(platform: str) -> None:
    parsed = parse_config(EDGE[platform], platform=platform, source="edge.cfg")
    facts = parsed.facts
    hops = [route["next_hop"] for route in facts["default_routes"]]
    assert hops[0] == "203.0.113.1"
    assert hops[1].endswith("198.51.100.1")
    assert len(hops) == 2
    assert facts["default_routes"][1]["distance"] in (10, 100, 250)
    by_name = {i["name"]: i for i in facts["interfaces"]}
    assert by_name[AP_PORT[platform]]["vlan_name"] == "WIFI-KHACH"
    svi = by_name[SVI[platform]]
    assert (svi["svi_vlan"], svi["vlan_name"]) == (30, "WIFI-KHACH")
    assert svi["acl_in"] in ("WIFI-IN", "3030")
    assert svi["acl_out"] is None
    route_lines = [text for _, text in parsed.lines_for("default_routes")]
    assert any("203.0.113.1" in t for t in route_lines)
    assert any("198.51.100.1" in t for t in route_lines)
    assert any("WIFI-KHACH" in t for _, t in parsed.lines_for(f"interfaces[{AP_PORT[platform]}].vlan_name"))


@pytest.mark.parametrize("platform", sorted(EDGE))
def test_wireless_zone_and_wan_rules_pass_then_fail_with_evidence(platform: str) -> None:
    checks = {
        "DEV-WLAN-AP-PORTS-IN-WLAN-VLAN": AP_PORT[platform],
        "DEV-WLAN-GATEWAY-ACL": SVI[platform],
        "DEV-WAN-REDUNDANT-DEFAULT-ROUTES": "203.0.113.1",
    }
    for rule_id, shown in checks.items():
        result, _ = _judge(RULES[rule_id], EDGE[platform], platform)
        assert result == "pass", (rule_id, platform)
        result, evidence = _judge(RULES[rule_id], _broken(platform), platform)
        assert result == "fail", (rule_id, platform)
        quoted = [text for item in evidence for _, text in item.get("lines", [])]
        assert quoted, (rule_id, evidence)  # the config lines behind the failure
        assert any(shown in str(item["path"]) or shown in " ".join(quoted) for item in evidence), evidence


def test_wireless_vlan_is_found_by_name_and_a_network_without_one_fails() -> None:
    rule = RULES["DEV-WLAN-VLAN-SEPARATE"]
    core = EDGE["cisco_ios"].replace("HUYEN-DL-RTR", "HUYEN-DL-CORE")
    assert _judge(rule, core, "cisco_ios", "core")[0] == "pass"
    assert _judge(rule, core.replace("WIFI-KHACH", "KHONG-DAY"), "cisco_ios", "core")[0] == "pass"
    no_wifi = core.replace("WIFI-KHACH", "KHACH")
    result, evidence = _judge(rule, no_wifi, "cisco_ios", "core")
    assert result == "fail"
    assert any("no matching line" in str(item["value"]) for item in evidence)
