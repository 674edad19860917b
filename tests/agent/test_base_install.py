"""The base package alone (no `server` extra) installs into a fresh venv and runs the agent."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from canhgac_api.schemas.report import Report

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("base-venv")
    wheels = tmp / "wheels"
    # Build the wheel with the dev venv's setuptools (no network needed for the build itself).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    wheel = next(wheels.glob("canhgac-*.whl"))
    subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", str(wheel)], check=True, timeout=300)
    return env_dir


def test_base_install_has_only_the_agent_dependencies(base_venv: Path) -> None:
    py = str(base_venv / "bin" / "python")
    frozen = subprocess.run(
        [str(base_venv / "bin" / "pip"), "freeze"], capture_output=True, text=True, check=True
    ).stdout.lower()
    names = {line.split("==")[0].split(" @ ")[0] for line in frozen.splitlines() if line}
    assert names == {"canhgac", "psutil"}, names
    for server_module in ("pydantic", "fastapi", "sqlalchemy", "yaml"):
        r = subprocess.run([py, "-c", f"import {server_module}"], check=False, capture_output=True)
        assert r.returncode != 0, f"{server_module} importable in the base install"


def test_agent_once_json_runs_from_the_base_install(base_venv: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n[probes]\ngateway = false\n', encoding="utf-8")
    r = subprocess.run(
        [str(base_venv / "bin" / "canhgac-agent"), "once", "--json", "--config", str(cfg)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    report = Report.model_validate(json.loads(r.stdout))
    assert report.metrics.cpu is not None
    assert report.metrics.memory is not None
    assert report.host.hostname
    # Nothing the agent imports at run time comes from outside the standard library and psutil.
    mods = subprocess.run(
        [
            str(base_venv / "bin" / "python"),
            "-c",
            "import sys, canhgac_agent.cli, canhgac_agent.runner; "
            "print('\\n'.join(sorted(m.split('.')[0] for m in sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    third_party = {m for m in mods if m not in sys.stdlib_module_names and not m.startswith("_")}
    assert third_party <= {"canhgac_agent", "psutil"}, third_party
