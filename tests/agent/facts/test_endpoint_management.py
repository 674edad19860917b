"""Centrally managed AV/EDR (HS-02): Linux trees and a real process, Windows bundle parts."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from canhgac_agent.facts.endpoint_management import (
    managed,
    parse_wazuh_manager,
    parse_wazuh_state,
    read_linux,
    security_center_entries,
    windows_service_entries,
)
from canhgac_agent.facts.linux import LinuxHost
from canhgac_api.schemas.report import EndpointManagement
from tests.agent.facts.trees import linux_host, write_tree

# As wazuh-agentd 4.x writes it every 5 s (documented format)
WAZUH_STATE_CONNECTED = """\
# State file for wazuh-agentd

# Agent status:
# - pending:      waiting for get connected.
# - connected:    connection established with manager in the last 10 seconds.
# - disconnected: connection lost or no ACK received in the last 60 seconds.
status='connected'

# Last time a keepalive was sent
last_keepalive='2026-12-07 09:12:37'

# Last time a control message was received
last_ack='2026-12-07 09:12:37'

# Number of generated events
msg_count='12579'
"""

OSSEC_CONF = """\
<ossec_config>
  <client>
    <server>
      <address>siem.tinh.gov.vn</address>
      <port>1514</port>
      <protocol>tcp</protocol>
    </server>
    <enrollment><enabled>yes</enabled></enrollment>
  </client>
  <syscheck><frequency>43200</frequency></syscheck>
</ossec_config>
"""


def test_wazuh_state_and_manager_parse() -> None:
    assert parse_wazuh_state(WAZUH_STATE_CONNECTED)["status"] == "connected"
    assert parse_wazuh_state(WAZUH_STATE_CONNECTED)["last_ack"] == "2026-12-07 09:12:37"
    assert parse_wazuh_manager(OSSEC_CONF) == "siem.tinh.gov.vn"
    assert parse_wazuh_manager("<ossec_config><client><server-ip>10.0.0.5</server-ip></client>") == "10.0.0.5"
    assert parse_wazuh_manager("garbage <address>") is None


def test_wazuh_connected_and_disconnected(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/var/ossec/bin/wazuh-agentd": "",
            "/var/ossec/var/run/wazuh-agentd.state": WAZUH_STATE_CONNECTED,
            "/var/ossec/etc/ossec.conf": OSSEC_CONF,
        },
    )
    facts = read_linux(linux_host(tmp_path, {"wazuh-agentd"}))
    EndpointManagement.model_validate(facts)
    [wazuh] = facts["products"]
    assert (wazuh["name"], wazuh["running"], wazuh["connected"]) == ("Wazuh agent", True, True)
    assert wazuh["manager"] == "siem.tinh.gov.vn"
    assert facts["managed"] is True

    state = tmp_path / "var/ossec/var/run/wazuh-agentd.state"
    state.write_text(WAZUH_STATE_CONNECTED.replace("status='connected'", "status='disconnected'"))
    facts = read_linux(linux_host(tmp_path, {"wazuh-agentd"}))
    assert facts["products"][0]["connected"] is False
    assert facts["managed"] is False
    # stopped: connected but not running is not managed either
    state.write_text(WAZUH_STATE_CONNECTED)
    assert read_linux(linux_host(tmp_path, set()))["managed"] is False


def test_unreadable_state_is_unknown_not_disconnected(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/var/ossec/bin/wazuh-agentd": ""})  # state file root:wazuh 0640, unreadable
    facts = read_linux(linux_host(tmp_path, {"wazuh-agentd"}))
    assert facts["products"][0]["connected"] is None
    assert "state file" in facts["products"][0]["detail"]
    assert facts["managed"] is None


def test_clamav_alone_is_not_central_management(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/var/lib/clamav/daily.cld": "x", "/var/lib/clamav/main.cvd": "x"})
    os.utime(tmp_path / "var/lib/clamav/daily.cld", (1764500000, 1764500000))
    facts = read_linux(linux_host(tmp_path, {"clamd", "freshclam"}))
    EndpointManagement.model_validate(facts)
    [clam] = facts["products"]
    assert clam["running"] is True
    assert clam["connected"] is None
    assert clam["definitions_updated"] is not None
    assert facts["managed"] is False  # running, but nothing reports to a manager


def test_root_only_agents_are_running_with_unknown_connection(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/opt/kaspersky/kesl/bin/kesl": "", "/opt/kaspersky/klnagent64/sbin/klnagent": ""})
    facts = read_linux(linux_host(tmp_path, {"kesl", "klnagent"}))
    names = {p["name"]: p for p in facts["products"]}
    assert names["Kaspersky Security Center Network Agent"]["running"] is True
    assert names["Kaspersky Security Center Network Agent"]["connected"] is None
    assert facts["managed"] is None


def test_nothing_installed(tmp_path: Path) -> None:
    assert read_linux(linux_host(tmp_path)) == {"products": [], "managed": False, "detail": None}


@pytest.fixture
def falcon_sensor(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real process named like CrowdStrike's sensor (a copy of sleep)."""
    binary = tmp_path / "bin" / "falcon-sensor"
    binary.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    proc = subprocess.Popen([str(binary), "30"])
    time.sleep(0.2)
    yield proc
    proc.kill()
    proc.wait(timeout=5)


def test_a_real_running_agent_process_is_found(
    tmp_path: Path, falcon_sensor: subprocess.Popen[bytes]
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    facts = read_linux(LinuxHost(root=str(root)))  # the live process list
    assert {k: v for k, v in facts["products"][0].items() if k != "detail"} == {
        "name": "CrowdStrike Falcon",
        "kind": "edr",
        "running": True,
        "connected": None,
    }


# --- Windows ---------------------------------------------------------------------------------------

# Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct
# | Select-Object displayName,productState | ConvertTo-Json
# on Windows 10 with Kaspersky active and Defender passive.
SECURITY_CENTER = [
    {
        "displayName": "Kaspersky Endpoint Security for Windows",
        "productState": 266240,
    },  # 0x041000: on, current
    {"displayName": "Windows Defender", "productState": 393488},  # 0x060110: off, outdated
]

SERVICES = {
    "klnagent": "Running",
    "avp": "Running",
    "sense": "Running",
    "wazuhsvc": "Stopped",
    "spooler": "Running",
}


def test_security_center_bits() -> None:
    kes, defender = security_center_entries(SECURITY_CENTER)
    assert (kes["running"], kes["definitions_current"]) == (True, True)
    assert (defender["running"], defender["definitions_current"]) == (False, False)
    assert security_center_entries({"displayName": "X", "productState": "garbage"})[0]["running"] is None
    assert security_center_entries([None, 3, {"productState": 1}]) == []


def test_windows_services_and_onboarding() -> None:
    entries = windows_service_entries(SERVICES, 1, WAZUH_STATE_CONNECTED, OSSEC_CONF)
    by_name = {e["name"]: e for e in entries}
    assert by_name["Microsoft Defender for Endpoint"]["connected"] is True
    assert by_name["Kaspersky Security Center Network Agent"]["running"] is True
    assert by_name["Kaspersky Security Center Network Agent"]["connected"] is None
    assert by_name["Wazuh agent"]["running"] is False
    assert by_name["Wazuh agent"]["connected"] is True
    assert managed(entries) is True
    not_onboarded = windows_service_entries({"sense": "Running"}, 0, None, None)
    assert not_onboarded[0]["connected"] is False
    assert managed(not_onboarded) is False
    EndpointManagement.model_validate({"products": entries, "managed": True})
