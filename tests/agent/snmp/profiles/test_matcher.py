"""Which profile reads a device: the longest sysObjectID prefix wins, a sysDescr regex breaks ties,
sysDescr-only profiles rank below any prefix match, whole arcs only, generic last."""

from __future__ import annotations

from canhgac_agent.snmp.profiles.matcher import Matcher, shipped_matcher
from canhgac_agent.snmp.profiles.model import Profile


def profile(name: str, prefixes: list[str] | None = None, descr: str | None = None) -> Profile:
    match = (
        None if prefixes is None and descr is None else {"sys_object_id": prefixes or [], "sys_descr": descr}
    )
    return Profile.model_validate({"name": name, "description": name, "match": match})


MATCHER = Matcher(
    [
        profile("generic"),
        profile("vendor", ["1.3.6.1.4.1.9"]),
        profile("vendor-xe", ["1.3.6.1.4.1.9"], r"IOS-XE"),
        profile("family", ["1.3.6.1.4.1.9.12.3"]),
        profile("by-descr", descr=r"RouterOS"),
    ]
)


def chosen(oid: str | None, descr: str | None = None) -> str | None:
    p = MATCHER.match(oid, descr)
    return p.name if p else None


def test_longest_prefix_wins() -> None:
    assert chosen("1.3.6.1.4.1.9.12.3.1.3.1084") == "family"
    assert chosen("1.3.6.1.4.1.9.1.617") == "vendor"


def test_sysdescr_breaks_a_tie_on_the_same_prefix() -> None:
    assert chosen("1.3.6.1.4.1.9.1.2494", "Cisco IOS Software [Amsterdam], IOS-XE Software") == "vendor-xe"
    assert chosen("1.3.6.1.4.1.9.1.2494", "Cisco IOS Software, C3560 Software") == "vendor"
    # …but a longer prefix still beats a shorter one with a regex
    assert chosen("1.3.6.1.4.1.9.12.3.1.3.1084", "IOS-XE") == "family"


def test_sysdescr_only_ranks_below_prefixes_above_generic() -> None:
    assert chosen("1.3.6.1.4.1.14988.1", "RouterOS RB4011") == "by-descr"
    assert chosen("1.3.6.1.4.1.9.1.1", "RouterOS look-alike") == "vendor"


def test_prefix_matches_whole_arcs_and_unknowns_get_generic() -> None:
    assert chosen("1.3.6.1.4.1.99.1") == "generic"  # 99 is not under 9
    assert chosen("1.3.6.1.4.1.9") == "vendor"  # the prefix itself
    assert chosen(None, None) == "generic"
    assert chosen("1.3.6.1.4.1.311.1.1.3.1.2", "Windows") == "generic"


def test_answers_are_cached_per_identity() -> None:
    first = MATCHER.match("1.3.6.1.4.1.9.1.617", "x")
    assert MATCHER.match("1.3.6.1.4.1.9.1.617", "x") is first


def test_shipped_profiles_match_the_real_recordings_sysobjectids() -> None:
    m = shipped_matcher()
    cases = {
        "1.3.6.1.4.1.2011.2.23.276": "huawei-vrp",  # Huawei S5720
        "1.3.6.1.4.1.9.1.617": "cisco-ios",  # Cisco C3560
        "1.3.6.1.4.1.9.12.3.1.3.1084": "cisco-nxos",  # Nexus 5000
        "1.3.6.1.4.1.2636.1.1.1.2.21": "juniper-junos",  # MX960
        "1.3.6.1.4.1.25506.1.921": "h3c-comware",
        "1.3.6.1.4.1.11.2.3.7.11.107": "hpe-procurve",
        "1.3.6.1.4.1.171.10.113.3.1": "dlink",
        "1.3.6.1.4.1.4881.1.1.10.1.41": "ruijie-rgos",
        "1.3.6.1.4.1.8072.3.2.10": "generic",  # net-snmp on Linux
    }
    got = {oid: getattr(m.match(oid, None), "name", None) for oid in cases}
    assert got == cases
