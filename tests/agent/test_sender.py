"""The sender against a real HTTP server on 127.0.0.1 that speaks the protocol (see conftest)."""

from __future__ import annotations

import json
import logging
import random
import socket
import statistics
from typing import Any

import pytest

from canhgac_agent.sender import Backoff, EnrollError, Sender, enroll, save_enrollment
from canhgac_agent.spool import read_snapshot

from .conftest import ENROLL_KEY, AgentDir, ProtocolServer


class Clock:
    """The sender's monotonic clock, advanced by hand so backoff is tested without sleeping."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_sender(agent_dir: AgentDir, server: ProtocolServer, clock: Clock, **kwargs: Any) -> Sender:
    agent_dir.state.update(server_url=server.url, agent_id="agent-1", token=server.add_agent("agent-1"))
    kwargs.setdefault("backoff", Backoff(rng=random.Random(7)))
    return Sender(agent_dir.spool, agent_dir.state, clock=clock, timeout_s=5.0, **kwargs)


def pending(agent_dir: AgentDir) -> list[int]:
    return [p.seq for p in agent_dir.spool.peek(10_000, 1 << 40)]


def test_sends_in_seq_order_in_batches_and_deletes_after_ack(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    agent_dir.add(7)
    sender = make_sender(agent_dir, protocol_server, clock, batch_max=3)
    out = sender.drain()
    assert out is not None
    assert (out.result, out.accepted, out.batches, out.backlog) == ("ok", 7, 3, 0)
    assert protocol_server.batches == [[1, 2, 3], [4, 5, 6], [7]]
    assert protocol_server.seqs() == list(range(1, 8))
    assert pending(agent_dir) == []
    assert sender.drain() is None  # nothing to do: no request
    assert len(protocol_server.batches) == 3
    snap = read_snapshot(agent_dir.path)
    assert snap is not None
    assert snap.last_send is not None
    assert snap.last_send["result"] == "ok"


def test_lost_reply_keeps_reports_until_the_resend_is_acknowledged_as_duplicates(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    agent_dir.add(4)
    sender = make_sender(agent_dir, protocol_server, clock)
    protocol_server.script = ["store_then_503"]
    out = sender.drain()
    assert out is not None
    assert (out.result, out.http_status) == ("retry", 503)
    assert protocol_server.seqs() == [1, 2, 3, 4]  # the server has them ...
    assert pending(agent_dir) == [1, 2, 3, 4]  # ... but without an ack the agent keeps them
    clock.t = sender.retry_at
    out = sender.drain()
    assert out is not None
    assert (out.result, out.accepted, out.duplicates) == ("ok", 0, 4)
    assert pending(agent_dir) == []


def test_only_acknowledged_seqs_are_deleted(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    agent_dir.add(6)
    sender = make_sender(agent_dir, protocol_server, clock)
    protocol_server.ack_limit = 2  # the server acknowledges (and stores) only the first two
    out = sender.drain()
    assert out is not None
    assert protocol_server.batches == [[1, 2, 3, 4, 5, 6], [3, 4, 5, 6]]
    assert out.accepted == 6
    assert pending(agent_dir) == []


def test_dropped_connection_keeps_everything_and_backs_off(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    agent_dir.add(3)
    sender = make_sender(agent_dir, protocol_server, clock)
    protocol_server.script = ["drop"]
    out = sender.drain()
    assert out is not None
    assert out.result == "retry"
    assert out.http_status is None
    assert out.error
    assert pending(agent_dir) == [1, 2, 3]
    assert clock.t < sender.retry_at <= clock.t + 1.0  # first delay: uniform in [0, base]
    requests = len(protocol_server.batches)
    assert sender.drain() is None  # still backing off: no request at all
    assert len(protocol_server.batches) == requests
    clock.t = sender.retry_at
    out = sender.drain()
    assert out is not None
    assert out.result == "ok"
    assert protocol_server.seqs() == [1, 2, 3]


def test_server_not_listening_is_a_retry(agent_dir: AgentDir, clock: Clock) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    agent_dir.add(1)
    agent_dir.state.update(server_url=f"http://127.0.0.1:{port}", agent_id="agent-1", token="t")
    sender = Sender(agent_dir.spool, agent_dir.state, clock=clock, timeout_s=2.0)
    out = sender.drain()
    assert out is not None
    assert out.result == "retry"
    assert "refused" in (out.error or "").lower()
    assert pending(agent_dir) == [1]


def test_5xx_and_429_back_off_exponentially_with_jitter_up_to_the_cap(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    agent_dir.add(2)
    sender = make_sender(agent_dir, protocol_server, clock, backoff=Backoff(1.0, 20.0, random.Random(3)))
    protocol_server.script = [503, 500, 502, 503, 429, 503, 503, 503]
    delays = []
    for attempt in range(8):
        out = sender.drain()
        assert out is not None
        assert out.result == "retry"
        delay = sender.retry_at - clock.t
        assert 0 <= delay <= min(20.0, 2.0**attempt)
        delays.append(delay)
        clock.t = sender.retry_at
    assert pending(agent_dir) == [1, 2]
    assert max(delays[5:]) > max(delays[:2])  # it grows (bounds 32..128 capped at 20 vs 1..2)
    out = sender.drain()
    assert out is not None
    assert out.result == "ok"
    assert sender.backoff.attempts == 0  # success resets the backoff


def test_retry_after_is_honoured(agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock) -> None:
    agent_dir.add(1)
    sender = make_sender(agent_dir, protocol_server, clock)
    protocol_server.script = [429]
    protocol_server.retry_after = 42
    sender.drain()
    assert sender.retry_at - clock.t == pytest.approx(42.0)


def test_backoff_is_full_jitter_bounded_by_the_cap() -> None:
    backoff = Backoff(base_s=1.0, cap_s=300.0, rng=random.Random(11))
    for attempts in range(14):
        bound = min(300.0, 2.0**attempts)
        samples = []
        for _ in range(2000):
            backoff.attempts = attempts
            samples.append(backoff.next_delay())
        assert min(samples) >= 0.0
        assert max(samples) <= bound
        assert max(samples) > 0.95 * bound  # full jitter spans the whole range ...
        assert statistics.mean(samples) == pytest.approx(bound / 2, rel=0.08)  # ... uniformly
    backoff.attempts = 10_000  # no overflow, still capped
    assert backoff.next_delay() <= 300.0


def test_413_halves_the_batch_until_it_fits(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    agent_dir.add(10)
    sender = make_sender(agent_dir, protocol_server, clock, batch_max=10)
    protocol_server.max_reports = 3
    out = sender.drain()
    assert out is not None
    sizes = [len(b) for b in protocol_server.batches]
    assert sizes[:3] == [10, 5, 2]
    assert max(sizes[3:]) <= 2  # it does not grow back past what the server refused
    assert protocol_server.seqs() == list(range(1, 11))
    assert (out.result, out.accepted, out.rejected) == ("ok", 10, 0)
    assert pending(agent_dir) == []


def test_a_lone_invalid_report_is_set_aside_and_the_rest_delivered(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    agent_dir.add(4)
    agent_dir.add(1, metrics={"cpu": {"percent": 250.0, "count_logical": 2}})  # seq 5: percent > 100
    agent_dir.add(3)
    sender = make_sender(agent_dir, protocol_server, clock, batch_max=8)
    with caplog.at_level(logging.WARNING):
        out = sender.drain()
    assert out is not None
    assert (out.result, out.rejected) == ("ok", 1)
    assert protocol_server.seqs() == [1, 2, 3, 4, 6, 7, 8]
    assert pending(agent_dir) == []
    ((seq, reason, body),) = agent_dir.spool.rejected()
    assert seq == 5
    assert "422" in reason
    assert "metrics.cpu.percent" in reason
    assert json.loads(body)["seq"] == 5
    assert agent_dir.spool.counters().rejected_total == 1
    requests = len(protocol_server.batches)
    assert sender.drain() is None  # never retried
    assert len(protocol_server.batches) == requests
    assert [len(b) for b in protocol_server.batches][:2] == [8, 4]  # halving found it


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_keeps_everything_and_waits_for_reenrollment(
    agent_dir: AgentDir,
    protocol_server: ProtocolServer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    sender = make_sender(agent_dir, protocol_server, clock)
    if status == 401:
        agent_dir.state.update(token="revoked-token")
        agent_dir.add(3)
    else:
        agent_dir.add(3, agent_id="someone-else")  # the server answers 403: not the token's agent
    with caplog.at_level(logging.ERROR):
        out = sender.drain()
    assert out is not None
    assert (out.result, out.http_status) == ("auth", status)
    assert pending(agent_dir) == [1, 2, 3]
    assert sender.retry_at == clock.t + 300.0  # the cap
    assert any("re-enrolled" in r.getMessage() for r in caplog.records)
    assert agent_dir.spool.counters().rejected_total == 0


def test_settings_from_the_reply_are_applied_and_stored(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    seen: list[dict[str, Any]] = []
    sender = make_sender(agent_dir, protocol_server, clock, on_settings=seen.append)
    protocol_server.settings = {**protocol_server.settings, "interval_s": 60, "batch_max": 50}
    agent_dir.add(1)
    sender.drain()
    assert seen
    assert seen[-1]["interval_s"] == 60
    stored = json.loads(agent_dir.state.path.read_text())
    assert stored["settings"]["batch_max"] == 50


def test_server_last_seq_moves_the_sequence_forward(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock
) -> None:
    sender = make_sender(agent_dir, protocol_server, clock)
    protocol_server.stored[("agent-1", 500)] = {"seq": 500}  # e.g. the agent was reinstalled
    agent_dir.add(1)
    sender.drain()
    assert agent_dir.spool.allocate_seq() == 501


def test_enroll(agent_dir: AgentDir, protocol_server: ProtocolServer) -> None:
    reply = enroll(protocol_server.url, ENROLL_KEY, machine_id="m-1", hostname="pc01")
    assert reply["site"] == "xa-an-binh"
    save_enrollment(agent_dir.state, protocol_server.url, reply)
    again = enroll(protocol_server.url + "/", ENROLL_KEY, machine_id="m-1", hostname="pc01")
    assert again["agent_id"] == reply["agent_id"]
    assert again["token"] != reply["token"]

    with pytest.raises(EnrollError) as refused:
        enroll(protocol_server.url, "wrong-key", machine_id="m-1", hostname="pc01")
    assert refused.value.refused
    assert refused.value.status == 401
    assert "unknown enrollment key" in str(refused.value)


def test_enroll_unreachable_is_not_a_refusal() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EnrollError) as failed:
        enroll(f"http://127.0.0.1:{port}", ENROLL_KEY, machine_id="m", hostname="h", timeout_s=2.0)
    assert not failed.value.refused


def test_a_proxy_in_the_environment_sends_through_urllib(
    agent_dir: AgentDir, protocol_server: ProtocolServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # urllib's own rules then bypass it for the test server
    agent_dir.add(2)
    sender = make_sender(agent_dir, protocol_server, clock)
    assert sender.http._via_urllib
    protocol_server.script = [503]
    protocol_server.retry_after = 30
    out = sender.drain()
    assert out is not None
    assert (out.result, out.http_status) == ("retry", 503)
    assert sender.retry_at >= clock.t + 30
    clock.t = sender.retry_at
    out = sender.drain()
    assert out is not None
    assert (out.result, out.accepted) == ("ok", 2)
