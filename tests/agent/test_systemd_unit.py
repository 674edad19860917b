"""packaging/systemd/canhgac-agent.service: systemd accepts it, and it runs the agent unprivileged."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "packaging" / "systemd" / "canhgac-agent.service"


def _parse() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_is_hardened_and_unprivileged() -> None:
    unit = _parse()
    service = unit["Service"]
    expected = {
        "User": "canhgac-agent",
        "DynamicUser": "no",
        "StateDirectory": "canhgac-agent",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/canhgac-agent",
        "AmbientCapabilities": "",
        "CapabilityBoundingSet": "",
        "Restart": "on-failure",
    }
    assert {k: service.get(k) for k in expected} == expected
    assert service["ProtectHome"] in ("yes", "read-only", "tmpfs")
    assert service["ExecStart"].split()[1:] == ["run", "--config", "/etc/canhgac-agent/agent.toml"]
    assert service["ExecStart"].split()[0].endswith("/canhgac-agent")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_analyze_verify_accepts_it(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # no systemd here: the keys were checked above, which is all we can do
        _parse()
        return
    # verify also checks that ExecStart exists: point it at this checkout's entry point.
    agent = Path(sys.executable).with_name("canhgac-agent")
    assert agent.exists(), "canhgac-agent entry point not installed in this venv"
    unit = tmp_path / "canhgac-agent.service"
    unit.write_text(UNIT.read_text().replace("/opt/canhgac-agent/bin/canhgac-agent", str(agent)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Unknown or misspelt keys are only warnings to verify: fail on them too.
    assert "Unknown" not in output, output
    assert "Failed to parse" not in output, output


LAN_DROP_IN = UNIT.with_name("canhgac-agent-lan.conf")


def test_lan_drop_in_grants_only_cap_net_raw_and_packet_sockets(tmp_path: Path) -> None:
    drop_in = configparser.ConfigParser(strict=False, interpolation=None)
    drop_in.optionxform = str  # type: ignore[assignment,method-assign]
    drop_in.read_string(LAN_DROP_IN.read_text())
    service = drop_in["Service"]
    assert service["AmbientCapabilities"] == service["CapabilityBoundingSet"] == "CAP_NET_RAW"
    assert "AF_PACKET" in service["RestrictAddressFamilies"].split()
    assert set(service) == {"AmbientCapabilities", "CapabilityBoundingSet", "RestrictAddressFamilies"}
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    # The unit with the drop-in's lines after its own, as systemd merges them, still verifies.
    agent = Path(sys.executable).with_name("canhgac-agent")
    merged = UNIT.read_text().replace("/opt/canhgac-agent/bin/canhgac-agent", str(agent))
    merged = merged.replace("[Install]", LAN_DROP_IN.read_text() + "\n[Install]")
    unit = tmp_path / "canhgac-agent.service"
    unit.write_text(merged)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Unknown" not in output, output
