"""Domain membership: sssd, nsswitch and winbind on Linux; Win32_ComputerSystem on Windows."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.domain import nsswitch_sources, parse_computer_system, sssd_domains
from canhgac_api.schemas.report import DomainMembership
from tests.agent.facts.samples import SSSD
from tests.agent.facts.trees import linux_host, write_tree


def test_domain_parsers() -> None:
    assert sssd_domains(SSSD) == [("tinh.gov.vn", "ad")]
    assert sssd_domains("[sssd]\ndomains = a, b\n[domain/b]\nid_provider=ipa\n") == [("a", ""), ("b", "ipa")]
    assert nsswitch_sources("passwd:  files systemd sss [NOTFOUND=return]\ngroup: files\n") == [
        "files",
        "systemd",
        "sss",
    ]


def test_domain_on_trees(tmp_path: Path) -> None:
    sssd = tmp_path / "sssd"
    write_tree(sssd, {"/etc/sssd/sssd.conf": SSSD, "/etc/nsswitch.conf": "passwd: files sss\n"})
    facts = FACTS["domain"].linux(linux_host(sssd))
    assert facts == {"joined": True, "domain": "tinh.gov.vn", "method": "sssd (ad)"}
    DomainMembership.model_validate(facts)

    winbind = tmp_path / "winbind"
    write_tree(
        winbind,
        {
            "/etc/samba/smb.conf": "[global]\nsecurity = ADS\nrealm = TINH.GOV.VN\n",
            "/etc/nsswitch.conf": "passwd: files winbind\n",
        },
    )
    assert FACTS["domain"].linux(linux_host(winbind)) == {
        "joined": True,
        "domain": "TINH.GOV.VN",
        "method": "winbind",
    }

    alone = tmp_path / "alone"
    write_tree(
        alone, {"/etc/nsswitch.conf": "passwd: files systemd\n", "/etc/sssd/sssd.conf": "garbage ][\n"}
    )
    assert FACTS["domain"].linux(linux_host(alone)) == {"joined": False, "domain": None, "method": None}


def test_windows_computer_system() -> None:
    assert parse_computer_system({"PartOfDomain": True, "Domain": "tinh.gov.vn"})["joined"] is True
    assert parse_computer_system({"PartOfDomain": False, "Domain": "WORKGROUP"})["domain"] is None
