"""Device-config parsers: expected facts and evidence lines per fixture, detection, bad input, fuzzing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canhgac_rules.configs import PLATFORMS, ConfigParseError, ParsedConfig, detect_platform, parse_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
EXPECTATIONS = sorted(FIXTURES.glob("*/*.facts.yaml"))
CONFIG_SUFFIXES = (".cfg", ".rsc")  # RouterOS exports are .rsc scripts
CONFIGS = sorted(p for p in FIXTURES.glob("*/*") if p.suffix in CONFIG_SUFFIXES)
WHOLE = [p for p in CONFIGS if "truncated" not in p.name]
TRUNCATED = [p for p in CONFIGS if "truncated" in p.name]

# The facts every parser must fill, written out independently of `canhgac_rules.configs.model.new_facts`
# so that changing the shape the rules read is a deliberate act: top-level keys with their section keys
# (None: a scalar or a list), then the keys of each list's items.
CONTRACT: dict[str, set[str] | None] = {
    "hostname": None,
    "management": {"ssh_enabled", "ssh_version", "telnet_enabled", "http_server", "https_server"},
    "lines": None,
    "users": None,
    "enable": {"secret_set", "password_cleartext"},
    "aaa": {"new_model", "radius_servers", "tacacs_servers", "dot1x_enabled"},
    "snmp": {"communities", "v3_users", "v3_groups", "trap_hosts", "contact", "location", "v1_v2c_enabled"},
    "logging": {"hosts", "trap_level", "timestamps_datetime", "buffered"},
    "ntp": {"servers", "authenticate"},
    "services": {
        "password_encryption",
        "pad",
        "source_route",
        "small_servers",
        "finger",
        "cdp",
        "lldp",
        "dhcp_snooping",
        "flow_export",
    },
    "interfaces": None,
    "vlans": None,
    "acls": None,
    "default_routes": None,
    "redundancy": {"vrrp_groups", "hsrp_groups", "port_channels", "stacking"},
    "banner": None,
}
ITEM_KEYS = {
    "lines": {"name", "kind", "login", "exec_timeout_s", "access_class", "transport_input"},
    "users": {"name", "privilege", "secret_kind"},
    "interfaces": {
        "name",
        "description",
        "shutdown",
        "mode",
        "access_vlan",
        "port_security",
        "dot1x",
        "channel_group",
        "ip_addresses",
        "svi_vlan",
        "physical",
        "acl_in",
        "acl_out",
        "vlan_name",
    },
    "vlans": {"id", "name"},
    "default_routes": {"next_hop", "distance"},
}


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


def fact_at(facts: dict[str, Any], path: str) -> Any:
    """Value at a contract path such as ``interfaces[Gi1/0/1].shutdown`` (dots inside [] are literal)."""
    value: Any = facts
    for name, key in re.findall(r"([^.\[\]]+)(?:\[([^\]]*)\])?\.?", path):
        value = value[name]
        if key:
            matches = [i for i in value if str(i.get("name", i.get("id"))) == key or str(i.get("id")) == key]
            assert matches, f"no item [{key}] in {name}"
            value = matches[0]
    return value


def assert_contract_shape(parsed: ParsedConfig) -> None:
    """Every contract key is present, with no extras, in the facts and in each list item."""
    facts = parsed.facts
    assert set(facts) == set(CONTRACT)
    for key, sub in CONTRACT.items():
        if sub is not None:
            assert set(facts[key]) == sub, key
    for listname, keys in ITEM_KEYS.items():
        for item in facts[listname]:
            assert set(item) == keys, (listname, item)
    for section in ("communities", "v3_users", "v3_groups"):
        want = {
            "communities": {"name", "access", "acl"},
            "v3_users": {"name", "group", "level"},
            "v3_groups": {"name", "level"},
        }[section]
        for item in facts["snmp"][section]:
            assert set(item) == want


@pytest.mark.parametrize("expect_path", EXPECTATIONS, ids=_ids(EXPECTATIONS))
def test_fixture_facts_and_evidence(expect_path: Path) -> None:
    expect = yaml.safe_load(expect_path.read_text())
    stem = expect_path.name.replace(".facts.yaml", "")
    cfg = next(
        expect_path.with_name(stem + suffix)
        for suffix in CONFIG_SUFFIXES
        if (expect_path.with_name(stem + suffix)).exists()
    )
    text = cfg.read_text()
    file_lines = text.split("\n")
    parsed = parse_config(text, source=cfg.name)
    assert parsed.platform == expect["platform"] == cfg.parent.name
    assert parsed.source == cfg.name
    assert_contract_shape(parsed)
    wrong = {
        path: (fact_at(parsed.facts, path), want)
        for path, want in expect["facts"].items()
        if fact_at(parsed.facts, path) != want
    }
    assert not wrong, f"facts differ (got, expected): {wrong}"
    for listname, count in expect.get("counts", {}).items():
        assert len(fact_at(parsed.facts, listname)) == count, listname
    for path, pairs in expect["provenance"].items():
        evidence = parsed.lines_for(path)
        if not pairs:
            assert evidence == [], path
        for number, line in pairs:
            assert file_lines[number - 1] == line, f"fixture line {number} changed"
            assert (number, line) in evidence, f"{path}: ({number}, {line!r}) not in {evidence}"
    for path, evidence in parsed.provenance.items():  # every recorded line is quoted exactly as written
        for number, line in evidence:
            assert file_lines[number - 1] == line, (path, number)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids(CONFIGS))
def test_detection_picks_the_fixture_platform(cfg: Path) -> None:
    assert detect_platform(cfg.read_text()) == cfg.parent.name


@pytest.mark.parametrize("cfg", TRUNCATED, ids=_ids(TRUNCATED))
def test_truncated_config_is_an_error_naming_file_and_line(cfg: Path) -> None:
    text = cfg.read_text()
    with pytest.raises(ConfigParseError) as info:
        parse_config(text, source=cfg.name)
    err = info.value
    assert err.source == cfg.name
    assert 1 <= err.line <= len(text.split("\n"))
    assert "truncated" in err.reason
    assert str(err) == f"{cfg.name}:{err.line}: {err.reason}"


def test_each_platform_has_good_bad_and_truncated_fixtures() -> None:
    for platform in PLATFORMS:
        names = {p.name for p in (FIXTURES / platform).glob("*") if p.suffix in CONFIG_SUFFIXES}
        assert any("good" in n for n in names), platform
        assert any("bad" in n for n in names), platform
        assert any("truncated" in n for n in names), platform
        assert len(list((FIXTURES / platform).glob("*.facts.yaml"))) >= 2, platform


def _fixture(platform: str, kind: str) -> str:
    path = next(p for p in WHOLE if p.parent.name == platform and kind in p.name)
    return path.read_text()


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("   \n\n  \n", 1, "empty"),
        ("hostname a\n\x00\x01\x02\x89PNG\x1a\n", 2, "binary"),
        ("server {\n  listen 80;\n  root /var/www;\n}\n", 1, "unknown vendor"),
    ],
    ids=["empty", "blank", "binary", "nginx-config"],
)
def test_unusable_input_is_a_clear_error(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigParseError) as info:
        parse_config(text, source="upload.cfg")
    assert info.value.line == line
    assert words in info.value.reason
    assert str(info.value).startswith(f"upload.cfg:{line}: ")


def test_mostly_undecodable_bytes_are_binary_but_a_legacy_encoded_description_is_not() -> None:
    blob = (b"\x89PNG\r\n" + bytes(range(128, 256)) * 4).decode("utf-8", errors="replace")
    with pytest.raises(ConfigParseError, match="binary"):
        parse_config(blob, platform="cisco_ios", source="logo.png")
    good = _fixture("cisco_ios", "good")
    cp1258 = b"Ph\xf2ng K\xea to\xe1n".decode("utf-8", errors="replace")  # as the audit CLI reads it
    text = good.replace("description Ke toan - Tran Thi Lan", f"description {cp1258}")
    parsed = parse_config(text, source="legacy.cfg")
    assert "\ufffd" in fact_at(parsed.facts, "interfaces[GigabitEthernet1/0/1].description")


def test_unknown_platform_name_is_refused() -> None:
    with pytest.raises(ConfigParseError, match="unknown platform 'cisco_nxos'"):
        parse_config(_fixture("cisco_ios", "good"), platform="cisco_nxos", source="a.cfg")


@pytest.mark.parametrize(
    ("given", "forced"),
    [
        ("juniper_junos", "cisco_ios"),
        ("cisco_ios", "juniper_junos"),
        ("huawei_vrp", "cisco_ios"),
        ("cisco_ios", "huawei_vrp"),
        ("hp_comware", "juniper_junos"),
        ("juniper_junos", "hp_comware"),
    ],
)
def test_wrong_platform_says_almost_nothing_matched(given: str, forced: str) -> None:
    for kind in ("good", "bad"):
        with pytest.raises(ConfigParseError) as info:
            parse_config(_fixture(given, kind), platform=forced, source="sw.cfg")
        assert "wrong platform" in info.value.reason
        assert given in info.value.reason  # names what it looks like


def test_junos_extra_closing_brace_names_its_line() -> None:
    text = "system {\n    host-name a;\n}\n}\ninterfaces {\n}\n"
    with pytest.raises(ConfigParseError) as info:
        parse_config(text, platform="juniper_junos", source="j.conf")
    assert info.value.line == 4
    assert "unbalanced" in info.value.reason


def test_vrp_cut_mid_block_is_truncated() -> None:
    text = _fixture("huawei_vrp", "good")
    cut = text[: text.index(" authentication-mode aaa\n idle-timeout 5 0\n protocol inbound ssh")]
    with pytest.raises(ConfigParseError, match="truncated"):
        parse_config(cut, source="cut.cfg")


def test_junos_brace_and_set_forms_give_the_same_facts() -> None:
    brace = """system {
    host-name sw;
    services {
        ssh {
            protocol-version v2;
        }
        inactive: telnet;
    }
    syslog {
        host 10.0.0.5 {
            any warning;
        }
    }
}
interfaces {
    ge-0/0/1 {
        disable;
    }
    ge-0/0/2 {
        unit 0 {
            family ethernet-switching {
                interface-mode access;
                vlan {
                    members [ STAFF ];
                }
            }
        }
    }
}
snmp {
    community s3cr3t {
        authorization read-only;
        clients {
            10.0.0.0/24;
        }
    }
}
vlans {
    STAFF {
        vlan-id 30;
    }
}
"""
    setform = """set system host-name sw
