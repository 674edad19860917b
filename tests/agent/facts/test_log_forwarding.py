"""Log forwarding: rsyslog and syslog-ng targets, shippers on Linux; Event Forwarding on Windows."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.log_forwarding import parse_wef, rsyslog_targets, syslog_ng_targets
from canhgac_api.schemas.report import LogForwarding
from tests.agent.facts.samples import RSYSLOG, SYSLOG_NG
from tests.agent.facts.trees import linux_host, write_tree


def test_rsyslog_and_syslog_ng_targets() -> None:
    assert rsyslog_targets(RSYSLOG) == [
        "10.0.99.5",
        "logs.tinh.gov.vn",
        "relp.tinh.gov.vn",
        "fd00::5",
        "siem.tinh.gov.vn",
    ]
    assert syslog_ng_targets(SYSLOG_NG) == ["10.0.99.6", "10.0.99.7"]
    assert rsyslog_targets("*.* /var/log/syslog\n") == []
    assert syslog_ng_targets("destination d {") == []


def test_log_forwarding_on_a_tree(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/etc/rsyslog.conf": "*.* /var/log/syslog\n",
            "/etc/rsyslog.d/90-remote.conf": RSYSLOG,
            "/etc/systemd/journal-upload.conf": "[Upload]\nURL=https://logs.tinh.gov.vn:19532\n",
        },
    )
    facts = FACTS["log_forwarding"].linux(linux_host(tmp_path, {"rsyslogd"}))
    assert facts is not None
    LogForwarding.model_validate(facts)
    assert facts["forwarding"] is True
    assert facts["running"] == ["rsyslog"]
    assert {t["daemon"] for t in facts["remote_targets"]} == {"rsyslog", "systemd-journal-upload"}
    # configured but the daemon is not running: nothing leaves the host
    assert FACTS["log_forwarding"].linux(linux_host(tmp_path))["forwarding"] is False  # type: ignore[index]
    # a log shipper running counts even without parsed targets
    assert FACTS["log_forwarding"].linux(linux_host(tmp_path / "none", {"filebeat"}))["forwarding"] is True  # type: ignore[index]


def test_windows_wef() -> None:
    wef = parse_wef(["Server=http://wec.tinh.gov.vn:5985/wsman/SubscriptionManager/WEC,Refresh=60"])
    LogForwarding.model_validate(wef)
    assert wef["forwarding"] is True
    assert parse_wef(None)["forwarding"] is False
