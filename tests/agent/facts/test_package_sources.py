"""Package sources: apt and yum/dnf repositories on Linux; WSUS policy on Windows."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.package_sources import apt_deb822_uris, apt_list_uris, parse_wsus, yum_repo_uris
from canhgac_api.schemas.report import PackageSources
from tests.agent.facts.samples import DEB822
from tests.agent.facts.trees import linux_host, write_tree


def test_apt_and_yum_uri_parsers() -> None:
    assert apt_list_uris(
        "deb [arch=amd64 signed-by=/k.gpg] http://a.vn/ubuntu jammy main\n"
        "# deb http://b/ x\ndeb-src http://c/ x\n"
    ) == ["http://a.vn/ubuntu", "http://c/"]
    assert apt_deb822_uris(DEB822) == [
        "http://mirror.tinh.gov.vn/debian",
        "https://user:pw@[fd00::9]:8443/security",
        "file:/srv/repo",
    ]
    repo = "[base]\nbaseurl=http://repo.tinh.gov.vn/el9/\n[epel]\nenabled=0\nmetalink=https://mirrors.fedoraproject.org/x\n"
    assert yum_repo_uris(repo) == ["http://repo.tinh.gov.vn/el9/"]


def test_package_sources_on_a_tree(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/etc/apt/sources.list": "deb http://archive.ubuntu.com/ubuntu jammy main\n\x00\x01 garbage\n",
            "/etc/apt/sources.list.d/local.sources": DEB822,
        },
    )
    facts = FACTS["package_sources"].linux(linux_host(tmp_path))
    assert facts is not None
    PackageSources.model_validate(facts)
    assert facts["manager"] == "apt"
    assert [s["host"] for s in facts["sources"]] == [
        "archive.ubuntu.com",
        "mirror.tinh.gov.vn",
        "fd00::9",
        None,
    ]
    assert (
        FACTS["package_sources"].linux(linux_host(tmp_path / "nothing")) is None
    )  # no package manager config


def test_windows_wsus() -> None:
    wsus = parse_wsus({"WUServer": "http://wsus.tinh.gov.vn:8530", "UseWUServer": 1})
    PackageSources.model_validate(wsus)
    assert wsus["sources"][0]["host"] == "wsus.tinh.gov.vn"
    assert (
        parse_wsus({"WUServer": "http://wsus.tinh.gov.vn:8530", "UseWUServer": 0})["sources"][0]["host"]
        == "windowsupdate.microsoft.com"
    )
