"""HTTP probes against a local server: status codes, errors, timeouts."""

from __future__ import annotations

from canhgac_agent.probes import run_probes
from tests.agent.probes.conftest import valid_probe


def test_http_probes(http_base: str, closed_port: int) -> None:
    ok, missing, down, bad = run_probes(
        [
            {"name": "portal", "kind": "http", "url": f"{http_base}/"},
            {"name": "missing", "kind": "http", "url": f"{http_base}/nope"},
            {"name": "down", "kind": "http", "url": f"http://127.0.0.1:{closed_port}/"},
            {"name": "bad", "kind": "http", "url": "file:///etc/passwd"},
        ],
        gateway=False,
        count=4,
        timeout_s=2.0,
    )
    r = valid_probe(ok)
    assert (r.method, r.status_code, r.ok, r.sent, r.received) == ("http", 200, True, 1, 1)
    assert r.rtt_avg_ms is not None
    r = valid_probe(missing)
    assert (r.status_code, r.ok, r.error) == (404, False, "HTTP 404")
    r = valid_probe(down)
    assert (r.status_code, r.ok, r.loss_ratio) == (None, False, 1.0)
    assert r.error
    assert "refused" in r.error.lower()
    r = valid_probe(bad)
    assert not r.ok
    assert r.error
    assert "scheme" in r.error
