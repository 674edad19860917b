"""Host security facts (Report.security): facts, not verdicts; the rules engine judges them.

A platform provider implements `FactsProvider`, one method per fact. `collect_security_facts` calls
each method on its own, so one failing fact (a command timing out, a file in an unexpected format)
leaves that fact empty and is reported as a `CollectorError`, while the others still go out.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Literal, Protocol

FACTS = (
    "listening_ports",
    "firewall",
    "time_sync",
    "ssh_server",
    "updates",
    "password_policy",
    "accounts",
    "anti_malware",
    # added in 0.x: optional sections, absent from older agents' reports
    "disk_encryption",
    "audit_logging",
    "log_forwarding",
    "autologin",
    "domain",
    "package_sources",
    "dns_resolvers",
    "exploit_protection",
    "software",
    "removable_media",
    "screen_lock",
    "wireless",
)
_LIST_FACTS = frozenset({"listening_ports", "accounts", "anti_malware"})


class FactsProvider(Protocol):
    """One platform's way of gathering each fact. Methods return JSON-ready values matching the
    corresponding `SecurityFacts` field (dicts for sections, lists of dicts for lists, None when the
    fact does not apply, e.g. no package manager) and may raise: the caller isolates failures."""

    @property
    def platform(self) -> Literal["linux", "windows"]: ...

    def listening_ports(self) -> list[dict[str, Any]]: ...
    def firewall(self) -> dict[str, Any] | None: ...
    def time_sync(self) -> dict[str, Any] | None: ...
    def ssh_server(self) -> dict[str, Any] | None: ...
    def updates(self) -> dict[str, Any] | None: ...
    def password_policy(self) -> dict[str, Any] | None: ...
    def accounts(self) -> list[dict[str, Any]]: ...
    def anti_malware(self) -> list[dict[str, Any]]: ...
    def disk_encryption(self) -> dict[str, Any] | None: ...
    def audit_logging(self) -> dict[str, Any] | None: ...
    def log_forwarding(self) -> dict[str, Any] | None: ...
    def autologin(self) -> dict[str, Any] | None: ...
    def domain(self) -> dict[str, Any] | None: ...
    def package_sources(self) -> dict[str, Any] | None: ...
    def dns_resolvers(self) -> dict[str, Any] | None: ...
    def exploit_protection(self) -> dict[str, Any] | None: ...
    def software(self) -> dict[str, Any] | None: ...
    def removable_media(self) -> dict[str, Any] | None: ...
    def screen_lock(self) -> dict[str, Any] | None: ...
    def wireless(self) -> dict[str, Any] | None: ...


def provider_for_platform(cache_dir: str | os.PathLike[str] | None = None) -> FactsProvider:
    """The provider for the running OS; RuntimeError on an OS the report cannot describe.

    `cache_dir`: where the provider may keep expensive answers between runs (the agent's state dir).
    """
    if sys.platform == "win32":
        from canhgac_agent.facts.windows import WindowsProvider

        return WindowsProvider()
    if sys.platform.startswith("linux"):
        from canhgac_agent.facts.linux import LinuxProvider

        return LinuxProvider(cache_dir=cache_dir)
    raise RuntimeError(f"security facts are not supported on {sys.platform}")


def collect_from(provider: FactsProvider) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Gather every fact from `provider`, isolating failures (see `collect_security_facts`)."""
    facts: dict[str, Any] = {"platform": provider.platform}
    errors: list[dict[str, str]] = []
    for name in FACTS:
        try:
            facts[name] = getattr(provider, name)()
        except Exception as exc:
            facts[name] = [] if name in _LIST_FACTS else None
            message = f"{type(exc).__name__}: {exc}"
            errors.append({"collector": f"security.{name}", "error": message[:2048]})
    return facts, errors


def collect_security_facts(
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Return `(facts, errors)`: a dict matching `SecurityFacts` for this platform, and a list of
    dicts matching `CollectorError` (`{"collector": "security.<fact>", "error": "..."}`) for the facts
    that failed and were left None/[] in `facts`. The errors belong in `Report.errors`.

    Raises RuntimeError only on an unsupported OS (neither Linux nor Windows). Takes about as long as
    the slowest command (the package manager's simulated upgrade: typically well under a second, a few
    seconds without apt's binary cache); meant for the hourly security cycle, not every cycle. With
    `cache_dir`, the package manager's answer is kept there and reused, across restarts too, while the
    package database and lists are unchanged.
    """
    return collect_from(provider_for_platform(cache_dir))
