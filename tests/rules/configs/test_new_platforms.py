"""TP-Link JetStream, MikroTik RouterOS and Ruijie RGOS: the defaults their configs leave unsaid, their
own syntax (flush-left blocks, continued lines, typed communities), detection, and fuzzed input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canhgac_rules.configs import ConfigParseError, ParsedConfig, detect_platform, parse_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
NEW = ("tplink_jetstream", "mikrotik_routeros", "ruijie_rgos")


def jetstream(*body: str) -> ParsedConfig:
    text = "\n".join(["!T2600G-28TS", "#", 'hostname "SW"', "#", *body, "#", "end", ""])
    return parse_config(text, source="sw.cfg")


def routeros(*body: str) -> ParsedConfig:
    text = "\n".join(["# 2026-11-20 09:14:02 by RouterOS 7.16", "/system identity", "set name=R1", *body, ""])
    return parse_config(text, source="r1.rsc")


def rgos(*body: str) -> ParsedConfig:
    text = "\n".join(["!", "version S29_RGOS 11.4(1)B74P2", "!", "hostname SW", "!", *body, "!", "end", ""])
    return parse_config(text, source="sw.cfg")


def test_jetstream_runs_telnet_and_the_web_ui_unless_the_config_turns_them_off() -> None:
    bare = jetstream()
    assert bare.platform == "tplink_jetstream"
    assert bare.facts["management"] == {
        "ssh_enabled": False,
        "ssh_version": None,
        "telnet_enabled": True,
        "http_server": True,
        "https_server": True,
    }
    assert [line["transport_input"] for line in bare.facts["lines"]] == [["telnet"]]
    hardened = jetstream("telnet disable", "ip ssh server", "no ip http server", "no ip http secure-server")
    assert hardened.facts["management"]["telnet_enabled"] is False
    assert hardened.facts["management"]["http_server"] is False
    assert hardened.facts["management"]["https_server"] is False
    assert hardened.lines_for("management.telnet_enabled") == [(5, "telnet disable")]


def test_jetstream_flush_left_blocks_and_general_mode_ports() -> None:
    parsed = jetstream(
        "vlan 30",
        'name "WIFI KHACH"',
        "#",
        "interface gigabitEthernet 1/0/7",
        "  switchport general allowed vlan 30 untagged",
        "  switchport pvid 30",
        "#",
        "interface gigabitEthernet 1/0/8",
        "#",
        "line vty 0 15",
        "password 0 123456",
        "login",
    )
    assert parsed.facts["vlans"] == [{"id": 30, "name": "WIFI KHACH"}]
    ports = {i["name"]: i for i in parsed.facts["interfaces"]}
    assert ports["gigabitEthernet1/0/7"]["access_vlan"] == 30
    assert ports["gigabitEthernet1/0/7"]["vlan_name"] == "WIFI KHACH"
    assert (ports["gigabitEthernet1/0/8"]["mode"], ports["gigabitEthernet1/0/8"]["access_vlan"]) == (
        "access",
        1,
    )
    (vty,) = parsed.facts["lines"]
    assert vty["login"] == "password"


def test_routeros_services_on_by_default_and_an_inline_menu_command() -> None:
    bare = routeros()
    mgmt = bare.facts["management"]
    assert (mgmt["telnet_enabled"], mgmt["ssh_enabled"], mgmt["http_server"], mgmt["https_server"]) == (
        True,
        True,
        True,
        False,
    )
    assert {line["name"] for line in bare.facts["lines"]} >= {"vty telnet", "vty winbox", "vty api"}
    off = routeros("/ip service set telnet disabled=yes", "/ip service", "set www disabled=yes")
    assert off.facts["management"]["telnet_enabled"] is False
    assert off.facts["management"]["http_server"] is False
    assert off.lines_for("management.telnet_enabled") == [(4, "/ip service set telnet disabled=yes")]


def test_routeros_snmp_default_community_and_continued_lines() -> None:
    assert routeros().facts["snmp"]["communities"] == []  # the agent is off until enabled
    on = routeros("/snmp", "set enabled=yes")
    assert on.facts["snmp"]["communities"] == [{"name": "public", "access": "ro", "acl": None}]
    restricted = routeros(
        "/snmp community",
        "set [ find default=yes ] addresses=10.0.99.20/32 \\",
        "    name=nms-ro",
        "/snmp",
        "set enabled=yes",
    )
    assert restricted.facts["snmp"]["communities"] == [
        {"name": "nms-ro", "access": "ro", "acl": "10.0.99.20/32"}
    ]
    assert (6, "    name=nms-ro") in restricted.lines_for("snmp.communities[nms-ro]")
    with pytest.raises(ConfigParseError, match="truncated") as info:
        routeros("/ip service", "set telnet \\")
    assert info.value.line == 5


def test_rgos_telnet_server_default_and_its_switch() -> None:
    bare = rgos("line vty 0 4", " login local")
    assert bare.facts["management"]["telnet_enabled"] is True  # server on, vty accepts all protocols
    assert bare.facts["management"]["ssh_enabled"] is False
    assert bare.facts["management"]["http_server"] is True
    off = rgos(
        "no enable service telnet-server", "enable service web-server https", "line vty 0 4", " login local"
    )
    assert off.facts["management"]["telnet_enabled"] is False
    assert (off.facts["management"]["http_server"], off.facts["management"]["https_server"]) == (False, True)
    ssh_only_lines = rgos("line vty 0 4", " transport input ssh")
    assert ssh_only_lines.facts["management"]["ssh_enabled"] is False  # no `enable service ssh-server`


def test_rgos_typed_community_and_host_limit() -> None:
    parsed = rgos("snmp-server community 7 0a1b2c3d ro host 10.0.99.20")
    assert parsed.facts["snmp"]["communities"] == [
        {"name": "0a1b2c3d", "access": "ro", "acl": "host 10.0.99.20"}
    ]


def test_detection_of_a_jetstream_template_with_sixteen_vty_blocks() -> None:
    vty = "\n".join(f"line vty {n} {n}\npassword 0 x\nlogin\n#" for n in range(16))
    text = (
        '!TL-SG3210\n#\nvlan 20\nname "mgmt"\n#\nhostname "sw"\n#\nlogging host index 1 10.0.0.1 6\n#\n'
        "user name admin privilege admin secret 5 $1$x\n#\n"
        'snmp-server community "c" read-only "viewDefault"\n#\n'
        f"{vty}\nend\n"
    )
    assert detect_platform(text) == "tplink_jetstream"
    parsed = parse_config(text, source="t.cfg")
    assert len(parsed.facts["lines"]) == 16


@pytest.mark.parametrize("platform", NEW)
def test_other_vendors_text_forced_as_a_new_platform_is_refused(platform: str) -> None:
    text = (FIXTURES / "juniper_junos" / "commune-bad.cfg").read_text()
    with pytest.raises(ConfigParseError) as info:
        parse_config(text, platform=platform, source="j.cfg")
    assert info.value.source == "j.cfg"


# -- fuzzing: whatever text a new parser is handed, only its parse error escapes ------------------------

_LINES = {
    p.parent.name: p.read_text().split("\n")
    for p in sorted(FIXTURES.glob("*/*"))
    if p.parent.name in NEW and p.suffix in (".cfg", ".rsc") and "truncated" not in p.name
}
_TOKENS = ["#", "!", "end", "/ip service", "set", "add", "\\", '"', "[ find", "]", "interface",
           "vlan 10", "line vty 0 4", "  switchport pvid", "enable service", "snmp-server community", "=",
           "user name"]  # fmt: skip


@st.composite
def new_platform_text(draw: st.DrawFn) -> tuple[str, str]:
    platform = draw(st.sampled_from(NEW))
    if draw(st.booleans()):
        return platform, draw(st.text(st.characters(codec="utf-8"), max_size=400))
    lines = list(draw(st.sampled_from([v for k, v in _LINES.items() if k == platform])))
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        op = draw(st.sampled_from(["delete", "garble", "token", "split", "join"]))
        if op == "delete" and lines:
            del lines[i : i + draw(st.integers(1, 15))]
        elif op == "garble" and lines:
            lines[i] = draw(st.text(max_size=60))
        elif op == "token":
            lines.insert(i, draw(st.sampled_from(_TOKENS)) + draw(st.text(max_size=10)))
        elif op == "split" and lines:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i : i + 1] = [lines[i][:cut] + "\\", "    " + lines[i][cut:]]
        elif op == "join" and len(lines) > i + 1:
            lines[i : i + 2] = [lines[i] + " " + lines[i + 1]]
    return platform, "\n".join(lines)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=new_platform_text(), forced=st.booleans())
def test_fuzzed_text_only_raises_the_parse_error(case: tuple[str, str], forced: bool) -> None:
    platform, text = case
    try:
        parsed = parse_config(text, platform=platform if forced else None, source="fuzz.cfg")
    except ConfigParseError as err:
        message = str(err)
    else:
        assert set(parsed.facts["management"]) == {
            "ssh_enabled",
            "ssh_version",
            "telnet_enabled",
            "http_server",
            "https_server",
        }
        return
    assert message.startswith("fuzz.cfg:")
    assert "unparseable config" not in message  # a parser bug wrapped as an error still fails
