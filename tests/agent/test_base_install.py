"""`scripts/build` makes the packages the README installs from; the base wheel alone (no `server` extra)
installs into a fresh venv and runs the agent, the wheel with `[server]` runs the server's commands."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
import venv
from pathlib import Path

import pytest

from canhgac_agent import __version__
from canhgac_api.schemas.report import Report

ROOT = Path(__file__).parents[2]


def clean_env() -> dict[str, str]:
    """The environment without this checkout's PYTHONPATH: an installed venv must run its own copy."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("CANHGAC_")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`scripts/build OUT` as the README runs it (this venv's setuptools: nothing downloaded)."""
    out = tmp_path_factory.mktemp("dist")
    had_egg_info = (ROOT / "canhgac.egg-info").exists()
    r = subprocess.run(
        [str(ROOT / "scripts" / "build"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**clean_env(), "PYTHON": sys.executable},
    )
    assert r.returncode == 0, r.stderr
    assert (ROOT / "canhgac.egg-info").exists() == had_egg_info, "the build left files in the tree"
    files = {
        "wheel": out / f"canhgac-{__version__}-py3-none-any.whl",
        "sdist": out / f"canhgac-{__version__}.tar.gz",
    }
    printed = [line.split() for line in r.stdout.splitlines()]
    assert printed == [[sha256(path), str(path)] for path in files.values()], r.stdout
    return files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_makes_a_wheel_and_an_sdist_with_checkable_hashes(built: dict[str, Path]) -> None:
    out = built["wheel"].parent
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    with tarfile.open(built["sdist"]) as sdist:
        names = sdist.getnames()
    # What the server needs at run time beyond code: migrations, rule packs, report templates.
    for needed in ("store/migrations/env.py", "packs/", "templates/"):
        assert any(needed in name for name in names), needed


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory, built: dict[str, Path]) -> Path:
    env_dir = tmp_path_factory.mktemp("base-venv") / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    subprocess.run(
        [str(env_dir / "bin" / "pip"), "install", "-q", str(built["wheel"])],
        check=True,
        timeout=300,
        env=clean_env(),
    )
    return env_dir


def test_base_install_has_only_the_agent_dependencies(base_venv: Path) -> None:
    py = str(base_venv / "bin" / "python")
    frozen = subprocess.run(
        [str(base_venv / "bin" / "pip"), "freeze"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout.lower()
    names = {line.split("==")[0].split(" @ ")[0] for line in frozen.splitlines() if line}
    assert names == {"canhgac", "psutil"}, names
    for server_module in ("pydantic", "fastapi", "sqlalchemy", "yaml"):
        r = subprocess.run(
            [py, "-c", f"import {server_module}"], check=False, capture_output=True, env=clean_env()
        )
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
        env=clean_env(),
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
        env=clean_env(),
    ).stdout.split()
    third_party = {m for m in mods if m not in sys.stdlib_module_names and not m.startswith("_")}
    assert third_party <= {"canhgac_agent", "psutil"}, third_party


def test_lan_watch_in_the_base_install_names_the_extra_to_install(base_venv: Path) -> None:
    """The base install has no scapy: the LAN sensor says what to install instead of a traceback."""
    r = subprocess.run(
        [str(base_venv / "bin" / "canhgac-agent"), "lan", "watch", "--interface", "lo", "--duration", "1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert r.returncode == 1, r.stderr
    assert "pip install 'canhgac[lan]'" in r.stderr
    assert "Traceback" not in r.stderr


def test_server_extra_from_the_wheel_runs_the_server_commands(built: dict[str, Path], tmp_path: Path) -> None:
    """The README's server install: a venv, `pip install 'canhgac-<v>-py3-none-any.whl[server]'`, then the
    config found at its place, the database created by `db upgrade` (migrations shipped), a token."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    subprocess.run(
        [str(env_dir / "bin" / "pip"), "install", "-q", f"{built['wheel']}[server]"],
        check=True,
        timeout=600,
        env=clean_env(),
    )
    config = tmp_path / "etc" / "server.yaml"
    config.parent.mkdir()
    sites = [{"code": "HT", "name": "Tỉnh Hà Tĩnh", "kind": "province", "level": 3}]
    config.write_text(json.dumps({"database_url": "sqlite:///../state/canhgac.sqlite", "sites": sites}))
    (tmp_path / "state").mkdir()
    env = {**clean_env(), "CANHGAC_CONFIG": str(config)}

    def canhgac(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(env_dir / "bin" / "canhgac"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
            cwd=tmp_path,
        )

    assert canhgac("--version").stdout.strip() == f"canhgac {__version__}"
    checked = canhgac("config", "check")
    assert checked.returncode == 0, checked.stderr
    assert canhgac("token", "list").returncode == 2  # no database yet: only `db upgrade` makes one
    upgraded = canhgac("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "state" / "canhgac.sqlite").is_file()
    token = canhgac("token", "create", "--role", "admin", "--json")
    assert token.returncode == 0, token.stderr
    assert json.loads(token.stdout)["token"].startswith("cgt_")
    rules = canhgac("rules", "list", "--level", "3", "--json")
    assert rules.returncode == 0, rules.stderr
    assert json.loads(rules.stdout), "no rule packs in the installed wheel"


def test_edge_polling_from_the_base_install_spools_polls_and_refuses_privacy(
    base_venv: Path, tmp_path: Path
) -> None:
    """No extras: v2c polling of a real (simulated) switch works, its poll reaches the spool with its
    interfaces and says device health was skipped for the missing extra; a v3 user with privacy is
    refused at config load, naming the extra to install."""
    from canhgac_agent.spool import STATE_FILE, Spool, StateFile
    from canhgac_collector.lab.snmpsim import SnmpsimFleet
    from tests.harness.snmp_recordings import switch_rows, write_recording

    recording = write_recording(tmp_path / "rec" / "edge" / "sw.snmprec", switch_rows(name="xa-sw", ports=8))
    state = tmp_path / "state"
    with SnmpsimFleet({"edge/sw": recording}, tmp_path / "fleet") as fleet:
        host, port = fleet.endpoint("edge/sw")
        cfg = tmp_path / "agent.toml"
        cfg.write_text(
            f'state_dir = "{state}"\n[probes]\ngateway = false\n[snmp]\nenabled = true\ninterval_s = 10\n'
            f'[[snmp.devices]]\nname = "xa-sw"\naddress = "{host}:{port}"\ncommunity = "edge/sw"\n',
            encoding="utf-8",
        )
        log = tmp_path / "agent.log"
        with log.open("wb") as err:
            agent = subprocess.Popen(
                [str(base_venv / "bin" / "canhgac-agent"), "run", "--config", str(cfg)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=clean_env(),
            )
            try:
                deadline = time.monotonic() + 60
                while "edge device answers" not in log.read_text(errors="replace"):
                    assert agent.poll() is None, log.read_text(errors="replace")
                    assert time.monotonic() < deadline, log.read_text(errors="replace")
                    time.sleep(0.2)
            finally:
                agent.terminate()  # stopping spools the polls the last report did not carry
                agent.wait(30)
    assert agent.returncode == 0, log.read_text(errors="replace")
    spool = Spool(state, StateFile(state / STATE_FILE))
    reports = [json.loads(p.json_bytes()) for p in spool.peek(100)]
    spool.close()
    polls = [p for r in reports if r.get("snmp") for p in r["snmp"]["polls"]]
    for report in reports:
        Report.model_validate(report)
    assert polls, reports
    assert polls[0]["state"] == "up"
    assert len(polls[0]["interfaces"]) == 8
    assert "pip install 'canhgac[edge]'" in polls[0]["module_errors"]["resources"]

    v3 = tmp_path / "v3.toml"
    v3.write_text(
        f'state_dir = "{state}"\n[snmp]\nenabled = true\n[[snmp.devices]]\nname = "xa-sw"\n'
        f'address = "{host}:{port}"\nversion = "3"\nuser = "u"\n'
        'auth_key = "auth-pass"\npriv_key = "priv-pass"\n',
        encoding="utf-8",
    )
    refused = subprocess.run(
        [str(base_venv / "bin" / "canhgac-agent"), "once", "--config", str(v3)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_env(),
    )
    assert refused.returncode != 0
    assert "snmp.devices[0].priv_protocol" in refused.stderr
    assert "pip install 'canhgac[edge]'" in refused.stderr
    assert "Traceback" not in refused.stderr