set system services ssh protocol-version v2
set system services telnet
deactivate system services telnet
set system syslog host 10.0.0.5 any warning
set interfaces ge-0/0/1 disable
set interfaces ge-0/0/2 unit 0 family ethernet-switching interface-mode access
set interfaces ge-0/0/2 unit 0 family ethernet-switching vlan members STAFF
set snmp community s3cr3t authorization read-only
set snmp community s3cr3t clients 10.0.0.0/24
set vlans STAFF vlan-id 30
"""
    a = parse_config(brace, source="b.conf")
    b = parse_config(setform, source="s.conf")
    assert a.platform == b.platform == "juniper_junos"
    assert a.facts == b.facts
    assert a.facts["management"]["telnet_enabled"] is False  # inactive / deactivated
    assert fact_at(a.facts, "interfaces[ge-0/0/2].access_vlan") == 30
    assert fact_at(a.facts, "snmp.communities[s3cr3t].acl") == "10.0.0.0/24"
    assert a.facts["logging"] == {
        "hosts": ["10.0.0.5"],
        "trap_level": "warning",
        "timestamps_datetime": True,
        "buffered": False,
    }


def test_lines_for_uses_the_longest_recorded_prefix() -> None:
    good = parse_config(_fixture("juniper_junos", "good"), source="j.cfg")
    irb = good.lines_for("interfaces[irb.10].svi_vlan")  # the dot in irb.10 is part of the key
    assert (245, "                address 10.40.10.2/24 {") in irb
    assert all(240 <= number <= 250 for number, _ in irb)  # irb unit 10's block only, not irb.99
    assert good.lines_for("interfaces[ge-0/0/0].mode") == good.lines_for("interfaces[ge-0/0/0]")
    assert good.lines_for("no_such_section.x") == []
    ios = parse_config(_fixture("cisco_ios", "bad"), source="c.cfg")
    assert ios.lines_for("logging.hosts") == []  # missing line: no evidence, the engine says so


def test_facts_are_json_ready() -> None:
    import json

    for cfg in WHOLE:
        parsed = parse_config(cfg.read_text(), source=cfg.name)
        assert json.loads(json.dumps(parsed.facts)) == parsed.facts


# -- fuzzing: mutated fixture text may only ever raise ConfigParseError ----------------------------------

_SOURCES = {p.parent.name + "/" + p.name: p.read_text().split("\n") for p in WHOLE}


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, list[str]]:
    name = draw(st.sampled_from(sorted(_SOURCES)))
    lines = list(_SOURCES[name])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "duplicate", "garble", "truncate", "indent", "swap", "insert"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i : i + draw(st.integers(1, 20))]
        elif op == "duplicate":
            lines[i:i] = lines[i : i + draw(st.integers(1, 10))]
        elif op == "garble":
            lines[i] = draw(st.text(st.characters(codec="utf-8"), max_size=40))
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]) - 1)))]
            del lines[i + 1 :]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 4)) + lines[i].lstrip()
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(
                i, draw(st.sampled_from(["}", "{", "#", "!", "end", "return", "set", "interface", '"']))
            )
    return name, lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated(), forced=st.sampled_from([None, *PLATFORMS]))
def test_fuzzed_configs_only_raise_config_parse_error(
    case: tuple[str, list[str]], forced: str | None
) -> None:
    _, lines = case
    try:
        parsed = parse_config("\n".join(lines), platform=forced, source="fuzz.cfg")
    except ConfigParseError as err:
        message = str(err)
    else:
        assert_contract_shape(parsed)
        return
    assert message.startswith("fuzz.cfg:")
    assert "unparseable config" not in message  # a parser bug wrapped as an error still fails the fuzz


@pytest.mark.parametrize(
    "text",
    ["just some notes\nabout the network\n", "[global]\nworkgroup = SOTTTT\n", '{"hostname": "sw1"}\n'],
    ids=["notes", "ini", "json"],
)
def test_detection_returns_none_for_non_configs(text: str) -> None:
    assert detect_platform(text) is None
