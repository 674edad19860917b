"""Throwaway VictoriaMetrics and Prometheus servers (Debian's binaries) on loopback ports, for the metrics
and history tests and benches. Each runs in its own temp dir, is started and stopped explicitly, and
answers queries through its real HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Self

from tests.harness.postgres import free_port

INSTALL_HINT = "{binary} not found: run scripts/install-system-deps (as root); it installs {package}"


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(INSTALL_HINT.format(binary=name, package=package))
    return path


def http_get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


class _Server:
    name = ""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"canhgac-{self.name}-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready_path(self) -> str:
        raise NotImplementedError

    def start(self, timeout: float = 30) -> Self:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path(), timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


class VictoriaMetrics(_Server):
    """Accepts the InfluxDB v2 write API at /api/v2/write; newest samples visible at once (no 30 s lag)."""

    name = "victoria-metrics"

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.binary = _binary("victoria-metrics", "victoria-metrics")
        self.storage = self.root / "data"

    def argv(self) -> list[str]:
        return [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.storage}",
            "-search.latencyOffset=0s",
            "-retentionPeriod=100y",  # test points may carry old timestamps
            "-loggerLevel=ERROR",
        ]

    def ready_path(self) -> str:
        return "/health"

    def export(self, match: str) -> list[dict[str, Any]]:
        """Raw samples of every series matching `match` (one JSON object per series)."""
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=30) as resp:
            return [json.loads(row) for row in resp.read().splitlines() if row.strip()]

    def flush(self) -> None:
        """Make just-written samples searchable now (VictoriaMetrics buffers them for ~1 s)."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10):
            pass


class Prometheus(_Server):
    """Scrapes `targets` (host:port) every second; answers PromQL at /api/v1/query."""

    name = "prometheus"

    def __init__(
        self, targets: list[str], port: int | None = None, rule_files: list[Path] | None = None
    ) -> None:
        super().__init__(port)
        self.binary = _binary("prometheus", "prometheus")
        self.targets = targets
        self.rule_files = rule_files or []

    def argv(self) -> list[str]:
        config = self.root / "prometheus.yml"
        config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
                    "rule_files": [str(p) for p in self.rule_files],
                    "scrape_configs": [
                        {"job_name": "canhgac", "static_configs": [{"targets": self.targets}]}
                    ],
                }
            ),
            encoding="utf-8",
        )
        return [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.root / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def ready_path(self) -> str:
        return "/-/ready"

    def query(self, promql: str) -> dict[str, Any]:
        """An instant query; returns the `data` part (resultType, result) or raises with the error."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        try:
            body = http_get_json(url, timeout=10)
        except urllib.error.HTTPError as exc:
            raise ValueError(
                f"Prometheus refused {promql!r}: {exc.read().decode(errors='replace')}"
            ) from None
        if body.get("status") != "success":
            raise ValueError(f"Prometheus error for {promql!r}: {body}")
        data: dict[str, Any] = body["data"]
        return data

    def label_values(self, label: str, match: str) -> list[str]:
        url = f"{self.url}/api/v1/label/{label}/values?{urllib.parse.urlencode({'match[]': match})}"
        values: list[str] = http_get_json(url)["data"]
        return values
