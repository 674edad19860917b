"""Firewall: nftables, iptables and ufw on Linux; netsh profiles on Windows (localised output too)."""

from __future__ import annotations

from canhgac_agent.facts.firewall import (
    firewall_from_profiles,
    parse_iptables_save,
    parse_netsh_allprofiles,
    parse_nft_ruleset,
    parse_ufw_conf,
)
from canhgac_api.schemas.report import FirewallState
from tests.agent.facts.samples import IPTABLES_SAVE, NETSH_ALL_ON, NFT_RULESET, profile_block


def test_parse_nft_ruleset() -> None:
    r = parse_nft_ruleset(NFT_RULESET)
    assert (r.rules_count, r.input_policy, r.input_rules, r.input_filtered) == (6, "drop", 5, True)


def test_parse_nft_ruleset_empty_and_accepting() -> None:
    assert parse_nft_ruleset("").input_policy is None
    open_input = (
        "table inet filter {\n chain input {\n  type filter hook input priority 0; policy accept;\n }\n}\n"
    )
    r = parse_nft_ruleset(open_input)
    assert (r.rules_count, r.input_policy, r.input_filtered) == (0, "accept", False)


def test_parse_iptables_save() -> None:
    r = parse_iptables_save(IPTABLES_SAVE)
    assert (r.rules_count, r.input_policy, r.input_rules, r.input_filtered) == (4, "drop", 3, True)
    empty = parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
    assert (empty.rules_count, empty.input_policy, empty.input_filtered) == (0, "accept", False)
    assert parse_iptables_save("random\n-A INPUT\n").rules_count == 0  # outside any table


def test_parse_ufw_conf() -> None:
    conf = "# /etc/ufw/ufw.conf\n#\n\n# Set to yes to start on boot.\nENABLED=yes\n\nLOGLEVEL=low\n"
    assert parse_ufw_conf(conf) is True
    assert parse_ufw_conf("ENABLED=no\n") is False
    assert parse_ufw_conf("ENABLED=maybe\n") is None
    assert parse_ufw_conf("") is None


NETSH_PUBLIC_OFF = (
    profile_block("Domain Profile Settings", "ON", "BlockInbound,AllowOutbound")
    + profile_block("Private Profile Settings", "ON", "AllowInbound,AllowOutbound")
    + profile_block("Public Profile Settings", "OFF", "BlockInbound,AllowOutbound")
    + "Ok.\n\n"
)


def test_netsh_all_profiles_on() -> None:
    profiles = parse_netsh_allprofiles(NETSH_ALL_ON)
    assert [p["profile"] for p in profiles] == ["Domain", "Private", "Public"]
    state = firewall_from_profiles(profiles)
    FirewallState.model_validate(state)
    assert state["enabled"] is True
    assert state["default_input_policy"] == "block"
    assert state["detail"] == "Domain=ON(block), Private=ON(block), Public=ON(block)"


def test_netsh_one_profile_off() -> None:
    state = firewall_from_profiles(parse_netsh_allprofiles(NETSH_PUBLIC_OFF))
    FirewallState.model_validate(state)
    assert state["enabled"] is False
    assert state["default_input_policy"] == "allow"


def test_netsh_localised_output_is_not_guessed() -> None:
    german = profile_block("Domänenprofil-Einstellungen", "EIN", "BlockInbound,AllowOutbound") + "OK.\n"
    state = firewall_from_profiles(parse_netsh_allprofiles(german))
    FirewallState.model_validate(state)
    assert state["enabled"] is None  # "EIN" is not ON/OFF: unknown, never a wrong answer
    assert state["default_input_policy"] == "block"


def test_netsh_garbage() -> None:
    assert (
        parse_netsh_allprofiles("The requested operation requires elevation (Run as administrator).\n") == []
    )
    state = firewall_from_profiles([])
    FirewallState.model_validate(state)
    assert state["enabled"] is None
