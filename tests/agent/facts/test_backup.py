"""Backup agents (HS-32): Linux trees (cron, systemd timers, config), systemctl and Windows outputs."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts.backup import (
    cron_lines,
    parse_systemctl_show,
    read_linux,
    timer_unit,
    veeam_entry,
    windows_backup_entry,
)
from canhgac_api.schemas.report import Backup
from tests.agent.facts.trees import linux_host, write_tree

CRONTAB = """\
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
RESTIC_REPOSITORY=sftp:backup@nas:/srv/restic
# m h dom mon dow user  command
17 *    * * *   root    cd / && run-parts --report /etc/cron.hourly
30 1    * * *   root    /usr/local/bin/restic-backup.sh >> /var/log/restic.log 2>&1
# 0 3 * * * root restic forget --prune
"""

BORGMATIC_TIMER = """\
[Unit]
Description=Run borgmatic backup

[Timer]
OnCalendar=daily
Persistent=true
RandomizedDelaySec=3h
Unit=borgmatic-nightly.service

[Install]
WantedBy=timers.target
"""

# `systemctl show borgmatic.service -p Result -p ExecMainStatus -p ExecMainExitTimestampMonotonic`
SHOW_SUCCESS = "Result=success\nExecMainStatus=0\nExecMainExitTimestampMonotonic=86400000000\n"
SHOW_FAILED = "Result=exit-code\nExecMainStatus=2\nExecMainExitTimestampMonotonic=90000000000\n"
SHOW_NEVER = "Result=success\nExecMainStatus=0\nExecMainExitTimestampMonotonic=0\n"


def test_cron_lines_skip_comments_and_variables() -> None:
    assert cron_lines(CRONTAB, "restic") == [
        "30 1    * * *   root    /usr/local/bin/restic-backup.sh >> /var/log/restic.log 2>&1"
    ]


def test_timer_unit() -> None:
    assert timer_unit(BORGMATIC_TIMER, "borgmatic.timer") == "borgmatic-nightly.service"
    assert timer_unit("[Timer]\nOnCalendar=daily\n", "restic-backup.timer") == "restic-backup.service"


def test_systemctl_show() -> None:
    boot = 1_764_000_000.0
    assert parse_systemctl_show(SHOW_SUCCESS, boot) == ("2025-11-25T16:00:00+00:00", False)
    assert parse_systemctl_show(SHOW_FAILED, boot) == (None, True)
    assert parse_systemctl_show(SHOW_NEVER, boot) == (None, None)
    assert parse_systemctl_show("garbage\nExecMainExitTimestampMonotonic=x", boot) == (None, None)


def test_linux_tools_with_schedules_and_the_reason_age_is_unknown(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/etc/crontab": CRONTAB,
            "/etc/borgmatic/config.yaml": "repositories:\n  - path: ssh://nas/./borg\n",
            "/lib/systemd/system/borgmatic.timer": BORGMATIC_TIMER,
            "/etc/systemd/system/timers.target.wants/borgmatic.timer": BORGMATIC_TIMER,
            "/etc/bareos/bareos-fd.d/client/myself.conf": "Client { Name = pc-fd }\n",
            "/etc/cron.daily/backup-home": "#!/bin/sh\nborg create ::home /home\n",
        },
    )
    facts = read_linux(linux_host(tmp_path, {"bareos-fd"}))
    Backup.model_validate(facts)
    tools = {t["tool"]: t for t in facts["tools"]}
    assert set(tools) == {"restic", "borg", "bareos"}
    [restic_cron] = tools["restic"]["schedules"]
    assert restic_cron.startswith(
        "cron /etc/crontab: 30 1    * * *   root    /usr/local/bin/restic-backup.sh"
    )
    assert tools["borg"]["schedules"] == ["systemd borgmatic.timer", "cron /etc/cron.daily/backup-home"]
    assert tools["bareos"]["running"] is True
    assert "Director" in tools["bareos"]["detail"]
    assert "password" in tools["restic"]["detail"]
    # no systemd as init here: the unit's last run is not known, and nothing is guessed
    assert facts["last_success"] is None
    assert all(t["last_success"] is None for t in facts["tools"])


def test_disabled_timer_is_shown_as_such(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/etc/systemd/system/restic-backup.timer": "[Timer]\nOnCalendar=daily\n"})
    facts = read_linux(linux_host(tmp_path))
    assert facts["tools"][0]["schedules"] == ["systemd restic-backup.timer (disabled)"]


def test_no_backup_tool(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/etc/crontab": "17 * * * * root run-parts /etc/cron.hourly\n"})
    assert read_linux(linux_host(tmp_path)) == {"tools": [], "last_success": None, "detail": None}


# --- Windows ---------------------------------------------------------------------------------------

# Get-WBSummary | Select-Object ... | ConvertTo-Json (Windows PowerShell 5.1 dates)
WB_SUMMARY = {
    "LastSuccessfulBackupTime": "/Date(1764900000000)/",
    "LastBackupTime": "/Date(1764900000000)/",
    "LastBackupResultHR": 0,
    "NextBackupTime": "/Date(1764986400000)/",
}
WB_NEVER = {
    "LastSuccessfulBackupTime": "/Date(-62135596800000)/",
    "LastBackupTime": "/Date(1764900000000)/",
    "LastBackupResultHR": -2147024784,
    "NextBackupTime": "/Date(1764986400000)/",
}
# Get-WinEvent -FilterHashtable @{LogName='Veeam Agent';Id=190} -MaxEvents 20 (newest first)
VEEAM_EVENTS = [
    {
        "TimeCreated": "/Date(1765000000000)/",
        "Message": "Veeam Agent 'Backup Job PC-KETOAN' finished with Failed.",
    },
    {
        "TimeCreated": "/Date(1764900000000)/",
        "Message": "Veeam Agent 'Backup Job PC-KETOAN' finished with Warning.",
    },
    {
        "TimeCreated": "/Date(1764800000000)/",
        "Message": "Veeam Agent 'Backup Job PC-KETOAN' finished with Success.",
    },
]


def test_windows_server_backup() -> None:
    entry = windows_backup_entry(WB_SUMMARY, None)
    assert entry is not None
    assert entry["last_success"] == "2025-12-05T02:00:00+00:00"
    assert entry["last_run_failed"] is False
    assert entry["schedules"] == ["next 2025-12-06T02:00:00+00:00"]
    never = windows_backup_entry(WB_NEVER, [])
    assert never is not None
    assert (never["last_success"], never["last_run_failed"]) == (None, True)
    from_event = windows_backup_entry(None, [{"TimeCreated": "/Date(1764900000000)/"}])
    assert from_event is not None
    assert from_event["last_success"] == "2025-12-05T02:00:00+00:00"
    assert windows_backup_entry(None, None) is None


def test_veeam_agent_events() -> None:
    entry = veeam_entry(VEEAM_EVENTS, "Running")
    assert entry is not None
    assert entry["last_success"] == "2025-12-05T02:00:00+00:00"  # the warning run still backed up
    assert entry["last_run_failed"] is True
    assert entry["running"] is True
    only_failed = veeam_entry(VEEAM_EVENTS[:1], "Stopped")
    assert only_failed is not None
    assert only_failed["last_success"] is None
    assert "190" in only_failed["detail"]
    assert veeam_entry(None, None) is None
    Backup.model_validate({"tools": [entry, only_failed], "last_success": entry["last_success"]})
