"""The InfluxDB v2 history writer against a real store (VictoriaMetrics), read back through its API:
round trip, an outage across a writer restart (exactly once), the disk bound, and a store that refuses."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from canhgac_collector.config import InfluxConfig
from canhgac_collector.metrics.history import InfluxWriter, line, tag_set
from tests.harness.postgres import free_port
from tests.harness.timeseries import VictoriaMetrics

BASE_MS = 1_790_000_000_000  # fixed timestamps: every point is distinct and checkable


@pytest.fixture
def victoria() -> Iterator[VictoriaMetrics]:
    vm = VictoriaMetrics().start()
    yield vm
    vm.cleanup()


def _config(url: str, buffer_dir: Path, **overrides: object) -> InfluxConfig:
    values: dict[str, object] = {
        "enabled": True,
        "url": url,
        "token": "test-token",
        "batch_size": 500,
        "flush_interval_s": 0.2,
        "buffer_dir": str(buffer_dir),
    }
    values.update(overrides)
    return InfluxConfig.model_validate(values)


def _points(start: int, n: int, site: str = "HT-CAMXUYEN") -> list[str]:
    """n points of one interface series, one per second from `start`, value = index."""
    series = tag_set("interface", (("site", site), ("device", "sw 01"), ("ifName", "Gi0/1,uplink")))
    return [
        p for i in range(start, start + n) if (p := line(series, {"in_bps": float(i)}, BASE_MS + i * 1000))
    ]


def _samples(vm: VictoriaMetrics) -> list[tuple[int, float]]:
    vm.flush()
    out: list[tuple[int, float]] = []
    for row in vm.export("interface_in_bps"):
        assert row["metric"]["ifName"] == "Gi0/1,uplink"  # escaped tag value came back whole
        assert row["metric"]["device"] == "sw 01"
        out += list(zip(row["timestamps"], row["values"], strict=True))
    return sorted(out)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def test_points_arrive_with_their_tags_and_values(victoria: VictoriaMetrics, tmp_path: Path) -> None:
    writer = InfluxWriter(_config(victoria.url, tmp_path / "buf"))
    writer.start()
    writer.write(_points(0, 1200))
    _wait(lambda: writer.stats.points_written == 1200, 20, "1200 points written")
    writer.stop()
    samples = _samples(victoria)
    assert samples == [(BASE_MS + i * 1000, float(i)) for i in range(1200)]
    assert writer.stats.batches_written >= 3  # batched by batch_size
    assert list((tmp_path / "buf").iterdir()) == []  # nothing left buffered


def test_outage_is_buffered_on_disk_across_a_restart_and_delivered_exactly_once(tmp_path: Path) -> None:
    port = free_port()  # the store is down: nothing listens here yet
    url = f"http://127.0.0.1:{port}"
    buf = tmp_path / "buf"
    first = InfluxWriter(_config(url, buf))
    first.start()
    started = time.perf_counter()
    first.write(_points(0, 2000))
    assert time.perf_counter() - started < 0.5  # producers never wait for the store
    _wait(lambda: first.stats.buffer_points == 2000, 20, "2000 points on disk")
    assert first.stats.write_errors >= 1
    first.stop(timeout=1)
    assert len(list(buf.glob("*.lp.gz"))) == 4  # 2000 points / 500 per batch

    # the collector restarts: a new writer on the same directory finds the backlog
    second = InfluxWriter(_config(url, buf))
    assert second.stats.buffer_points == 2000
    second.start()
    second.write(_points(2000, 300))  # more points during the outage go behind the backlog
    vm = VictoriaMetrics(port=port).start()  # the store comes back
    try:
        _wait(lambda: second.stats.points_written == 2300, 60, "the backlog delivered")
        second.stop()
        samples = _samples(vm)
    finally:
        vm.cleanup()
    assert samples == [(BASE_MS + i * 1000, float(i)) for i in range(2300)]  # all, once, in order
    assert second.stats.buffer_points == 0
    assert list(buf.glob("*.lp.gz")) == []
    assert sum(second.stats.dropped.values()) == 0


def test_buffer_bound_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # a ~4 KB bound; 200-point segments are ~1 KB (gzip): the bound is crossed many times over.
    writer = InfluxWriter(_config(url, tmp_path / "buf", buffer_max_mb=0.004, batch_size=200))
    writer.start()
    for chunk in range(20):
        writer.write(_points(chunk * 200, 200))
        time.sleep(0.05)
    _wait(lambda: writer.stats.buffer_points + writer.stats.dropped["buffer_full"] == 4000, 30, "all spooled")
    dropped = writer.stats.dropped["buffer_full"]
    assert dropped > 0
    assert writer.stats.buffer_bytes <= 0.004 * 1024 * 1024
    vm = VictoriaMetrics(port=port).start()
    try:
        _wait(lambda: writer.stats.buffer_points == 0, 60, "the buffer delivered")
        writer.stop()
        samples = _samples(vm)
    finally:
        vm.cleanup()
    # what was kept is the newest, complete and once; what was dropped is exactly what is missing
    assert len(samples) == 4000 - dropped
    assert samples == [(BASE_MS + i * 1000, float(i)) for i in range(dropped, 4000)]


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A store that refuses the first batch as malformed (HTTP 400, as InfluxDB does), accepts the rest."""

    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(body)
        status = 400 if len(type(self).bodies) == 1 else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_batch_the_store_refuses_is_dropped_and_counted_not_retried(tmp_path: Path) -> None:
    _Refusing.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        writer = InfluxWriter(_config(f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "buf"))
        writer.start()
        writer.write(_points(0, 500))
        _wait(lambda: writer.stats.dropped["rejected"] == 500, 10, "the refused batch counted")
        writer.write(_points(500, 500))
        _wait(lambda: writer.stats.points_written == 500, 10, "the next batch written")
        writer.stop()
    finally:
        server.shutdown()
    assert len(_Refusing.bodies) == 2  # the refused batch was not retried
    assert list((tmp_path / "buf").glob("*.lp.gz")) == []


def test_unusable_buffer_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"influx.buffer_dir .*file/sub"):
        InfluxWriter(_config("http://127.0.0.1:9", blocker / "sub"))


def test_line_protocol_escaping_and_empty_points() -> None:
    series = tag_set("host", (("site", "HT"), ("host", "pc 1,a=b"), ("empty", "")))
    assert series == "host,site=HT,host=pc\\ 1\\,a\\=b"
    assert line(series, {"a": None, "b": float("nan")}, 1) is None
    assert (
        line(series, {"n": 3, "ok": True, "s": 'say "hi"'}, 5) == f'{series} n=3i,ok=true,s="say \\"hi\\"" 5'
    )
