"""Helpers shared by the benches: free ports, a throw-away `canhgac serve`, /proc sampling, a bare app.

Everything here talks to 127.0.0.1 only and every wait is bounded in time.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # console scripts of the venv running the bench
ENROLL_KEY = "bench-enrollment-key-0123456789"
SITE_CODE = "BENCH"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


QUIET = False  # --json: progress lines off too


def log(msg: str) -> None:
    if not QUIET:
        print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tool(name: str) -> str:
    """A console script of the running venv (canhgac, canhgac-agent, py-spy)."""
    path = BIN / name
    if not path.exists():
        raise SystemExit(f"{path} not found: install the project into this venv (pip install -e .[dev])")
    return str(path)


# --- /proc ------------------------------------------------------------------------------------------


def cpu_seconds(pid: int, tid: int | None = None, children: bool = False) -> float:
    """utime + stime of a process (all its threads), or of one of its threads, in seconds; with
    `children`, plus the CPU of its exited and waited-for child processes (cutime + cstime)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path, encoding="ascii") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its live descendants (a server's worker processes count)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                stat = f.read()
        except OSError:  # exited meanwhile
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += cpu_seconds(current)
        except OSError:
            continue
        todo.extend(children.get(current, ()))
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), to spot other load on the machine."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS), RssAnon, RssFile … from /proc/<pid>/status, in kB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.startswith(("Vm", "Rss")) and value.strip().endswith("kB"):
                out[key] = int(value.split()[0])
    return out


def pss_kb(pid: int) -> int | None:
    """Proportional set size (shared pages split between their users), if readable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# --- HTTP to loopback ------------------------------------------------------------------------------


def http_json(
    method: str, url: str, body: Any = None, timeout: float = 10.0, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def wait_http(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | str = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"status {resp.status}"
        except (OSError, urllib.error.URLError) as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s: {last}")


# --- processes ------------------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM (then SIGKILL after `timeout`) one process we started; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return int(proc.returncode)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- our server ------------------------------------------------------------------------------------


def server_config(
    workdir: Path,
    port: int,
    probe_targets: list[dict[str, Any]] | None = None,
    agent_defaults: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A server.yaml for a throw-away server: SQLite in `workdir`, one site, rate limits out of the way;
    `extra`: more top-level keys (e.g. `devices`, `snmp`)."""
    cfg: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": port},
        "database_url": f"sqlite:///{workdir / 'canhgac.sqlite'}",
        "log_level": "WARNING",
        "ingest": {"rate_limit_per_agent_rps": 1.0e9, "rate_limit_burst": 1_000_000},
        # Hundreds of bench agents enroll from a few loopback addresses within a second.
        "enrollment": {
            "per_address_rps": 1000,
            "per_address_burst": 10_000,
            "per_site_rps": 1000,
            "per_site_burst": 100_000,
            "global_rps": 10_000,
            "global_burst": 100_000,
        },
        "sites": [
            {
                "code": SITE_CODE,
                "name": "Tỉnh Đo Hiệu Năng",
                "kind": "province",
                "level": 2,
                "enrollment_keys": [ENROLL_KEY],
                "probe_targets": probe_targets or [],
            }
        ],
    }
    if agent_defaults:
        cfg["agent_defaults"] = agent_defaults
    cfg.update(extra or {})
    path = workdir / "server.yaml"
    # JSON is YAML: no PyYAML needed in the bench process.
    path.write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "canhgac.sqlite"


@contextlib.contextmanager
def run_server(
    workdir: Path,
    *,
    port: int | None = None,
    probe_targets: list[dict[str, Any]] | None = None,
    agent_defaults: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Iterator[Server]:
    """`canhgac serve --config <tmp server.yaml>` on a loopback port (free one by default), stopped on
    exit. The database stays in `workdir`, so a second server on the same dir continues it."""
    port = port or free_port()
    config = server_config(workdir, port, probe_targets, agent_defaults, extra)
    log_path = workdir / "server.log"
    with open(log_path, "ab") as logf:
        subprocess.run(  # `serve` opens an existing database only
            [tool("canhgac"), "db", "upgrade", "--config", str(config)],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            check=True,
            timeout=120,
        )
        proc = subprocess.Popen(
            [tool("canhgac"), "serve", "--config", str(config)],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
        )
    server = Server(proc, port, workdir, log_path)
    try:
        try:
            wait_http(f"{server.url}/api/v1/health", proc, timeout=60)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- server log ---\n{tail(log_path)}") from None
        yield server
    finally:
        stop_process(proc)


# --- the ceiling: a bare FastAPI app under the same uvicorn settings --------------------------------


def bare_app(read_body: bool = False) -> Any:
    """uvicorn factory: the report endpoint answering 204 (without reading the body unless
    `read_body`), plus a health route."""
    from fastapi import FastAPI, Request, Response

    app = FastAPI()

    if read_body:

        async def reports_reading(request: Request) -> Response:
            await request.body()
            return Response(status_code=204)

        # This module postpones annotations and Request is a local name: resolve it for FastAPI.
        reports_reading.__annotations__ = {"request": Request, "return": Response}
        app.post("/api/v1/agents/reports", status_code=204, response_class=Response, response_model=None)(
            reports_reading
        )

    else:

        @app.post("/api/v1/agents/reports", status_code=204, response_class=Response, response_model=None)
        async def reports() -> Response:
            return Response(status_code=204)

    @app.get("/api/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def bare_app_reading_body() -> Any:
    """uvicorn factory: like `bare_app`, but the endpoint reads the whole body first."""
    return bare_app(read_body=True)


@contextlib.contextmanager
def run_bare(workdir: Path, read_body: bool = False) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """One uvicorn worker like `canhgac serve`: loop/http auto (uvloop+httptools), no access log."""
    port = free_port()
    log_path = workdir / "bare.log"
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench._common:bare_app_reading_body" if read_body else "bench._common:bare_app",
                "--factory",
                "--app-dir",
                str(REPO),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--loop",
                "auto",
                "--http",
                "auto",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/api/v1/health", proc, timeout=30)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- bare app log ---\n{tail(log_path)}") from None
        yield proc, port
    finally:
        stop_process(proc)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


_IDLE_LEAVES = ("Condition.wait", "Runner.run (", "_worker (concurrent", "select (selectors")


def summarize_py_spy(path: str, top: int = 15) -> str:
    """Top functions (inclusive and self, % of busy samples, idle waits left out) of a
    `py-spy record --format raw` file, and the busy share of each thread."""
    from collections import Counter

    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            thread = frames[0].split(":", 1)[-1].strip().strip('"')
            names = [fr.rsplit(":", 1)[0] + ")" if fr.endswith(")") else fr for fr in frames[1:]]
            if not names or names[-1].startswith(_IDLE_LEAVES):
                continue
            n = int(count)
            total += n
            threads[thread] += n
            own[names[-1]] += n
            for name in set(names):
                incl[name] += n
    if not total:
        return "py-spy: no busy samples"
    out = [f"py-spy: {total} busy samples"]
    out += [f"  {n / total:6.1%}  thread {t}" for t, n in threads.most_common()]
    out.append("  inclusive:")
    out += [f"  {n / total:6.1%}  {name}" for name, n in incl.most_common(top)]
    out.append("  self:")
    out += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    return "\n".join(out)
