"""Agent test fixtures: a real HTTP server on 127.0.0.1 speaking `docs/protocol.md`, and valid reports.

The server validates with the real wire schema (`canhgac_api.schemas.report.ReportBatch`), stores by
(agent, seq) idempotently and can be told to misbehave: answer a given status, drop the connection,
store but lose the reply, acknowledge only part of a batch, or refuse batches above a size.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from canhgac_agent.spool import STATE_FILE, Spool, StateFile
from canhgac_api.schemas.report import ReportBatch

ENROLL_KEY = "site-key-an-binh"
SETTINGS: dict[str, Any] = {
    "interval_s": 30,
    "security_interval_s": 3600,
    "batch_max": 100,
    "probe_gateway": False,
    "probe_count": 2,
    "probe_timeout_s": 0.5,
    "probe_targets": [],
}


@dataclass
class ProtocolServer:
    """State and knobs of the fake ingest server; read and set them from the test thread."""

    url: str = ""
    settings: dict[str, Any] = field(default_factory=lambda: dict(SETTINGS))
    script: list[int | str] = field(default_factory=list)  # next replies: a status, "drop", "store_then_503"
    max_reports: int | None = None  # 413 above this many reports in a batch
    ack_limit: int | None = None  # acknowledge only the first N of the next batch
    retry_after: int | None = None  # Retry-After on scripted 429/503
    tokens: dict[str, str] = field(default_factory=dict)  # token -> agent_id
    agents: dict[str, str] = field(default_factory=dict)  # machine_id -> agent_id
    stored: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    batches: list[list[int]] = field(default_factory=list)  # seqs of every reports request that was read
    statuses: list[int | str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_agent(self, agent_id: str = "agent-1") -> str:
        token = "tok-" + uuid.uuid4().hex
        self.tokens[token] = agent_id
        return token

    def seqs(self, agent_id: str = "agent-1") -> list[int]:
        return sorted(seq for (agent, seq) in self.stored if agent == agent_id)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        ctype = "application/json" if status < 400 else "application/problem+json"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _problem(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        self.server.protocol.statuses.append(status)
        doc = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        headers = {}
        if status in (429, 503) and self.server.protocol.retry_after is not None:
            headers["Retry-After"] = str(self.server.protocol.retry_after)
        self._send(status, doc, headers)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv = self.server.protocol
        with srv.lock:
            if self.path == "/api/v1/agents/enroll":
                self._enroll(srv, raw)
            elif self.path == "/api/v1/agents/reports":
                self._reports(srv, raw)
            else:
                self._problem(404, "Not Found")

    def _enroll(self, srv: ProtocolServer, raw: bytes) -> None:
        doc = json.loads(raw)
        if doc.get("enrollment_key") != ENROLL_KEY:
            self._problem(401, "Unauthorized", "unknown enrollment key")
            return
        agent_id = srv.agents.setdefault(doc["machine_id"], str(uuid.uuid4()))
        for token in [t for t, a in srv.tokens.items() if a == agent_id]:
            del srv.tokens[token]  # the old token is revoked
        token = srv.add_agent(agent_id)
        srv.statuses.append(201)
        self._send(
            201, {"agent_id": agent_id, "token": token, "site": "xa-an-binh", "settings": srv.settings}
        )

    def _reports(self, srv: ProtocolServer, raw: bytes) -> None:
        auth = self.headers.get("Authorization", "")
        agent_id = srv.tokens.get(auth.removeprefix("Bearer "))
        if agent_id is None:
            self._problem(401, "Unauthorized", "unknown or revoked token")
            return
        if self.headers.get("Content-Encoding") != "gzip":
            self._problem(415, "Unsupported Media Type", "expected Content-Encoding: gzip")
            return
        doc = json.loads(gzip.decompress(raw))
        srv.batches.append([r.get("seq") for r in doc["reports"]])
        action = srv.script.pop(0) if srv.script else None
        if action == "drop":
            srv.statuses.append("drop")
            self.close_connection = True
            return
        if isinstance(action, int):
            self._problem(action, "Scripted", f"scripted {action}")
            return
        if srv.max_reports is not None and len(doc["reports"]) > srv.max_reports:
            self._problem(413, "Content Too Large", f"at most {srv.max_reports} reports")
            return
        try:
            batch = ReportBatch.model_validate(doc)
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            self._problem(422, "Unprocessable Content", "report failed validation", errors=errors)
            return
        if any(r.agent_id != agent_id for r in batch.reports):
            self._problem(403, "Forbidden", "agent_id is not the token's")
            return
        accepted: list[int] = []
        duplicates: list[int] = []
        reports = doc["reports"][: srv.ack_limit] if srv.ack_limit else doc["reports"]
        srv.ack_limit = None
        for report in reports:
            key = (agent_id, report["seq"])
            if key in srv.stored:
                if srv.stored[key] != report:
                    self._problem(409, "Conflict", f"seq {report['seq']} stored with other content")
                    return
                duplicates.append(report["seq"])
            else:
                accepted.append(report["seq"])
        for report in reports:
            srv.stored[(agent_id, report["seq"])] = report
        if action == "store_then_503":  # committed, but the reply is lost
            self._problem(503, "Service Unavailable", "reply lost")
            return
        srv.statuses.append(200)
        last_seq = max(seq for (agent, seq) in srv.stored if agent == agent_id)
        self._send(
            200,
            {"accepted": accepted, "duplicates": duplicates, "last_seq": last_seq, "settings": srv.settings},
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    protocol: ProtocolServer


@pytest.fixture
def protocol_server() -> Iterator[ProtocolServer]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.protocol = ProtocolServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.protocol
    finally:
        httpd.shutdown()
        httpd.server_close()


def make_report(seq: int, agent_id: str = "agent-1", **overrides: Any) -> dict[str, Any]:
    """A minimal valid `Report`."""
    report: dict[str, Any] = {
        "schema_version": 1,
        "agent_id": agent_id,
        "seq": seq,
        "collected_at": "2026-11-15T10:00:00.000+00:00",
        "interval_s": 30.0,
        "host": {
            "machine_id": "m-1",
            "hostname": "xa-an-binh-pc01",
            "os": {"system": "Linux", "release": "6.1", "version": "#1", "arch": "x86_64"},
            "hardware": {},
        },
        "metrics": {"cpu": {"percent": 12.5, "count_logical": 2}},
        "probes": [],
        "security": None,
        "agent": {
            "version": "0.1.0",
            "spool_backlog": 0,
            "spool_dropped_total": 0,
            "rejected_total": 0,
            "cycle_cpu_s": 0.001,
        },
        "errors": [],
    }
    report.update(overrides)
    return report


@dataclass
class AgentDir:
    path: Path
    state: StateFile
    spool: Spool

    def add(self, n: int, agent_id: str = "agent-1", **overrides: Any) -> list[int]:
        seqs = []
        for _ in range(n):
            seq = self.spool.allocate_seq()
            assert self.spool.add(seq, make_report(seq, agent_id, **overrides))
            seqs.append(seq)
        return seqs


@pytest.fixture
def agent_dir(tmp_path: Path) -> Iterator[AgentDir]:
    state = StateFile(tmp_path / "state" / STATE_FILE)
    spool = Spool(tmp_path / "state", state)
    try:
        yield AgentDir(tmp_path / "state", state, spool)
    finally:
        spool.close()
