"""The whole collection: one failing fact loses no other, garbage trees stay in the schema, this machine."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from canhgac_agent.facts import FACTS, FactFamily, collect_from, collect_security_facts
from canhgac_agent.plugins import registry
from canhgac_api.schemas.report import CollectorError, SecurityFacts
from tests.agent.facts.trees import linux_host, write_tree


class _HalfBrokenProvider:
    """A provider whose firewall and accounts facts fail: the others must still be reported."""

    platform: Literal["linux"] = "linux"

    def listening_ports(self) -> list[dict[str, Any]]:
        return [{"proto": "tcp", "address": "0.0.0.0", "port": 22, "pid": None, "process": None}]

    def firewall(self) -> dict[str, Any] | None:
        raise PermissionError("nft: Operation not permitted")

    def time_sync(self) -> dict[str, Any] | None:
        return {"service": "chrony", "synchronized": True}

    def ssh_server(self) -> dict[str, Any] | None:
        return {"installed": False}

    def updates(self) -> dict[str, Any] | None:
        return None

    def password_policy(self) -> dict[str, Any] | None:
        return {"max_days": 90}

    def accounts(self) -> list[dict[str, Any]]:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    def anti_malware(self) -> list[dict[str, Any]]:
        return []

    def disk_encryption(self) -> dict[str, Any] | None:
        return {"root_encrypted": True}

    def audit_logging(self) -> dict[str, Any] | None:
        return None

    def log_forwarding(self) -> dict[str, Any] | None:
        return None

    def autologin(self) -> dict[str, Any] | None:
        return {"enabled": False}

    def domain(self) -> dict[str, Any] | None:
        return None

    def package_sources(self) -> dict[str, Any] | None:
        return None

    def dns_resolvers(self) -> dict[str, Any] | None:
        return None

    def exploit_protection(self) -> dict[str, Any] | None:
        return None

    def software(self) -> dict[str, Any] | None:
        return None

    def removable_media(self) -> dict[str, Any] | None:
        return None

    def screen_lock(self) -> dict[str, Any] | None:
        return None

    def wireless(self) -> dict[str, Any] | None:
        return None

    def endpoint_management(self) -> dict[str, Any] | None:
        return None

    def backup(self) -> dict[str, Any] | None:
        return None

    def remote_access(self) -> dict[str, Any] | None:
        return {"battery": False}

    def egress(self) -> dict[str, Any] | None:
        return {"configured": False}


def _by_method(family: FactFamily) -> FactFamily:
    """`family` read by calling the host's method of the same name (a stand-in host's)."""

    def read(host: Any) -> Any:
        return getattr(host, family.name)()

    return FactFamily(family.name, linux=read, windows=read, many=family.many)


def test_one_failing_fact_does_not_lose_the_others() -> None:
    facts, errors = collect_from(_HalfBrokenProvider(), registry(*map(_by_method, FACTS.values())))
    model = SecurityFacts.model_validate(facts)
    assert model.firewall is None
    assert model.accounts == []
    assert model.time_sync is not None
    assert model.time_sync.synchronized
    assert len(model.listening_ports) == 1
    assert model.disk_encryption is not None
    assert model.disk_encryption.root_encrypted
    assert [e["collector"] for e in errors] == ["security.firewall", "security.accounts"]
    for error in errors:
        CollectorError.model_validate(error)
    assert "Operation not permitted" in errors[0]["error"]


def test_collect_security_facts_on_this_machine() -> None:
    started = time.monotonic()
    facts, errors = collect_security_facts()
    elapsed = time.monotonic() - started
    model = SecurityFacts.model_validate(facts)
    for error in errors:
        CollectorError.model_validate(error)
    assert model.platform == "linux"
    assert set(FACTS) <= set(facts)
    assert model.password_policy is not None
    assert elapsed < 15, f"{elapsed:.1f}s"
    # The expensive part (apt's simulation) is reused while the package state is unchanged.
    started = time.monotonic()
    again, _ = collect_security_facts()
    assert time.monotonic() - started < 2
    assert again["updates"] == facts["updates"]


NEW_FACTS = (
    "disk_encryption",
    "audit_logging",
    "log_forwarding",
    "autologin",
    "domain",
    "package_sources",
    "endpoint_management",
    "backup",
    "remote_access",
    "egress",
)


def test_garbage_tree_never_breaks_the_report(tmp_path: Path) -> None:
    """Binary junk in every file the new facts read: each fact answers or fails alone, and what goes
    out validates."""
    junk = "\x00\xff[[[=\n]]]\n@@@\naction(type=\ndestination {\n"
    write_tree(
        tmp_path,
        dict.fromkeys(
            (
                "/proc/mounts",
                "/etc/audit/audit.rules",
                "/etc/systemd/journald.conf",
                "/etc/rsyslog.conf",
                "/etc/syslog-ng/syslog-ng.conf",
                "/etc/systemd/journal-upload.conf",
                "/etc/gdm3/custom.conf",
                "/etc/lightdm/lightdm.conf",
                "/etc/sddm.conf",
                "/etc/sssd/sssd.conf",
                "/etc/nsswitch.conf",
                "/etc/samba/smb.conf",
                "/etc/apt/sources.list",
                "/etc/apt/sources.list.d/x.sources",
                "/var/ossec/bin/wazuh-agentd",
                "/var/ossec/var/run/wazuh-agentd.state",
                "/var/ossec/etc/ossec.conf",
                "/etc/crontab",
                "/etc/cron.d/restic",
                "/etc/systemd/system/borgmatic.timer",
                "/sys/class/power_supply/BAT0/type",
                "/sys/class/net/wg0/uevent",
            ),
            junk,
        ),
    )
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    facts, errors = collect_from(linux_host(tmp_path))
    model = SecurityFacts.model_validate(facts)
    assert all(facts[name] is not None for name in NEW_FACTS), errors
    assert model.autologin is not None
    assert model.autologin.enabled is False
    assert not [e for e in errors if e["collector"].split(".")[1] in NEW_FACTS]
