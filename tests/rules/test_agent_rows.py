"""HS-02, HS-32, HS-36 and NW-27 over agent facts: what is unknown is an error with its reason, never a
pass; laptops only; the backup age is level-dependent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from canhgac_rules.engine import Finding, Target, run_scan
from canhgac_rules.validate import load_default_packs

PACKS = load_default_packs()
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def judge(platform: str, rule_suffix: str, facts: dict[str, Any], level: int = 3) -> Finding:
    prefix = "HOST-LNX-" if platform == "linux" else "HOST-WIN-"
    target = Target(name="pc", kind="host", facts={"platform": platform, **facts}, platform=platform)
    [finding] = [
        f for f in run_scan(PACKS, [target], level, now=NOW).findings if f.rule_id == prefix + rule_suffix
    ]
    return finding


PLATFORMS = pytest.mark.parametrize("platform", ["linux", "windows"])


@PLATFORMS
def test_backup_age_unknown_is_an_error_with_the_reason(platform: str) -> None:
    why = "kho sao lưu cần mật khẩu / the repository needs its password"
    facts = {"backup": {"tools": [{"tool": "restic", "schedules": ["cron /etc/crontab"], "detail": why}]}}
    finding = judge(platform, "BACKUP-RECENT", facts)
    assert finding.result == "error"
    assert "backup.last_success" in finding.message
    assert any(why in str(item["value"]) for item in finding.evidence)


@PLATFORMS
def test_no_backup_tool_fails_even_though_the_age_is_unknown(platform: str) -> None:
    assert judge(platform, "BACKUP-RECENT", {"backup": {"tools": [], "last_success": None}}).result == "fail"


@PLATFORMS
@pytest.mark.parametrize(("level", "result"), [(1, "pass"), (2, "pass"), (3, "fail"), (5, "fail")])
def test_backup_age_limit_tightens_from_level_3(platform: str, level: int, result: str) -> None:
    five_days = (NOW - dt.timedelta(days=5)).isoformat()
    facts = {"backup": {"tools": [{"tool": "borg", "last_success": five_days}], "last_success": five_days}}
    assert judge(platform, "BACKUP-RECENT", facts, level).result == result


@PLATFORMS
def test_running_agent_with_unknown_connection_is_an_error(platform: str) -> None:
    products = [{"name": "Kaspersky Security Center Network Agent", "kind": "management", "running": True}]
    finding = judge(
        platform, "AV-CENTRALLY-MANAGED", {"endpoint_management": {"products": products, "managed": None}}
    )
    assert finding.result == "error"
    assert "endpoint_management.managed" in finding.message


@PLATFORMS
def test_central_management_is_required_from_level_3_only(platform: str) -> None:
    facts = {"endpoint_management": {"products": [], "managed": False}}
    assert judge(platform, "AV-CENTRALLY-MANAGED", facts, 3).result == "fail"
    target = Target(name="pc", kind="host", facts={"platform": platform, **facts}, platform=platform)
    ids = {f.rule_id for f in run_scan(PACKS, [target], 2, now=NOW).findings}
    assert not any(rule.endswith("AV-CENTRALLY-MANAGED") for rule in ids)


@PLATFORMS
def test_laptop_rule_applies_only_with_a_battery(platform: str) -> None:
    av = {"products": [{"name": "ClamAV", "kind": "antivirus", "running": True}]}
    desktop = judge(
        platform, "LAPTOP-AV-VPN", {"remote_access": {"battery": False}, "endpoint_management": av}
    )
    assert desktop.result == "not_applicable"
    laptop = {"remote_access": {"battery": True, "vpn_clients": []}, "endpoint_management": av}
    assert judge(platform, "LAPTOP-AV-VPN", laptop).result == "fail"
    # a running management agent is not anti-malware
    agent_only = {
        "products": [
            {"name": "Kaspersky Security Center Network Agent", "kind": "management", "running": True}
        ]
    }
    with_vpn = {
        "remote_access": {"battery": True, "vpn_clients": [{"name": "OpenVPN"}]},
        "endpoint_management": agent_only,
    }
    assert judge(platform, "LAPTOP-AV-VPN", with_vpn).result == "fail"


@PLATFORMS
def test_egress_not_configured_is_an_error_and_an_open_port_fails(platform: str) -> None:
    off = {"egress": {"configured": False, "attempts": [], "open_ports": None}}
    assert judge(platform, "EGRESS-BLOCKED", off).result == "error"
    open_rdp = {
        "egress": {"configured": True, "attempts": [{"port": 3389, "open": True}], "open_ports": [3389]}
    }
    finding = judge(platform, "EGRESS-BLOCKED", open_rdp)
    assert finding.result == "fail"
    assert finding.evidence == [{"path": "egress.open_ports", "value": [3389]}]
    assert judge(platform, "EGRESS-BLOCKED", {}).result == "error"  # an older agent: not collected
