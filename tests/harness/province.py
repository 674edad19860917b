"""A small live province for metrics tests: `canhgac serve` (subprocess) with real agent processes and
snmpsim switches (the demo's helpers), history to a VictoriaMetrics, everything on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from canhgac_collector.lab.demo import DemoLayout, start_switch_lab, write_agent_config, write_server_config
from tests.harness.postgres import free_port

AGENT_SITES = ("HT-CAMXUYEN", "HT-TTDL")


@dataclass
class LiveProvince:
    data_dir: Path
    port: int
    influx_url: str | None = None
    switches: int = 1
    agents: int = 2
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    fleet: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveProvince:
        layout = DemoLayout(self.data_dir, self.port, free_port(), 1.0)
        self.fleet, devices = start_switch_lab(self.data_dir, self.switches)
        keys = write_server_config(layout, devices)
        config = yaml.safe_load(layout.config_path.read_text(encoding="utf-8"))
        config["snmp"]["poll_interval_s"] = 5  # rates need two polls: keep the test short
        config["database_url"] = f"sqlite:///{self.data_dir / 'canhgac.sqlite'}"
        if self.influx_url:
            config["influx"] = {
                "enabled": True,
                "url": self.influx_url,
                "flush_interval_s": 0.5,
                "buffer_dir": str(self.data_dir / "influx-buffer"),
            }
        layout.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        server_log = (logs / "server.log").open("ab")
        subprocess.run(  # `serve` opens an existing database only
            [
                sys.executable,
                "-m",
                "canhgac_collector.cli",
                "db",
                "upgrade",
                "--config",
                str(layout.config_path),
            ],
            stdout=server_log,
            stderr=subprocess.STDOUT,
            env=env,
            check=True,
            timeout=120,
        )
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "canhgac_collector.cli", "serve", "--config", str(layout.config_path)],
                stdout=server_log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.data_dir,
            )
        )
        self._wait_healthy()
        for i in range(self.agents):
            site = AGENT_SITES[i % len(AGENT_SITES)]
            cfg = write_agent_config(layout, i, site, keys[site])
            agent_log = (logs / f"agent-{i:02d}.log").open("ab")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "canhgac_agent", "run", "--config", str(cfg)],
                    stdout=agent_log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        return self

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[0].poll() is not None:
                raise RuntimeError(f"canhgac serve exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"canhgac serve not healthy in {timeout} s: {self.log_tail()}")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.base}/metrics", timeout=10) as resp:
            return str(resp.read().decode())

    def log_tail(self, n: int = 3000) -> str:
        try:
            return (self.data_dir / "logs" / "server.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
        if self.fleet is not None:
            self.fleet.stop()
            self.fleet = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
