"""Audit logging: auditd rules and journald storage on Linux; auditpol and services on Windows."""

from __future__ import annotations

import os
from pathlib import Path

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.audit_logging import audit_rules_log_execve, journal_storage, parse_audit_bundle
from canhgac_api.schemas.report import AuditLogging
from tests.agent.facts.trees import linux_host, write_tree


def test_audit_rules_execve() -> None:
    assert audit_rules_log_execve("-a always,exit -F arch=b64 -S execve -k exec\n")
    assert audit_rules_log_execve("-a exit,always -F arch=b32 -S execve,execveat\n")
    assert not audit_rules_log_execve("# -a always,exit -S execve\n-w /etc/passwd -p wa\n")
    assert not audit_rules_log_execve("-a never,exit -S execve\n")
    assert not audit_rules_log_execve("-a always,exit -S open -S\n")


def test_journal_storage_last_drop_in_wins() -> None:
    assert (
        journal_storage(["[Journal]\nStorage=volatile\n", "[Journal]\nStorage=persistent\n"]) == "persistent"
    )
    assert journal_storage(["#Storage=persistent\n[Journal]\n"]) is None


def test_audit_logging_on_a_tree(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/etc/audit/rules.d/50-exec.rules": "-a always,exit -F arch=b64 -S execve -k exec\n",
            "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n",
        },
    )
    facts = FACTS["audit_logging"].linux(linux_host(tmp_path, {"auditd", "systemd-journald"}))
    assert facts is not None
    AuditLogging.model_validate(facts)
    assert facts == {**facts, "audit_service": "auditd", "audit_running": True, "process_audit": True}
    assert facts["persistent_logs"] is True


def test_audit_logging_unreadable_rules_are_unknown(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/etc/audit/audit.rules": "-a always,exit -S execve\n"})
    (tmp_path / "etc/audit/audit.rules").chmod(0)
    if os.access(tmp_path / "etc/audit/audit.rules", os.R_OK):  # root reads anything: use a directory
        (tmp_path / "etc/audit/audit.rules").unlink()
        (tmp_path / "etc/audit/audit.rules").mkdir()  # exists, cannot be read as a file
    facts = FACTS["audit_logging"].linux(linux_host(tmp_path, {"auditd"}))
    assert facts is not None
    assert facts["process_audit"] is None
    assert "not readable" in facts["detail"]


def test_audit_logging_absent_and_volatile(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/etc/systemd/journald.conf.d/10.conf": "[Journal]\nStorage=volatile\n"})
    (tmp_path / "var/log/journal").mkdir(parents=True)  # Storage=volatile wins over the directory
    facts = FACTS["audit_logging"].linux(linux_host(tmp_path))
    assert facts is not None
    assert facts["audit_service"] is None
    assert facts["audit_running"] is False
    assert facts["process_audit"] is False
    assert facts["persistent_logs"] is False
    assert facts["logon_audit"] is False
    assert FACTS["audit_logging"].linux(linux_host(tmp_path, {"rsyslogd"}))["persistent_logs"] is True  # type: ignore[index]


def test_windows_audit() -> None:
    audit = {
        "process": [{"Subcategory": "Process Creation", "Inclusion Setting": "Success"}],
        "logon": {"Subcategory": "Logon", "Inclusion Setting": "Success and Failure"},
        "cmdline": 1,
        "eventlog": "Running",
        "sysmon": [],
        "security_log_bytes": 201326592,
    }
    facts = parse_audit_bundle(audit)
    AuditLogging.model_validate(facts)
    assert (facts["audit_running"], facts["process_audit"], facts["logon_audit"]) == (True, True, True)
    assert facts["persistent_logs"] is True
    no_failures = {**audit, "logon": [{"Inclusion Setting": "Success"}]}
    assert parse_audit_bundle(no_failures)["logon_audit"] is False
    assert parse_audit_bundle({**audit, "cmdline": None})["process_audit"] is False  # no command line
    assert parse_audit_bundle({**audit, "cmdline": None, "sysmon": "Running"})["process_audit"] is True
    localised = {**audit, "process": [{"Inclusion Setting": "Thành công"}]}
    assert parse_audit_bundle(localised)["process_audit"] is None  # not guessed
    assert parse_audit_bundle("nope")["audit_running"] is None
