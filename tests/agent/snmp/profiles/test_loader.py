"""Profile files: the shipped ones are clean, and every kind of mistake is reported as
`file: profile: reason` by the loader and by `canhgac profiles check` (exit 0 clean, 1 problems, 2 usage)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from canhgac_agent.snmp.profiles.loader import SHIPPED, load_profiles
from canhgac_collector.cli import app

GOOD = """
profiles:
  - name: acme
    description: Acme switches
    match: {sys_object_id: [1.3.6.1.4.1.99999]}
    cpu:
      - value: 1.3.6.1.4.1.99999.1.1
    fans:
      - state: 1.3.6.1.4.1.99999.2.1
        states: {1: ok, 2: failed}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_profiles_are_clean_and_cover_the_vendor_families() -> None:
    loaded, problems = load_profiles()
    assert [str(p) for p in problems] == []
    names = {lp.profile.name for lp in loaded}
    assert {
        "generic",
        "cisco-ios",
        "cisco-nxos",
        "huawei-vrp",
        "h3c-comware",
        "hpe-procurve",
        "juniper-junos",
        "fortinet-fortigate",
        "fortinet-fortiswitch",
        "mikrotik-routeros",
        "tplink-jetstream",
        "dlink",
        "ruijie-rgos",
        "zyxel",
        "dell-powerconnect",
        "ubiquiti-edgeswitch",
    } <= names
    assert [lp.profile.name for lp in loaded if lp.profile.match is None] == ["generic"]


def test_cli_check_shipped_is_ok() -> None:
    result = CliRunner().invoke(app, ["profiles", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: ")


@pytest.mark.parametrize(
    ("text", "profile", "reason"),
    [
        (GOOD.replace("1.3.6.1.4.1.99999.1.1", "1.3.6.1.4.1.x.1"), "acme", "cpu.0.value: Value error"),
        (GOOD.replace("    cpu:", "    cpus:"), "acme", "cpus: Extra inputs are not permitted"),
        (GOOD.replace("{1: ok, 2: failed}", "{1: fine}"), "acme", "fans.0.states.1: Input should be"),
        (
            GOOD.replace("{1: ok, 2: failed}", "{1: warning, 2: failed}"),
            "acme",
            "fans.0.states: no value means ok",
        ),
        (
            GOOD.replace("match: {sys_object_id: [1.3.6.1.4.1.99999]}", "match: {sys_descr: '(unclosed'}"),
            "acme",
            "match.sys_descr: Value error, bad regular expression",
        ),
        (
            GOOD.replace("match: {sys_object_id: [1.3.6.1.4.1.99999]}", "match: {}"),
            "acme",
            "match: Value error",
        ),
        (GOOD.replace("name: acme", "name: Acme Switch"), "Acme Switch", "name: String should match pattern"),
        ("profiles: [\n  - name: x\n", "-", "cannot read YAML"),
        (
            GOOD + "    optics:\n      - temperature: {value: 1.3.6.1.4.1.99999.3.1}\n",
            "acme",
            "optics.0: Value error, optics: give rx_power, tx_power or both",
        ),
        (
            GOOD + "    optics:\n      - rx_power: {value: 1.3.6.1.4.1.99999.3.1, unit: dbw}\n",
            "acme",
            "optics.0.rx_power.unit: Input should be",
        ),
    ],
    ids=[
        "oid",
        "unknown-key",
        "state-value",
        "no-ok-state",
        "regex",
        "empty-match",
        "name",
        "yaml",
        "optics-no-power",
        "optics-unit",
    ],
)
def test_broken_profile_reports_file_profile_reason(
    tmp_path: Path, text: str, profile: str, reason: str
) -> None:
    path = write(tmp_path, "acme.yaml", text)
    _, problems = load_profiles([path])
    assert problems, "the mistake must be found"
    first = str(problems[0])
    assert first.startswith(f"{path}: {profile}: {reason}"), first
    result = CliRunner().invoke(app, ["profiles", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: {profile}: {reason}" in result.output


def test_same_match_or_name_across_files_and_a_second_generic_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD.replace("name: acme", "name: acme-copy"))
    write(tmp_path, "c.yaml", GOOD.replace("    match: {sys_object_id: [1.3.6.1.4.1.99999]}\n", ""))
    write(
        tmp_path,
        "d.yaml",
        GOOD.replace("    match: {sys_object_id: [1.3.6.1.4.1.99999]}\n", "").replace(
            "name: acme", "name: generic2"
        ),
    )
    _, problems = load_profiles([tmp_path])
    text = [str(p) for p in problems]
    assert (
        f"{tmp_path / 'b.yaml'}: acme-copy: sysObjectID 1.3.6.1.4.1.99999 with the same match as profile acme"
        in text
    )
    assert f"{tmp_path / 'c.yaml'}: acme: name already used in {tmp_path / 'a.yaml'}" in text
    assert any("need exactly one generic profile" in t and "acme, generic2" in t for t in text)


def test_the_same_prefix_with_a_sysdescr_regex_is_not_an_overlap(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(
        tmp_path,
        "b.yaml",
        GOOD.replace("name: acme", "name: acme-os2").replace(
            "match: {sys_object_id: [1.3.6.1.4.1.99999]}",
            "match: {sys_object_id: [1.3.6.1.4.1.99999], sys_descr: 'AcmeOS 2'}",
        ),
    )
    loaded, problems = load_profiles([tmp_path])
    assert problems == []
    assert len(loaded) == 2


def test_cli_usage_error_for_a_missing_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["profiles", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2


def test_shipped_data_is_in_the_package_data() -> None:
    """pyproject ships snmp/profiles/data/*.yaml: every shipped profile file sits there."""
    assert sorted(p.suffix for p in SHIPPED.iterdir() if p.is_file()) == [".yaml"] * len(
        list(SHIPPED.iterdir())
    )
