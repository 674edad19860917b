"""Centralised account management (`SecurityFacts.domain`): joined to AD/IPA/LDAP.

Linux: sssd domains used by nsswitch, winbind with Samba in ADS mode, or a host keytab when sssd.conf
is unreadable. Windows: `Win32_ComputerSystem` PartOfDomain and Domain.

Requirement HS-17 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import clip, parse_ini, read_text
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def sssd_domains(text: str) -> list[tuple[str, str]]:
    """(domain, id_provider) of the domains sssd.conf enables (`[sssd] domains =`); providers are
    lower-case, "" when unset."""
    ini = parse_ini(text)
    names = [d.strip() for d in ini.get("sssd", {}).get("domains", "").split(",") if d.strip()]
    return [(d, ini.get(f"domain/{d.lower()}", {}).get("id_provider", "").lower()) for d in names]


def nsswitch_sources(text: str, database: str = "passwd") -> list[str]:
    """The sources of one nsswitch.conf database (`passwd: files systemd sss` → [files, systemd, sss])."""
    for raw in text.splitlines():
        key, sep, rest = raw.split("#", 1)[0].partition(":")
        if sep and key.strip() == database:
            return [w for w in rest.split() if not w.startswith("[")]
    return []


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`DomainMembership` on Linux."""
    sssd_path = host.path("/etc/sssd/sssd.conf")
    sssd_text = read_text(sssd_path)
    parts = [sssd_text or ""] + [read_text(p) or "" for p in host.glob("/etc/sssd/conf.d/*.conf")]
    domains = [d for d in sssd_domains("\n".join(parts)) if d[1] in ("ad", "ipa", "ldap")]
    passwd_sources = nsswitch_sources(host.read("/etc/nsswitch.conf") or "")
    keytab = os.path.exists(host.path("/etc/krb5.keytab"))
    smb = parse_ini(host.read("/etc/samba/smb.conf") or "").get("global", {})
    if domains and "sss" in passwd_sources:
        return {"joined": True, "domain": clip(domains[0][0]), "method": f"sssd ({domains[0][1]})"}
    if "winbind" in passwd_sources and smb.get("security", "").lower() == "ads":
        realm = smb.get("realm") or smb.get("workgroup")
        return {"joined": True, "domain": clip(realm) if realm else None, "method": "winbind"}
    if sssd_text is None and os.path.exists(sssd_path) and "sss" in passwd_sources:
        # sssd.conf is root-only: without it, a host keytab is the join's footprint
        return {
            "joined": True if keytab else None,
            "domain": None,
            "method": "sssd (sssd.conf unreadable)",
        }
    return {"joined": False, "domain": None, "method": None}


def parse_computer_system(computer: Any) -> dict[str, Any]:
    """`DomainMembership` from Win32_ComputerSystem PartOfDomain/Domain (workgroup name when not)."""
    if not isinstance(computer, dict) or not isinstance(computer.get("PartOfDomain"), bool):
        return {"joined": None, "domain": None, "method": None}
    joined = computer["PartOfDomain"]
    domain = computer.get("Domain") if joined and isinstance(computer.get("Domain"), str) else None
    return {
        "joined": joined,
        "domain": clip(domain) if domain else None,
        "method": "windows" if joined else None,
    }


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`DomainMembership` on Windows."""
    return parse_computer_system(host.powershell("computer"))


PLUGIN = FactFamily(name="domain", linux=read_linux, windows=read_windows)
