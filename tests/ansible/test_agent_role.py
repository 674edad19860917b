"""The canhgac_agent role, run for real: ansible-playbook over SSH (a real sshd on a loopback port) installs
the agent from the wheel, enrolls it with the site key from a vault file against a running server, and
the agent's reports arrive; a second run from the inventory `canhgac inventory --ansible` wrote changes
nothing. The LAN sensor is on: the role installs the `lan` extra offline and writes `[lan]`, which the
running agent reads (without the systemd drop-in it has no CAP_NET_RAW, and its reports say so).

The target is this machine as root, with the role's paths under a temporary directory. There is no
systemd as PID 1 here, so the role runs with `canhgac_agent_service_manager: none` (start-stop-daemon).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ServerProcess
from tests.harness.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "ansible"
SITE_KEY = "ansible-commune-key-0123456789abcdef"
TEST_USER = "cg-ansible-test"  # the agent's service user on the target, removed afterwards
HOSTNAME = "pc-xa-ansible"

pytestmark = pytest.mark.e2e


def tool(name: str) -> str:
    """An Ansible command from this venv (scripts/setup installs the dev extra) or PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} not found: run scripts/setup (the dev extra installs ansible and ansible-lint)"
    return found


@dataclass
class Target:
    port: int
    key: Path
    known_hosts: Path


@pytest.fixture
def work_dir() -> Iterator[Path]:
    """A directory the agent's unprivileged user can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="canhgac-ansible-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sshd(work_dir: Path) -> Iterator[Target]:
    """openssh-server on 127.0.0.1:<free port>, key login for root only, host key pinned by the client."""
    daemon = shutil.which("sshd") or "/usr/sbin/sshd"
    assert Path(daemon).exists(), "sshd not found: run scripts/install-system-deps (openssh-server)"
    ssh = work_dir / "ssh"
    ssh.mkdir(mode=0o700)
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / name)], check=True, timeout=30
        )
    (ssh / "authorized_keys").write_text((ssh / "client_key.pub").read_text())
    port = free_port()
    host_pub = (ssh / "host_key.pub").read_text().split()
    (ssh / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    config = ssh / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {ssh / 'host_key'}\n"
        f"AuthorizedKeysFile {ssh / 'authorized_keys'}\nPidFile {ssh / 'sshd.pid'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    log = (ssh / "sshd.log").open("wb")
    proc = subprocess.Popen([daemon, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(
            ["ssh", "-p", str(port), "-i", str(ssh / "client_key"), "-o", "BatchMode=yes",
             "-o", f"UserKnownHostsFile={ssh / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
             "root@127.0.0.1", "true"],
            capture_output=True, timeout=15, check=False,
        ).returncode != 0:  # fmt: skip
            assert proc.poll() is None, (ssh / "sshd.log").read_text()
            assert time.monotonic() < deadline, (
                "sshd not reachable within 15 s: " + (ssh / "sshd.log").read_text()
            )
            time.sleep(0.2)
        yield Target(port, ssh / "client_key", ssh / "known_hosts")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def wheels(work_dir: Path) -> list[Path]:
    """The canhgac wheel, built from a copy of the sources (no build/ left in the checkout), and
    psutil's and scapy's (the `lan` extra), so the role installs offline."""
    src = work_dir / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for part in ("agent", "collector", "rules", "api"):
        shutil.copytree(ROOT / part, src / part, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = work_dir / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        check=True,
        timeout=300,
    )
    subprocess.run(
        [
            *pip,
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(out),
            f"psutil=={version('psutil')}",
            f"scapy=={version('scapy')}",
        ],
        check=True,
        timeout=300,
    )
    shutil.rmtree(src)
    canhgac = next(out.glob("canhgac-*.whl"))
    return [canhgac, next(out.glob("psutil-*.whl")), next(out.glob("scapy-*.whl"))]


@pytest.fixture
def server(work_dir: Path) -> Iterator[ServerProcess]:
    port = free_port()
    config = {
        "listen": {"host": "127.0.0.1", "port": port},
        "database_url": f"sqlite:///{work_dir / 'canhgac.sqlite'}",
        "agent_defaults": {"interval_s": 1, "probe_gateway": False, "probe_count": 1, "probe_timeout_s": 0.5},
        "sites": [
            {
                "code": "P",
                "name": "Tỉnh Thử Nghiệm",
                "kind": "province",
                "children": [
                    {
                        "code": "D1",
                        "name": "Huyện Một",
                        "kind": "district",
                        "children": [
                            {"code": "XA", "name": "Xã A", "kind": "commune", "enrollment_keys": [SITE_KEY]}
                        ],
                    }
                ],
            }
        ],
    }
    path = work_dir / "server.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    srv = ServerProcess(path, port, work_dir / "server.log")
    srv.start()
    yield srv
    srv.stop()


def play(work_dir: Path, playbook: str, *args: str) -> tuple[int, dict[str, int], str]:
    """Run a playbook of ansible/playbooks; the exit code, the target's recap counts and the output."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(work_dir / "ansible-tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
    }
    result = subprocess.run(
        [tool("ansible-playbook"), str(ANSIBLE_DIR / "playbooks" / playbook),
         "--vault-password-file", str(work_dir / "vault-pass"), "-e", f"@{work_dir / 'vault.yml'}",
         "-e", f"@{work_dir / 'vars.yml'}", *args],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    recap = re.search(r"^target\s*:\s*(.*)$", output, re.MULTILINE)
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap.group(1))} if recap else {}
    return result.returncode, counts, output


