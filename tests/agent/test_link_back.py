"""An agent backing off from a lost link sends as soon as the link is back (a cheap TCP check), not when
its backoff, up to minutes, runs out. The link is a real TCP relay in front of the ingest server, cut by
closing it."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from canhgac_agent.config import ConfigError, parse_config
from canhgac_agent.runner import Runner
from canhgac_agent.sender import Backoff
from canhgac_agent.spool import STATE_FILE, StateFile

from .conftest import ProtocolServer


class Relay:
    """127.0.0.1:`port` → the server; `cut()` closes it (connections refused), `restore()` reopens it on
    the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


class Longest(random.Random):
    """Backoff jitter that always picks the longest delay (an agent deep into a long outage)."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def relay(protocol_server: ProtocolServer) -> Iterator[Relay]:
    host, port = protocol_server.url.removeprefix("http://").split(":")
    r = Relay((host, int(port)))
    yield r
    r.cut()


def start_agent(tmp_path: Path, relay: Relay, server: ProtocolServer, **retry: object) -> Runner:
    config = parse_config(
        {
            "state_dir": str(tmp_path / "state"),
            "interval_s": 1.0,
            "probes": {"gateway": False},
            "identity": {"machine_id": "m-1"},
            "retry": {"max_delay_s": 60.0, **retry},
        },
        "agent.toml",
        env={},
    )
    StateFile(config.state_dir / STATE_FILE).update(  # enrolled before the agent starts
        server_url=f"http://127.0.0.1:{relay.port}", agent_id="agent-1", token=server.add_agent("agent-1")
    )
    runner = Runner(config)
    runner.sender.backoff = Backoff(base_s=60.0, cap_s=60.0, rng=Longest())
    return runner


def wait_for(check: object, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def run_agent(
    tmp_path: Path, relay: Relay, server: ProtocolServer, **retry: object
) -> tuple[Runner, threading.Thread]:
    """The agent's run loop in a thread of its own (its spool belongs to that thread)."""
    made: list[Runner] = []
    ready = threading.Event()

    def main() -> None:
        made.append(start_agent(tmp_path, relay, server, **retry))
        ready.set()
        made[0].run()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(10)
    return made[0], thread


def cut_until_backing_off(runner: Runner, relay: Relay) -> None:
    """The agent failed to send, backs off for a minute, and spooled at least two reports meanwhile."""
    wait_for(lambda: runner.sender.link_lost, 10)
    assert runner.sender.retry_at - time.monotonic() > 50
    time.sleep(2.2)  # interval_s = 1: two more reports spooled
    relay.restore()


def test_agent_sends_within_seconds_of_the_link_coming_back(
    tmp_path: Path, relay: Relay, protocol_server: ProtocolServer
) -> None:
    relay.cut()
    runner, thread = run_agent(tmp_path, relay, protocol_server, link_check_s=0.5, resume_jitter_s=0.5)
    try:
        cut_until_backing_off(runner, relay)
        # one check (≤ 0.625 s) + jitter (≤ 0.5 s) + a send: not the 60 s backoff
        drained = wait_for(lambda: len(protocol_server.seqs()) >= 3, 15)
        assert drained < 3.0
        seqs = protocol_server.seqs()
        assert seqs == list(range(1, len(seqs) + 1))  # everything spooled during the cut, in order
        # the server stores before it replies: the agent clears the flag once the reply is in
        wait_for(lambda: not runner.sender.link_lost, 2)
    finally:
        runner.stop.set()
        thread.join(10)


def test_without_link_checks_the_agent_waits_out_its_backoff(
    tmp_path: Path, relay: Relay, protocol_server: ProtocolServer
) -> None:
    relay.cut()
    runner, thread = run_agent(tmp_path, relay, protocol_server, link_check=False)
    try:
        cut_until_backing_off(runner, relay)
        time.sleep(3)
        assert protocol_server.seqs() == []  # still backing off: the check is what makes the difference
    finally:
        runner.stop.set()
        thread.join(10)


def test_link_check_sends_nothing_and_fails_fast_when_nothing_listens(
    tmp_path: Path, relay: Relay, protocol_server: ProtocolServer
) -> None:
    relay.cut()
    runner = start_agent(tmp_path, relay, protocol_server)
    try:
        started = time.monotonic()
        assert not runner.sender.server_answers(timeout_s=1.0)
        assert time.monotonic() - started < 1.5
        relay.restore()
        assert runner.sender.server_answers(timeout_s=1.0)
        assert protocol_server.statuses == []  # a bare connect: no request reached the server
    finally:
        runner.spool.close()


def test_retry_settings_are_checked_and_named() -> None:
    with pytest.raises(ConfigError, match=r"retry\.link_check_s.*greater than 0"):
        parse_config({"retry": {"link_check_s": 0}}, "agent.toml", env={})
    with pytest.raises(ConfigError, match=r"retry\.wait_s.*unknown key"):
        parse_config({"retry": {"wait_s": 1}}, "agent.toml", env={})
    assert parse_config({}, "agent.toml", env={}).retry.max_delay_s == 300.0
