"""packaging/systemd/canhgac-server.service: systemd accepts it, and it runs the server unprivileged and
hardened like the agent's unit, writing only under /var/lib/canhgac."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

UNITS = Path(__file__).resolve().parents[2] / "packaging" / "systemd"
UNIT = UNITS / "canhgac-server.service"


def _parse(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def test_unit_is_unprivileged_and_writes_only_its_state() -> None:
    unit = _parse(UNIT)
    service = unit["Service"]
    expected = {
        "User": "canhgac",
        "Group": "canhgac",
        "DynamicUser": "no",
        "StateDirectory": "canhgac",
        "WorkingDirectory": "/var/lib/canhgac",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/canhgac",
        "ProtectHome": "yes",
        "AmbientCapabilities": "",
        "CapabilityBoundingSet": "",
        "Restart": "on-failure",
    }
    assert {k: service.get(k) for k in expected} == expected
    assert service["ExecStart"].split()[1:] == ["serve", "--config", "/etc/canhgac/server.yaml"]
    assert service["ExecStart"].split()[0] == "/opt/canhgac/bin/canhgac"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_every_hardening_switch_of_the_agent_unit_is_on_for_the_server_too() -> None:
    agent = _parse(UNITS / "canhgac-agent.service")["Service"]
    server = _parse(UNIT)["Service"]
    switches = {
        k for k, v in agent.items() if k.startswith(("Protect", "Private", "Restrict", "NoNew")) and v
    }
    switches |= {"LockPersonality", "RemoveIPC", "SystemCallArchitectures", "SystemCallFilter"}
    missing = {k for k in switches if not server.get(k)}
    assert not missing, missing
    weaker = {k for k in switches if k != "ProtectHome" and server[k] != agent[k]}
    # The server needs no netlink (it reads no interface table); everything else is the agent's.
    assert weaker <= {"RestrictAddressFamilies"}, weaker
    assert set(server["RestrictAddressFamilies"].split()) < set(agent["RestrictAddressFamilies"].split())


def test_systemd_analyze_verify_accepts_it(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # no systemd here: the keys were checked above, which is all we can do
        _parse(UNIT)
        return
    # verify also checks that ExecStart exists: point it at this checkout's entry point.
    server = Path(sys.executable).with_name("canhgac")
    assert server.exists(), "canhgac entry point not installed in this venv"
    unit = tmp_path / "canhgac-server.service"
    unit.write_text(UNIT.read_text().replace("/opt/canhgac/bin/canhgac", str(server)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Unknown or misspelt keys are only warnings to verify: fail on them too.
    assert "Unknown" not in output, output
    assert "Failed to parse" not in output, output