def test_agent_role_installs_enrolls_reports_and_is_idempotent(
    work_dir: Path, sshd: Target, wheels: list[Path], server: ServerProcess
) -> None:
    # The site key, encrypted with a vault password made for this test; never in the plain vars.
    (work_dir / "vault-pass").write_text("vault-pass-" + os.urandom(8).hex())
    vault = work_dir / "vault.yml"
    vault.write_text(yaml.safe_dump({"vault_canhgac_site_keys": {"XA": SITE_KEY}}))
    subprocess.run(
        [tool("ansible-vault"), "encrypt", "--vault-password-file", str(work_dir / "vault-pass"), str(vault)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert SITE_KEY not in vault.read_text()
    layout = {
        "canhgac_agent_wheel": str(wheels[0]),
        "canhgac_agent_extra_wheels": [str(w) for w in wheels[1:]],
        "canhgac_agent_offline": True,
        "canhgac_agent_server_url": server.base,
        "canhgac_agent_user": TEST_USER,
        "canhgac_agent_prefix": str(work_dir / "opt"),
        "canhgac_agent_config_dir": str(work_dir / "etc"),
        "canhgac_agent_state_dir": str(work_dir / "state"),
        "canhgac_agent_pidfile": str(work_dir / "agent.pid"),
        "canhgac_agent_service_manager": "none",
        "canhgac_agent_interval_s": 1,
        "canhgac_agent_probe_gateway": False,
        "canhgac_agent_machine_id": "ansible-test-" + os.urandom(4).hex(),
        "canhgac_agent_hostname": HOSTNAME,
        "canhgac_agent_lan_enabled": True,
        "canhgac_agent_lan_interfaces": ["lo"],
        "canhgac_agent_lan_gateways": ["127.0.0.1"],
    }
    (work_dir / "vars.yml").write_text(yaml.safe_dump(layout))
    ssh_args = f"-o UserKnownHostsFile={sshd.known_hosts} -o StrictHostKeyChecking=yes"
    connection = {
        "ansible_host": "127.0.0.1",
        "ansible_port": sshd.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(sshd.key),
        "ansible_ssh_common_args": ssh_args,
    }
    # First run: a static inventory as for a commune whose PCs have never reported (new_commune.yml).
    static = work_dir / "static.yml"
    static.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {"site_XA": {"vars": {"canhgac_site": "XA"}, "hosts": {"target": connection}}}
                }
            }
        )
    )
    try:
        code, counts, output = play(work_dir, "new_commune.yml", "-i", str(static), "-e", "commune=XA")
        assert code == 0, output[-6000:]
        assert counts["failed"] == 0, output[-6000:]
        assert counts["unreachable"] == 0, output[-6000:]
        assert counts["changed"] > 0, output[-6000:]
        assert SITE_KEY not in output  # no_log on the enrollment

        # Installed from the wheel, configured, enrolled as the unprivileged user, running as it.
        agent = work_dir / "opt" / "bin" / "canhgac-agent"
        assert subprocess.run([str(agent), "--version"], capture_output=True, text=True, check=True).stdout
        toml = (work_dir / "etc" / "agent.toml").read_text()
        assert server.base in toml
        assert SITE_KEY not in toml
        assert '[lan]\nenabled = true\ninterfaces = ["lo"]' in toml
        python = work_dir / "opt" / "bin" / "python"
        subprocess.run([str(python), "-c", "import scapy"], capture_output=True, check=True, timeout=60)
        state_file = work_dir / "state" / "state.json"
        state = json.loads(state_file.read_text())
        assert state["site"] == "XA"
        assert state["server_url"] == server.base
        uid = pwd.getpwnam(TEST_USER).pw_uid
        assert state_file.stat().st_uid == uid
        pid = int((work_dir / "agent.pid").read_text())
        assert os.stat(f"/proc/{pid}").st_uid == uid

        # Its reports arrive.
        deadline = time.monotonic() + 60
        while True:
            hosts = server.get("/api/v1/hosts")["hosts"]
            mine = [h for h in hosts if h["hostname"] == HOSTNAME]
            if mine and mine[0]["reports_total"] >= 2:
                break
            assert time.monotonic() < deadline, f"no reports from {HOSTNAME}: {hosts}"
            time.sleep(0.5)
        assert mine[0]["site"] == "XA"
        assert mine[0]["id"] == state["agent_id"]
        # The agent runs the sensor from the rendered [lan]; as start-stop-daemon starts it, without the
        # drop-in's CAP_NET_RAW, its capture on lo fails and its reports say so.
        # Each report carries the error again, so a report whose LAN step was confined is mended by the next.
        deadline = time.monotonic() + 30
        while True:
            with urllib.request.urlopen(server.base + "/metrics", timeout=10) as response:
                metrics = response.read().decode()
            if re.search(r'canhgac_lan_sensor_capture_errors\{site="XA",[^}]*\} 1', metrics):
                break
            if time.monotonic() > deadline:
                lines = [x for x in metrics.splitlines() if "lan_sensor" in x or "confined" in x]
                log = (work_dir / "state" / "agent.log").read_text(errors="replace")[-3000:]
                raise AssertionError("no capture error on /metrics:\n" + "\n".join(lines) + "\n" + log)
            time.sleep(0.5)

        # The inventory from the server's tree and store: P → D1 → XA, the host in its site's group.
        generated = work_dir / "canhgac-inventory.yml"
        subprocess.run(
            [sys.executable, "-m", "canhgac_collector.cli", "inventory", "--ansible",
             "--config", str(server.config_path), "--output", str(generated)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        inventory = yaml.safe_load(generated.read_text())
        xa = inventory["all"]["children"]["site_P"]["children"]["site_D1"]["children"]["site_XA"]
        assert xa["vars"] == {"canhgac_site": "XA"}
        assert xa["hosts"][HOSTNAME]["canhgac_agent_id"] == state["agent_id"]
        assert HOSTNAME in inventory["all"]["children"]["canhgac_linux"]["hosts"]

        # Second run, from the generated inventory (connection details from the operator's own file,
        # as for hosts whose names do not resolve): nothing changes, and the agent keeps its pid.
        overrides = work_dir / "connection.yml"
        overrides.write_text(yaml.safe_dump({"all": {"hosts": {HOSTNAME: connection}}}))
        code, counts, output = play(
            work_dir, "upgrade_agents.yml", "-i", str(generated), "-i", str(overrides), "-e", "target=site_XA"
        )
        recap = re.search(rf"^{HOSTNAME}\s*:\s*(.*)$", output, re.MULTILINE)
        assert code == 0, output[-6000:]
        assert recap, output[-6000:]
        counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap.group(1))}
        assert counts["ok"] > 5, output[-6000:]
        assert counts["failed"] == 0, output[-6000:]
        assert counts["changed"] == 0, output[-6000:]
        assert int((work_dir / "agent.pid").read_text()) == pid
    finally:
        subprocess.run(
            ["start-stop-daemon", "--stop", "--oknodo", "--pidfile", str(work_dir / "agent.pid"),
             "--retry", "TERM/20/KILL/5"],
            capture_output=True, timeout=40, check=False,
        )  # fmt: skip
        subprocess.run(["userdel", TEST_USER], capture_output=True, timeout=30, check=False)
        subprocess.run(["groupdel", TEST_USER], capture_output=True, timeout=30, check=False)
