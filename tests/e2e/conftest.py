"""Real processes: `canhgac serve` and `canhgac-agent run`, on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.postgres import free_port

COMMUNE_KEY = "e2e-commune-key-0123456789"


@dataclass
class ServerProcess:
    config_path: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    admin_token: str = ""
    env: dict[str, str] = field(default_factory=lambda: {**os.environ, "PYTHONUNBUFFERED": "1"})
    tls: ssl.SSLContext | None = None  # the server has listen.tls: talk https, trusting this context
    host: str = "127.0.0.1"  # listen.host

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            subprocess.run(  # `serve` opens an existing database only
                [
                    sys.executable,
                    "-m",
                    "canhgac_collector.cli",
                    "db",
                    "upgrade",
                    "--config",
                    str(self.config_path),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                check=True,
                timeout=120,
            )
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "canhgac_collector.cli", "serve", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited: {self.log.read_text()[-2000:]}"
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health", timeout=1, context=self.tls) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("server not healthy within 60 s")
        if not self.admin_token:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "canhgac_collector.cli",
                    "token",
                    "create",
                    "--role",
                    "admin",
                    "--json",
                    "--config",
                    str(self.config_path),
                ],
                check=True,
                capture_output=True,
                env=self.env,
            )
            self.admin_token = json.loads(out.stdout)["token"]

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as in a crash or power cut."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def get(self, path: str) -> Any:
        req = urllib.request.Request(
            self.base + path, headers={"Authorization": f"Bearer {self.admin_token}"}
        )
        with urllib.request.urlopen(req, timeout=5, context=self.tls) as r:
            return json.loads(r.read())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    config = {
        "listen": {"host": "127.0.0.1", "port": port},
        "database_url": "sqlite:///canhgac.sqlite",
        "host_state": {"stale_after_s": 3, "down_after_s": 8, "check_interval_s": 0.5},
        "agent_defaults": {
            "interval_s": 1,
            "security_interval_s": 60,
            "probe_gateway": False,
            "probe_count": 1,
            "probe_timeout_s": 0.5,
        },
        "sites": [
            {
                "code": "P",
                "name": "Tỉnh Thử Nghiệm",
                "kind": "province",
                "children": [
                    {
                        "code": "XA",
                        "name": "Xã Thử Nghiệm",
                        "kind": "commune",
                        "enrollment_keys": [COMMUNE_KEY],
                        "probe_targets": [
                            {"name": "provincial-dc", "kind": "tcp", "host": "127.0.0.1", "port": port}
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "server.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    srv = ServerProcess(path, port, tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()


@dataclass
class AgentProcess:
    config_path: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "canhgac_agent", "run", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("agent did not stop within 20 s of SIGTERM") from None

    def status(self) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "canhgac_agent", "status", "--json", "--config", str(self.config_path)],
            check=True,
            capture_output=True,
            text=True,
        )
        data: dict[str, Any] = json.loads(out.stdout)
        return data


@pytest.fixture
def make_agent(tmp_path: Path, server: ServerProcess) -> Iterator[Any]:
    agents: list[AgentProcess] = []

    def make(name: str = "pc-01", port: int | None = None) -> AgentProcess:
        state = tmp_path / name
        state.mkdir()
        cfg = state / "agent.toml"
        cfg.write_text(
            f'server_url = "http://127.0.0.1:{port or server.port}"\n'
            f'enrollment_key = "{COMMUNE_KEY}"\nstate_dir = "{state}"\ninterval_s = 1\n'
            f'[identity]\nmachine_id = "e2e-{name}"\nhostname = "{name}"\n[probes]\ngateway = false\n',
            encoding="utf-8",
        )
        agent = AgentProcess(cfg, state / "agent.log")
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        if agent.proc and agent.proc.poll() is None:
            agent.proc.kill()
