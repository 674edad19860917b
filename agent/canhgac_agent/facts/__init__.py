"""Host security facts (Report.security): facts, not verdicts; the rules engine judges them.

One module per fact family (one `SecurityFacts` field), holding the Linux reader, the Windows reader
and their parsers side by side; each module's `PLUGIN` is a `FactFamily`, registered once in `FACTS`.
Readers read the system through a host object (`LinuxHost`, `WindowsHost`) that shares per-collection
snapshots between them. `collect_from` calls each reader on its own, so one failing fact (a command
timing out, a file in an unexpected format) leaves that fact empty and is reported as a
`CollectorError`, while the others still go out.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts import (
    accounts,
    anti_malware,
    audit_logging,
    autologin,
    backup,
    disk_encryption,
    dns_resolvers,
    domain,
    egress,
    endpoint_management,
    exploit_protection,
    firewall,
    listening_ports,
    log_forwarding,
    package_sources,
    password_policy,
    remote_access,
    removable_media,
    screen_lock,
    software,
    ssh_server,
    time_sync,
    updates,
    wireless,
)
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.plugins import registry

if TYPE_CHECKING:
    from canhgac_agent.config import EgressConfig
    from canhgac_agent.facts.linux import LinuxHost
    from canhgac_agent.facts.windows import WindowsHost

__all__ = ["FACTS", "FactFamily", "collect_from", "collect_security_facts", "host_for_platform"]

# Registration: one line per fact family, in report order; the names are the SecurityFacts fields.
FACTS = registry(
    listening_ports.PLUGIN,
    firewall.PLUGIN,
    time_sync.PLUGIN,
    ssh_server.PLUGIN,
    updates.PLUGIN,
    password_policy.PLUGIN,
    accounts.PLUGIN,
    anti_malware.PLUGIN,
    # added in 0.x: optional sections, absent from older agents' reports
    disk_encryption.PLUGIN,
    audit_logging.PLUGIN,
    log_forwarding.PLUGIN,
    autologin.PLUGIN,
    domain.PLUGIN,
    package_sources.PLUGIN,
    dns_resolvers.PLUGIN,
    exploit_protection.PLUGIN,
    software.PLUGIN,
    removable_media.PLUGIN,
    screen_lock.PLUGIN,
    wireless.PLUGIN,
    endpoint_management.PLUGIN,
    backup.PLUGIN,
    remote_access.PLUGIN,
    egress.PLUGIN,
)


def host_for_platform(
    cache_dir: str | os.PathLike[str] | None = None, egress: EgressConfig | None = None
) -> LinuxHost | WindowsHost:
    """The host for the running OS; RuntimeError on an OS the report cannot describe.

    `cache_dir`: where the readers may keep expensive answers between runs (the agent's state dir).
    `egress`: the agent config's outbound test settings (no test without them).
    """
    if sys.platform == "win32":
        from canhgac_agent.facts.windows import WindowsHost

        return WindowsHost(egress=egress)
    if sys.platform.startswith("linux"):
        from canhgac_agent.facts.linux import LinuxHost

        return LinuxHost(cache_dir=cache_dir, egress=egress)
    raise RuntimeError(f"security facts are not supported on {sys.platform}")


def collect_from(
    host: LinuxHost | WindowsHost, families: Mapping[str, FactFamily] = FACTS
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Read every fact of `families` on `host`, isolating failures (see `collect_security_facts`)."""
    facts: dict[str, Any] = {"platform": host.platform}
    errors: list[dict[str, str]] = []
    for name, family in families.items():
        try:
            facts[name] = family.read(host)
        except Exception as exc:
            facts[name] = family.empty()
            message = f"{type(exc).__name__}: {exc}"
            errors.append({"collector": f"security.{name}", "error": message[:2048]})
    return facts, errors


def collect_security_facts(
    cache_dir: str | os.PathLike[str] | None = None, egress: EgressConfig | None = None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Return `(facts, errors)`: a dict matching `SecurityFacts` for this platform, and a list of
    dicts matching `CollectorError` (`{"collector": "security.<fact>", "error": "..."}`) for the facts
    that failed and were left None/[] in `facts`. The errors belong in `Report.errors`.

    Raises RuntimeError only on an unsupported OS (neither Linux nor Windows). Takes about as long as
    the slowest command (the package manager's simulated upgrade: typically well under a second, a few
    seconds without apt's binary cache); meant for the hourly security cycle, not every cycle. With
    `cache_dir`, the package manager's answer is kept there and reused, across restarts too, while the
    package database and lists are unchanged. With `egress` (the config's [egress] endpoint), the
    outbound test adds up to len(ports) × timeout_s.
    """
    return collect_from(host_for_platform(cache_dir, egress))
