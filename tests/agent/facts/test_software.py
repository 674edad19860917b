"""Software inventory: dpkg status and rpm on Linux; the Uninstall keys on Windows; the bounds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac_agent.facts import FACTS, collect_from
from canhgac_agent.facts.linux import LinuxHost
from canhgac_agent.facts.software import (
    parse_dpkg_status,
    parse_rpm_query,
    parse_uninstall,
    software_inventory,
)
from canhgac_api.schemas.report import SecurityFacts, SoftwareInventory

DPKG_STATUS = """\
Package: openssh-server
Status: install ok installed
Priority: optional
Version: 1:9.2p1-2+deb12u3
Description: secure shell (SSH) server
 multi-line description: with a colon

Package: anydesk
Status: deinstall ok config-files
Version: 6.3.0

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u9

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u9

Package: half-installed-pkg
Status: install reinstreq half-installed
Version: 1.0

Package: no-version
Status: install ok installed
"""


def test_dpkg_status_lists_installed_packages_only() -> None:
    inventory = software_inventory("dpkg", parse_dpkg_status(DPKG_STATUS.splitlines(keepends=True)))
    assert [(p["name"], p["version"]) for p in inventory["packages"]] == [
        ("libc6", "2.36-9+deb12u9"),  # two architectures, one entry
        ("no-version", None),
        ("openssh-server", "1:9.2p1-2+deb12u3"),
    ]
    assert inventory["truncated"] is False
    SoftwareInventory.model_validate(inventory)


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a dpkg system")
def test_this_machine_matches_dpkg_query() -> None:
    facts = FACTS["software"].linux(LinuxHost())
    assert facts is not None
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Status}\t${Package}\t${Version}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = {tuple(line.split("\t")[1:]) for line in out.splitlines() if line.startswith("installed\t")}
    assert {(p["name"], p["version"]) for p in facts["packages"]} == expected
    SoftwareInventory.model_validate(facts)


def test_linux_provider_reads_dpkg_in_its_root(tmp_path: Path) -> None:
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(DPKG_STATUS)
    provider = LinuxHost(root=str(tmp_path))
    provider._procs = set()  # the process list is the live system's
    facts, _errors = collect_from(provider)
    assert [p["name"] for p in facts["software"]["packages"]] == ["libc6", "no-version", "openssh-server"]
    SecurityFacts.model_validate(facts)


def test_rpm_query_output() -> None:
    text = "bash\t5.2.15-3.el9\tRed Hat, Inc.\nteamviewer\t15.50.5-1\t(none)\n\n\tbroken\n"
    packages = parse_rpm_query(text)
    assert packages == [
        {"name": "bash", "version": "5.2.15-3.el9", "publisher": "Red Hat, Inc."},
        {"name": "teamviewer", "version": "15.50.5-1", "publisher": None},
    ]


def test_windows_uninstall_rows() -> None:
    rows = [
        {
            "DisplayName": "UltraViewer version 6.6.110",
            "DisplayVersion": "6.6.110",
            "Publisher": "DucFabulous",
        },
        {
            "DisplayName": "Microsoft Edge",
            "DisplayVersion": "131.0.2903.70",
            "Publisher": "Microsoft Corporation",
        },
        {
            "DisplayName": "Microsoft Edge",
            "DisplayVersion": "131.0.2903.70",
            "Publisher": "Microsoft Corporation",
        },
        {"DisplayName": "  ", "DisplayVersion": "1"},
        {"DisplayVersion": "no name"},
        "garbage",
        {"DisplayName": "Vietkey 2000", "DisplayVersion": "", "Publisher": None},
    ]
    inventory = parse_uninstall(rows)
    assert [(p["name"], p["version"], p["publisher"]) for p in inventory["packages"]] == [
        ("Microsoft Edge", "131.0.2903.70", "Microsoft Corporation"),
        ("UltraViewer version 6.6.110", "6.6.110", "DucFabulous"),
        ("Vietkey 2000", None, None),
    ]
    assert inventory["source"] == "windows-uninstall"
    SoftwareInventory.model_validate(inventory)
    assert (
        parse_uninstall({"DisplayName": "One program"})["packages"][0]["name"] == "One program"
    )  # not a list


def test_inventory_is_bounded() -> None:
    packages = [{"name": f"pkg{i:05d}", "version": "1", "publisher": None} for i in range(20005)]
    inventory = software_inventory("dpkg", packages)
    assert len(inventory["packages"]) == 20000
    assert inventory["truncated"] is True
    SoftwareInventory.model_validate(inventory)


@given(st.text(max_size=3000))
def test_dpkg_garbage_stays_in_the_schema(text: str) -> None:
    SoftwareInventory.model_validate(
        software_inventory("dpkg", parse_dpkg_status(text.splitlines(keepends=True)))
    )


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["DisplayName", "DisplayVersion", "Publisher"]),
            st.one_of(st.none(), st.text(max_size=300), st.integers()),
        )
    )
)
def test_windows_garbage_stays_in_the_schema(rows: list[dict[str, object]]) -> None:
    SoftwareInventory.model_validate(parse_uninstall(rows))
