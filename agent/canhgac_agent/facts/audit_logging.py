"""Audit and persistent logging (`SecurityFacts.audit_logging`).

Linux: auditd and its rules (process execution audited), journald's storage and a syslog daemon
(logs that survive a reboot). Windows: `auditpol` by subcategory GUID, the
ProcessCreationIncludeCmdLine_Enabled policy, EventLog and Sysmon services.

Requirement HS-20 and HS-21 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import any_running, as_list, clip, parse_ini, read_text
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def audit_rules_log_execve(text: str) -> bool:
    """Whether auditctl rules text has an always,exit rule on execve/execveat (`-S execve`,
    `-S execve,execveat`, `--syscall execve`, `-S all`)."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = line.split()
        actions = [tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t in ("-a", "-A")]
        if not any("always" in a and "exit" in a for a in actions):
            continue
        syscalls: list[str] = []
        for i, token in enumerate(tokens[:-1]):
            if token in ("-S", "--syscall"):
                syscalls.extend(tokens[i + 1].split(","))
        if any(s in ("execve", "execveat", "all", "59", "322") for s in syscalls):
            return True
    return False


def journal_storage(conf_texts: Iterable[str]) -> str | None:
    """journald's `Storage=` from journald.conf and its drop-ins (the last one wins); None if unset."""
    storage = None
    for text in conf_texts:
        value = parse_ini(text).get("journal", {}).get("Storage")
        if value:
            storage = value.lower()
    return storage


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`AuditLogging` on Linux."""
    procs = host.process_names()
    rule_files = [host.path("/etc/audit/audit.rules"), *host.glob("/etc/audit/rules.d/*.rules")]
    read = {f: read_text(f) for f in rule_files}
    texts = [t for t in read.values() if t is not None]
    audit_dir = host.path("/etc/audit")
    # /etc/audit and its rules are root-only on most systems: unreadable rules are unknown, not absent
    unreadable = [f for f, t in read.items() if t is None and os.path.exists(f)]
    readable = not unreadable and (not os.path.isdir(audit_dir) or os.access(audit_dir, os.R_OK | os.X_OK))
    journal_texts = [
        t
        for t in (read_text(f) for f in [host.path("/etc/systemd/journald.conf"),
                                           *host.glob("/etc/systemd/journald.conf.d/*.conf")])
        if t is not None
    ]  # fmt: skip
    storage = journal_storage(journal_texts)
    journal_dir = os.path.isdir(host.path("/var/log/journal"))
    # persistent, or auto/unset: persistent exactly when /var/log/journal exists
    journal_persistent = False if storage in ("volatile", "none") else storage == "persistent" or journal_dir
    syslog = next((d for d in ("rsyslogd", "syslog-ng") if any_running(procs, (d,))), None)
    return {
        "audit_service": "auditd" if "auditd" in procs or os.path.isdir(audit_dir) else None,
        "audit_running": "auditd" in procs,
        "process_audit": audit_rules_log_execve("\n".join(texts)) if readable else None,
        "persistent_logs": journal_persistent or syslog is not None,
        # PAM/sshd log every logon to the journal and syslog; kept when those persist or auditd runs
        "logon_audit": journal_persistent or syslog is not None or "auditd" in procs,
        "detail": clip(
            f"journald Storage={storage or 'auto (default)'}, /var/log/journal "
            f"{'exists' if journal_dir else 'missing'}; syslog daemon: {syslog or 'none'}"
            + ("" if readable else "; /etc/audit not readable (needs root)"),
            2048,
        ),
    }


def _audited(rows: Any, what: str) -> bool | None:
    """Whether an `auditpol /get /subcategory:{GUID} /r` row audits `what` (Success/Failure).

    The 'Inclusion Setting' text is in the display language: English is recognised, anything else
    is unknown (None) rather than guessed."""
    for row in as_list(rows):
        if isinstance(row, dict) and isinstance(row.get("Inclusion Setting"), str):
            text = row["Inclusion Setting"].lower()
            if "success" in text or "failure" in text or "no auditing" in text:
                return what.lower() in text
            return None
    return None


def parse_audit_bundle(audit: Any) -> dict[str, Any]:
    """`AuditLogging` on Windows: EventLog running; process creation audited with the command line
    (ProcessCreationIncludeCmdLine_Enabled = 1), or Sysmon running; logon success+failure audited;
    the Security log has a size (event logs are files on disk: persistent)."""
    if not isinstance(audit, dict):
        return {"audit_service": "eventlog", "audit_running": None, "process_audit": None}
    sysmon = any(s == "Running" for s in as_list(audit.get("sysmon")))
    eventlog = audit.get("eventlog")
    creation = _audited(audit.get("process"), "success")
    cmdline = audit.get("cmdline") == 1
    process = True if sysmon else (None if creation is None else creation and cmdline)
    logon = [_audited(audit.get("logon"), w) for w in ("success", "failure")]
    size = audit.get("security_log_bytes")
    return {
        "audit_service": "eventlog",
        "audit_running": (eventlog == "Running") if isinstance(eventlog, str) else None,
        "process_audit": process,
        "persistent_logs": (size > 0) if isinstance(size, int) and not isinstance(size, bool) else None,
        "logon_audit": None if None in logon else all(logon),
        "detail": clip(f"logon audit success/failure={logon}, Security log max bytes={size}, "
                       f"cmdline={cmdline}, sysmon={sysmon}", 2048),
    }  # fmt: skip


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`AuditLogging` on Windows."""
    return parse_audit_bundle(host.powershell("audit"))


PLUGIN = FactFamily(name="audit_logging", linux=read_linux, windows=read_windows)
