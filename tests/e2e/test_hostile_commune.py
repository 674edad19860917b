"""A hostile commune PC against a real `canhgac serve`, with honest agents reporting beside it.

The attacker holds only its own commune's enrollment key. It tries a host takeover, the number that
crashed the ingest worker, the number that blinded alerting, out-of-range dates, forged acknowledge links,
a 256 MB body (declared and streamed) and a crowd of connections that never send their headers. Each is
refused; the honest agents are never refused; a canary PC that goes quiet still raises its alert; the
server's memory stays bounded and its ingest worker never restarts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.conftest import ServerProcess
from tests.harness.postgres import free_port
from tests.harness.reports import make_report

KEY_A = "hostile-commune-a-key-0123"
KEY_B = "honest-commune-b-key-01234"
MiB = 1024 * 1024


@pytest.fixture
def province(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    config = {
        "listen": {"host": "127.0.0.1", "port": port, "header_timeout_s": 2, "body_timeout_s": 5},
        "database_url": "sqlite:///canhgac.sqlite",
        "host_state": {"stale_after_s": 2, "down_after_s": 4, "check_interval_s": 0.5},
        # every attack reaches validation and storage (the per-agent rate limit would refuse most)
        "ingest": {"rate_limit_per_agent_rps": 1000, "rate_limit_burst": 1000},
        "alerting": {"evaluate_interval_s": 0.5, "rules": {"host_down": {"for_s": 0}}},
        "sites": [
            {
                "code": "P",
                "name": "Tỉnh",
                "kind": "province",
                "children": [
                    {"code": "XA-A", "name": "Xã A", "kind": "commune", "enrollment_keys": [KEY_A]},
                    {"code": "XA-B", "name": "Xã B", "kind": "commune", "enrollment_keys": [KEY_B]},
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


def enroll(base: str, key: str, machine: str, hostname: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/agents/enroll",
        json={"enrollment_key": key, "machine_id": machine, "hostname": hostname},
        timeout=10,
    )


def push_raw(base: str, token: str, body: bytes) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    return httpx.post(
        f"{base}/api/v1/agents/reports", content=gzip.compress(body), headers=headers, timeout=30
    )


class HonestAgent(threading.Thread):
    """Reports every 0.3 s with the current time, as `canhgac-agent run` does; keeps every status."""

    def __init__(self, base: str, machine: str, hostname: str) -> None:
        super().__init__(daemon=True)
        reply = enroll(base, KEY_B, machine, hostname)
        assert reply.status_code == 201, reply.text
        self.base, self.machine, self.hostname = base, machine, hostname
        self.agent_id, self.token = reply.json()["agent_id"], reply.json()["token"]
        self.statuses: Counter[int] = Counter()
        self.seq = 0
        self.stop = threading.Event()

    def report(self) -> httpx.Response:
        self.seq += 1
        report = make_report(
            self.agent_id,
            self.seq,
            hostname=self.hostname,
            machine_id=self.machine,
            collected_at=dt.datetime.now(dt.UTC).isoformat(),
        )
        return push_raw(self.base, self.token, json.dumps({"reports": [report]}).encode())

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.statuses[self.report().status_code] += 1
            except httpx.HTTPError:
                self.statuses[0] += 1
            self.stop.wait(0.3)


def with_raw(report: dict[str, Any], path: tuple[Any, ...], raw: str) -> bytes:
    node: Any = report
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "__RAW__"
    return json.dumps({"reports": [report]}).replace('"__RAW__"', raw).encode()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_hostile_commune_pc_is_refused_and_stops_nothing_for_anyone(province: ServerProcess) -> None:
    base = province.base
    honest = [HonestAgent(base, f"honest-{i}", f"pc-xa-b-0{i}") for i in (1, 2)]
    canary = HonestAgent(base, "canary", "pc-xa-b-canary")
    for agent in (*honest, canary):
        agent.start()
    time.sleep(1.5)
    assert province.proc is not None
    rss_before = peak_rss_mb(province.proc.pid)

    attacker = enroll(base, KEY_A, "attacker", "pc-xa-a-evil").json()
    token, aid = attacker["token"], attacker["agent_id"]

    # 1. Host takeover with its own key.
    r = enroll(base, KEY_A, "honest-1", "evil")
    assert r.status_code == 409, r.text
    # 2–4. The worker-crash number, the alerting-blinding number, dates out of range, sent repeatedly.
    poison = [
        (("metrics", "memory", "total_bytes"), "18446744073709551616"),
        (("metrics", "network", 0, "bytes_sent"), "1" + "0" * 400),
        (("collected_at",), '"9999-12-31T23:00:00-14:00"'),
        (("collected_at",), '"0001-01-01T00:00:00+14:00"'),
        (("host", "hostname"), '"evil\\u0000"'),
    ]
    for round_ in range(10):
        for path, raw in poison:
            report = make_report(aid, round_ + 1, collected_at=dt.datetime.now(dt.UTC).isoformat())
            r = push_raw(base, token, with_raw(report, path, raw))
            assert r.status_code == 422, (path, r.status_code, r.text)
    # 5. Forged acknowledge links.
    for forged in ("v1.1.1.x.%C3%A9", "v1.1.1.x.é", "v1.1.1.x." + "A" * 1500):
        r = httpx.get(f"{base}/api/v1/alerts/ack", params={"token": forged}, timeout=10)
        assert 400 <= r.status_code < 500, (forged, r.status_code, r.text)
    # 6. A 256 MB body: declared (refused unread), then streamed without a length (cut at the limit).
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", province.port), timeout=10) as s:
        s.sendall(
            b"POST /api/v1/agents/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 268435456\r\n\r\n" + b" " * 65536
        )
        assert s.recv(4096).split(b" ")[1] == b"413"
    sent = 0

    def stream() -> Iterator[bytes]:
        nonlocal sent
        chunk = b" " * MiB
        while sent < 256 * MiB:
            sent += len(chunk)
            yield chunk

    try:
        r = httpx.post(f"{base}/api/v1/agents/enroll", content=stream(), timeout=30)
        assert r.status_code == 413, r.text
    except httpx.HTTPError:
        pass  # the server answered 413 and closed while we were still sending: also a refusal
    assert sent < 64 * MiB  # it stopped reading long before the end
    assert time.monotonic() - started < 10
    # 7. Connections that never finish their headers are closed after the header timeout.
    idle = [socket.create_connection(("127.0.0.1", province.port), timeout=10) for _ in range(200)]
    for s in idle[::2]:
        s.sendall(b"POST /api/v1/agents/reports HTTP/1.1\r\nHost: x\r\n")  # and nothing more
    time.sleep(3.5)
    closed = 0
    for s in idle:
        s.settimeout(2)
        try:
            closed += s.recv(1) == b""
        except OSError:
            closed += 1
        s.close()
    assert closed == len(idle)

    # The canary goes quiet: its alert is raised although the attacker tried to blind alerting.
    canary.stop.set()
    canary.join()
    admin = {"Authorization": f"Bearer {province.admin_token}"}
    deadline = time.monotonic() + 30
    while True:
        alerts = httpx.get(f"{base}/api/v1/alerts", headers=admin, timeout=10).json()["alerts"]
        if any(a["rule"] == "host_down" and a["subject_id"] == canary.agent_id for a in alerts):
            break
        assert time.monotonic() < deadline, f"no host_down alert for the canary: {alerts}"
        time.sleep(0.5)
    for agent in honest:
        agent.stop.set()
        agent.join()
        assert set(agent.statuses) == {200}, agent.statuses  # never refused, never 5xx
        assert agent.statuses[200] >= 10
    assert canary.statuses[200] >= 3
    assert set(canary.statuses) == {200}

    metrics = httpx.get(f"{base}/metrics", timeout=10).text
    assert metric(metrics, "canhgac_ingest_worker_restarts_total") == 0
    assert 'canhgac_refused_requests_total{what="enroll",reason="other_site"} 1' in metrics
    host = httpx.get(f"{base}/api/v1/hosts/{honest[0].agent_id}", headers=admin, timeout=10).json()
    assert (host["site"], host["hostname"]) == ("XA-B", "pc-xa-b-01")
    assert httpx.get(f"{base}/api/v1/hosts/{aid}", headers=admin, timeout=10).json()["reports_total"] == 0
    rss_after = peak_rss_mb(province.proc.pid)
    assert rss_after < rss_before + 100, (rss_before, rss_after)
