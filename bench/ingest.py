"""Ingest benchmark: sustained reports/s and p99 latency of `canhgac serve` (SQLite) against a bare ceiling.

    .venv/bin/python bench/ingest.py [--json] [--seconds S] [--agents N] [--concurrency C]

1. Starts `canhgac serve` (one uvicorn worker and its ingest worker process, ADR 0009; SQLite in a temp
   dir, per-agent rate limit out of the way) and enrolls N agents through the real enroll endpoint.
   "srv CPU" counts the API process and its children; "(main)" the event loop's thread alone.
2. Pre-builds every request before timing: per agent, gzip batches of ONE realistic ~4 KB report
   (tests/harness/reports.py) with that agent's next seq, as complete HTTP/1.1 request bytes.
3. Drives load from this process (the servers are separate processes) with a lean selectors loop over C
   keep-alive connections, one request in flight per connection. An agent belongs to one connection, so
   its seqs arrive in order. Warm-up, then S measured seconds; in-flight requests are drained after.
4. Verifies: the reports stored in SQLite are exactly the acknowledged (agent, seq) pairs, each once.
5. Runs the same loop with the same request bytes against a bare FastAPI app whose endpoint only answers
   204, under the same uvicorn settings: the ceiling.

The last line of output is a JSON object (see README.md). Exit status 1 when verification fails.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import math
import multiprocessing
import selectors
import socket
import sqlite3
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common
from bench._common import (
    ENROLL_KEY,
    cpu_seconds,
    log,
    machine_busy_seconds,
    percentile,
    run_bare,
    run_server,
    summarize_py_spy,
    tail,
    tool,
    tree_cpu_seconds,
)

REPORTS_PATH = b"/api/v1/agents/reports"
ENROLL_PER_ADDRESS = 25  # the server allows a burst of 30 enrollments per client address
MAX_LOOP_REQUESTS = 5_000_000  # hard bound on the ceiling run, whatever the timing


# --- enrollment and request bodies ---------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    index: int
    agent_id: str
    token: str
    machine_id: str
    hostname: str
    first_seq: int


def enroll_agents(port: int, count: int) -> list[Agent]:
    """Enroll through POST /api/v1/agents/enroll. The enroll limiter is per client address, so the
    enrollments are spread over loopback source addresses 127.0.0.2, .3, … (the destination is always
    127.0.0.1)."""
    agents: list[Agent] = []
    for i in range(count):
        source = f"127.0.0.{2 + i // ENROLL_PER_ADDRESS}"
        machine_id, hostname = f"bench-machine-{i:05d}", f"pc-{i:05d}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
        try:
            body = json.dumps({"enrollment_key": ENROLL_KEY, "machine_id": machine_id, "hostname": hostname})
            conn.request("POST", "/api/v1/agents/enroll", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if resp.status != 201:
            raise RuntimeError(f"enroll {i} from {source}: HTTP {resp.status}: {raw[:300]!r}")
        data = json.loads(raw)
        agents.append(
            Agent(i, data["agent_id"], data["token"], machine_id, hostname, int(data["last_seq"]) + 1)
        )
    return agents


def _build_requests(job: tuple[Agent, int]) -> list[bytes]:
    """Complete HTTP requests for `count` consecutive seqs of one agent (runs in a pool worker)."""
    from tests.harness.reports import gzip_batch, make_report

    agent, count = job
    head = (
        b"POST " + REPORTS_PATH + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + agent.token.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
    )
    out = []
    for seq in range(agent.first_seq, agent.first_seq + count):
        report = make_report(agent.agent_id, seq, hostname=agent.hostname, machine_id=agent.machine_id)
        body = gzip_batch([report])
        out.append(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return out


def build_requests(agents: list[Agent], per_agent: int) -> list[list[bytes]]:
    jobs = [(a, per_agent) for a in agents]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return pool.map(_build_requests, jobs, chunksize=max(1, len(jobs) // 16))


# --- the load generator ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """What one connection sends, in order: (agent index, seq, request bytes)."""

    items: list[tuple[int, int, bytes]]
    wrap: bool  # ceiling run: cycle over the items forever (the bare app stores nothing)


@dataclass
class Conn:
    plan: Plan
    sock: socket.socket | None = None
    pos: int = 0
    current: tuple[int, int, bytes] | None = None
    pending: memoryview | None = None  # unsent rest of the current request
    started: float = 0.0
    buf: bytearray = field(default_factory=bytearray)
    head_end: int = -1
    need: int = -1
    status: int = 0


@dataclass
class LoadResult:
    measured_s: float = 0.0
    completed: int = 0  # responses completed inside the measured window
    statuses: Counter[int] = field(default_factory=Counter)  # every response, warm-up and drain too
    latencies_ms: list[float] = field(default_factory=list)  # measured window only
    finished_at: list[float] = field(default_factory=list)  # seconds into the window, same order
    acked: set[tuple[int, int]] = field(default_factory=set)  # (agent index, seq) answered 200
    ack_mismatch: int = 0  # 200s whose body does not list the seq as accepted
    unknown: list[tuple[int, int]] = field(default_factory=list)  # sent, connection lost before answer
    conn_errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    exhausted: int = 0  # connections that ran out of pre-built requests before the end
    server_cpu_s: float = 0.0  # during the measured window
    server_main_cpu_s: float = 0.0  # the server's main thread (the event loop) alone
    loadgen_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0  # every process on the machine: the rest is someone else's load
    sent: int = 0

    @property
    def rps(self) -> float:
        return self.completed / self.measured_s if self.measured_s else 0.0

    @property
    def errors(self) -> int:
        return (
            sum(n for s, n in self.statuses.items() if s != 200)
            + sum(self.conn_errors.values())
            + self.ack_mismatch
        )


def drive(
    port: int,
    plans: list[Plan],
    warmup: float,
    seconds: float,
    server_pid: int,
    check_acks: bool,
    drain_timeout: float = 15.0,
) -> LoadResult:
    """Closed loop: each connection keeps one request in flight until the measured window ends."""
    res = LoadResult()
    sel = selectors.DefaultSelector()
    conns = [Conn(p) for p in plans]
    clock = time.perf_counter

    def connect(c: Conn) -> None:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        c.sock = s
        c.buf.clear()
        c.head_end = c.need = -1
        sel.register(s, selectors.EVENT_READ, c)

    def drop(c: Conn, why: str) -> None:
        res.conn_errors[why] += 1
        if c.current is not None:
            res.unknown.append(c.current[:2])
            c.current = None
        if c.sock is not None:
            sel.unregister(c.sock)
            c.sock.close()
            c.sock = None

    def send_next(c: Conn) -> bool:
        items = c.plan.items
        if c.pos >= len(items):
            if not c.plan.wrap:
                res.exhausted += 1
                return False
            c.pos = 0
        c.current = items[c.pos]
        c.pos += 1
        if c.sock is None:
            connect(c)
        assert c.sock is not None
        c.started = clock()
        req = c.current[2]
        try:
            n = c.sock.send(req)
        except BlockingIOError:
            n = 0
        except OSError as exc:
            drop(c, f"send: {exc.__class__.__name__}")
            return False
        res.sent += 1
        if n < len(req):
            c.pending = memoryview(req)[n:]
            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        return True

    t0 = clock()
    window_start, window_end = t0 + warmup, t0 + warmup + seconds
    hard_end = window_end + drain_timeout
    start: tuple[float, ...] = ()
    end: tuple[float, ...] = ()

    def snapshot() -> tuple[float, ...]:
        return (
            tree_cpu_seconds(server_pid),  # the API process and its ingest worker
            cpu_seconds(server_pid, server_pid),
            time.process_time(),
            machine_busy_seconds(),
        )

    in_window = done = False
    inflight = 0
    for c in conns:
        connect(c)
        inflight += send_next(c)
    gc.disable()  # the request lists are large and immutable: no collector pauses while timing
    try:
        while inflight and not done:
            now = clock()
            if not in_window and now >= window_start:
                in_window = True
                start = snapshot()
            if in_window and not end and now >= window_end:
                end = snapshot()
            if now >= hard_end or res.sent >= MAX_LOOP_REQUESTS:
                break
            for key, events in sel.select(timeout=0.05):
                c = key.data
                sock = c.sock
                if events & selectors.EVENT_WRITE and c.pending is not None:
                    try:
                        n = sock.send(c.pending)
                    except BlockingIOError:
                        n = 0
                    except OSError as exc:
                        drop(c, f"send: {exc.__class__.__name__}")
                        inflight -= 1
                        continue
                    c.pending = c.pending[n:] if n < len(c.pending) else None
                    if c.pending is None:
                        sel.modify(sock, selectors.EVENT_READ, c)
                if not events & selectors.EVENT_READ:
                    continue
                try:
                    data = sock.recv(262144)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    drop(c, f"recv: {exc.__class__.__name__}")
                    inflight -= 1
                    continue
                if not data:
                    drop(c, "connection closed by server")
                    inflight -= 1
                    continue
                buf = c.buf
                buf += data
                while True:  # at most one response per request, but be exact about the framing
                    if c.head_end < 0:
                        c.head_end = buf.find(b"\r\n\r\n")
                        if c.head_end < 0:
                            break
                        head = bytes(buf[: c.head_end]).lower()
                        c.status = int(head[9:12])
                        i = head.find(b"\r\ncontent-length:")
                        eol = head.find(b"\r\n", i + 2)  # -1: the last header line
                        length = int(head[i + 17 : eol if eol >= 0 else len(head)]) if i >= 0 else 0
                        c.need = c.head_end + 4 + length
                    if len(buf) < c.need:
                        break
                    finished = clock()
                    status, body = c.status, bytes(buf[c.head_end + 4 : c.need])
                    del buf[: c.need]
                    c.head_end = c.need = -1
                    item, c.current = c.current, None
                    inflight -= 1
                    res.statuses[status] += 1
                    if window_start <= finished <= window_end:
                        res.completed += 1
                        res.latencies_ms.append((finished - c.started) * 1000.0)
                        res.finished_at.append(finished - window_start)
                    if item is not None and check_acks:
                        if status == 200:
                            res.acked.add(item[:2])
                            if b'"accepted":[%d]' % item[1] not in body:
                                res.ack_mismatch += 1
                                if len(res.error_samples) < 5:
                                    res.error_samples.append(f"200 without the seq: {body[:300]!r}")
                        elif len(res.error_samples) < 5:
                            res.error_samples.append(f"HTTP {status}: {body[:300]!r}")
                    if finished < window_end:
                        inflight += send_next(c)
                    if not buf:
                        break
            if in_window and clock() >= window_end and not inflight:
                done = True
    finally:
        gc.enable()
        if in_window and not end:
            end = snapshot()
        for c in conns:
            if c.current is not None:
                res.unknown.append(c.current[:2])
                res.conn_errors["no answer before the drain timeout"] += 1
            if c.sock is not None:
                with contextlib.suppress(OSError):
                    sel.unregister(c.sock)
                c.sock.close()
        sel.close()
    res.measured_s = seconds
    if start and end:
        res.server_cpu_s, res.server_main_cpu_s, res.loadgen_cpu_s, res.machine_cpu_s = (
            b - a for a, b in zip(start, end, strict=True)
        )
    return res


def make_plans(requests: list[list[bytes]], agents: list[Agent], concurrency: int, wrap: bool) -> list[Plan]:
    """Agent i goes to connection i % C; a connection interleaves its agents' seqs round-robin."""
    plans = [Plan([], wrap) for _ in range(min(concurrency, len(agents)))]
    for c, plan in enumerate(plans):
        mine = [a for a in agents if a.index % len(plans) == c]
        depth = max(len(requests[a.index]) for a in mine)
        for k in range(depth):
            for a in mine:
                if k < len(requests[a.index]):
                    plan.items.append((a.index, a.first_seq + k, requests[a.index][k]))
    return plans


