"""A live province scraped by a real Prometheus: `canhgac serve` (subprocess) fed by real agent processes
and an snmpsim switch, its history going to a real VictoriaMetrics; shared by the tests of this folder."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.postgres import free_port
from tests.harness.province import LiveProvince
from tests.harness.timeseries import Prometheus, VictoriaMetrics


@dataclass
class Stack:
    province: LiveProvince
    prometheus: Prometheus
    victoria: VictoriaMetrics


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    victoria = VictoriaMetrics().start()
    province = LiveProvince(
        Path(tempfile.mkdtemp(prefix="canhgac-live-")), free_port(), influx_url=victoria.url
    )
    prometheus: Prometheus | None = None
    try:
        province.start()
        prometheus = Prometheus([f"127.0.0.1:{province.port}"]).start()
        yield Stack(province, prometheus, victoria)
    finally:
        if prometheus is not None:
            prometheus.cleanup()
        province.cleanup()
        victoria.cleanup()
