"""DNS probes through the system resolver."""

from __future__ import annotations

from canhgac_agent.probes import run_probes
from tests.agent.probes.conftest import valid_probe


def test_dns_localhost() -> None:
    [result] = run_probes(
        [{"name": "dns", "kind": "dns", "host": "localhost"}], gateway=False, count=4, timeout_s=2
    )
    r = valid_probe(result)
    assert (r.method, r.sent, r.received, r.ok) == ("dns", 1, 1, True)
    assert r.rtt_avg_ms is not None


def test_dns_failure_without_network() -> None:
    # A 64-character label is refused by the IDNA encoder before any query is sent.
    [result] = run_probes([{"name": "bad", "kind": "dns", "host": "x" * 64 + ".invalid"}],
                          gateway=False, count=1, timeout_s=1)  # fmt: skip
    r = valid_probe(result)
    assert not r.ok
    assert r.error