def writer_stats(url: str) -> dict[str, float]:
    """Group-commit counters from the server's own /metrics (whole run, warm-up included)."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in ("canhgac_ingest_commits_total", "canhgac_ingest_commit_seconds_total"):
            out[name] = float(value)
        elif name.startswith("canhgac_ingest_requests_total"):
            out["requests"] = out.get("requests", 0.0) + float(value)
    return out


# --- verification ----------------------------------------------------------------------------------------


def verify(db: Path, agents: list[Agent], res: LoadResult) -> tuple[int, list[str]]:
    """Stored (agent, seq) pairs == acknowledged ones, each exactly once; host counters agree."""
    problems: list[str] = []
    by_id = {a.agent_id: a.index for a in agents}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT host_id, seq FROM reports").fetchall()
        hosts = {r[0]: (r[1], r[2]) for r in con.execute("SELECT id, last_seq, reports_total FROM hosts")}
    finally:
        con.close()
    stored = Counter((by_id.get(h, -1), s) for h, s in rows)
    twice = [k for k, n in stored.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} (agent, seq) stored more than once, e.g. {twice[:3]}")
    stored_set = set(stored)
    unknown = set(res.unknown)
    missing = res.acked - stored_set
    extra = stored_set - res.acked - unknown
    if missing:
        problems.append(f"{len(missing)} acknowledged reports are not stored, e.g. {sorted(missing)[:3]}")
    if extra:
        problems.append(f"{len(extra)} stored reports were never acknowledged, e.g. {sorted(extra)[:3]}")
    per_agent = Counter(i for i, _ in res.acked)
    for a in agents:
        last_seq, total = hosts.get(a.agent_id, (0, 0))
        n = per_agent.get(a.index, 0)
        stored_n = sum(1 for (i, _s) in stored_set if i == a.index) if unknown else n
        if total != stored_n or (n and not unknown and last_seq != a.first_seq + n - 1):
            problems.append(
                f"agent {a.index}: hosts.reports_total={total} last_seq={last_seq}, acknowledged {n}"
            )
            break
    return len(rows), problems


# --- main ----------------------------------------------------------------------------------------------


def summarize(name: str, res: LoadResult) -> dict[str, Any]:
    lat = res.latencies_ms
    return {
        "name": name,
        "rps": res.rps,
        "p50": percentile(lat, 50),
        "p99": percentile(lat, 99),
        "max": max(lat) if lat else 0.0,
        "server_cpu": res.server_cpu_s / res.measured_s if res.measured_s else 0.0,
        "main_cpu": res.server_main_cpu_s / res.measured_s if res.measured_s else 0.0,
        "loadgen_cpu": res.loadgen_cpu_s / res.measured_s if res.measured_s else 0.0,
        "cpu_us": res.server_cpu_s / res.completed * 1e6 if res.completed else 0.0,
        "other_cpu": max(0.0, res.machine_cpu_s - res.server_cpu_s - res.loadgen_cpu_s) / res.measured_s
        if res.measured_s
        else 0.0,
        "non200": sum(n for s, n in res.statuses.items() if s not in {200, 204}),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'server':<32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'srv CPU':>8} {'(main)':>7} {'CPU µs/req':>10} {'loadgen CPU':>11} {'other CPU':>9} {'non-2xx':>8}"
    )
    for r in rows:
        print(
            f"{r['name']:<32} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['max']:>8.1f} "
            f"{r['server_cpu']:>7.0%} {r['main_cpu']:>6.0%} {r['cpu_us']:>10.0f} "
            f"{r['loadgen_cpu']:>10.0%} {r['other_cpu']:>8.0%} {r['non200']:>8}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server (default 10)")
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before measuring")
    ap.add_argument("--agents", type=int, default=200, help="enrolled agents (default 200)")
    ap.add_argument("--concurrency", type=int, default=48, help="keep-alive connections (default 48)")
    ap.add_argument(
        "--max-rps",
        type=float,
        default=8000,
        help="request bodies are pre-built for at most this rate on our server (default 8000)",
    )
    ap.add_argument("--py-spy", metavar="FILE", help="record our server with py-spy (raw format) to FILE")
    ap.add_argument("--skip-ceiling", action="store_true", help="only measure our server (for A/B runs)")
    ap.add_argument(
        "--ceiling-reads-body",
        action="store_true",
        help="the bare endpoint reads the request body before its 204 (default: it does not)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs)")
    args = ap.parse_args()
    if args.json:
        _common.QUIET = True
    if not (0 < args.seconds <= 120 and 0 <= args.warmup <= 30):
        ap.error("--seconds must be in (0, 120] and --warmup in [0, 30]")
    if not (1 <= args.agents <= 5000 and 1 <= args.concurrency <= 512):
        ap.error("--agents must be 1..5000 and --concurrency 1..512")
    if not args.json:
        log(f"ingest bench: {args.agents} agents, {args.concurrency} connections, {args.seconds:g} s")

    tmp = tempfile.TemporaryDirectory(prefix="canhgac-bench-ingest-")
    workdir = Path(tmp.name)
    try:
        per_agent = math.ceil(args.max_rps * (args.warmup + args.seconds) / args.agents) + 2
        with run_server(workdir) as server:
            t = time.monotonic()
            agents = enroll_agents(server.port, args.agents)
            log(f"enrolled {len(agents)} agents in {time.monotonic() - t:.1f} s")
            t = time.monotonic()
            requests = build_requests(agents, per_agent)
            total = sum(len(r) for r in requests)
            size = sum(len(r[0]) for r in requests) / len(requests)
            log(f"pre-built {total} requests (~{size:.0f} bytes each) in {time.monotonic() - t:.1f} s")
            plans = make_plans(requests, agents, args.concurrency, wrap=False)
            spy = None
            if args.py_spy:
                import subprocess

                spy = subprocess.Popen(
                    [
                        tool("py-spy"),
                        "record",
                        "--pid",
                        str(server.proc.pid),
                        "--duration",
                        str(math.ceil(args.seconds)),
                        "--rate",
                        "100",
                        "--nonblocking",
                        "--threads",
                        "--subprocesses",
                        "--format",
                        "raw",
                        "--output",
                        args.py_spy,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            log("driving our server …")
            ours = drive(server.port, plans, args.warmup, args.seconds, server.proc.pid, check_acks=True)
            if spy is not None:
                spy.wait(timeout=args.seconds + 60)
            writer = writer_stats(server.url)
        server_log = tail(server.log_path)
        time.sleep(0.2)
        stored, problems = verify(server.db_path, agents, ours)
        if ours.exhausted:
            problems.append(
                f"{ours.exhausted} connections ran out of pre-built requests: raise --max-rps "
                "(the measured rate is a lower bound)"
            )
        # The ceiling: same loop, same request bytes, the bare app stores nothing so they may repeat.
        ceiling = LoadResult(measured_s=args.seconds)
        if not args.skip_ceiling:
            with run_bare(workdir, read_body=args.ceiling_reads_body) as (bare_proc, bare_port):
                log("driving the bare app …")
                bare_plans = make_plans(requests, agents, args.concurrency, wrap=True)
                ceiling = drive(
                    bare_port, bare_plans, args.warmup, args.seconds, bare_proc.pid, check_acks=False
                )
            del bare_plans
        del requests, plans
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            tmp.cleanup()

    bare_name = "bare FastAPI 204" + (" (reads body)" if args.ceiling_reads_body else "")
    rows = [summarize("canhgac serve (SQLite)", ours), summarize(bare_name, ceiling)]
    errors = ours.errors
    result = {
        "ours_rps": round(ours.rps, 1),
        "ceiling_rps": round(ceiling.rps, 1),
        "ratio": round(ours.rps / ceiling.rps, 3) if ceiling.rps else 0.0,
        "p99_ms": round(rows[0]["p99"], 2),
        "ceiling_p99_ms": round(rows[1]["p99"], 2),
        "reports_stored": stored,
        "errors": errors,
        "agents": args.agents,
        "seconds": args.seconds,
    }
    if not args.json:
        print_table(rows)
        print(
            f"\nours: {sum(ours.statuses.values())} answers ({dict(ours.statuses)}), "
            f"{len(ours.acked)} acknowledged, {stored} stored, {len(ours.unknown)} unanswered; "
            f"ceiling answers: {dict(ceiling.statuses)}"
        )
        commits = writer.get("canhgac_ingest_commits_total", 0.0)
        if commits:
            busy = writer.get("canhgac_ingest_commit_seconds_total", 0.0)
            print(
                f"ingest writer (whole run): {commits:.0f} group commits, "
                f"{writer.get('requests', 0.0) / commits:.1f} requests per commit, "
                f"{busy / commits * 1000:.1f} ms per commit"
            )
        if ours.conn_errors or ceiling.conn_errors:
            print(f"connection errors: ours {dict(ours.conn_errors)}, bare {dict(ceiling.conn_errors)}")
        for sample in ours.error_samples:
            print(f"  error: {sample}")
        if errors and server_log:
            print("server log tail:\n" + server_log)
        if args.py_spy:
            print(summarize_py_spy(args.py_spy))
        print("verification: " + ("OK" if not problems else "FAILED"))
        for p in problems:
            print(f"  - {p}")
        ok = result["ratio"] >= 0.4 and result["ours_rps"] >= 1000
        print(f"targets (ratio ≥ 0.4 and ≥ 1,000 reports/s): {'met' if ok else 'MISSED'}")
    print(json.dumps(result))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
