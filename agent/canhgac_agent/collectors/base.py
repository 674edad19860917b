"""The metric collector plugin kind (see `canhgac_agent.plugins`).

A NamedTuple rather than a frozen dataclass: as immutable and as typed, without importing `dataclasses`
(and with it `inspect`), about 1 MB of RSS the agent would otherwise carry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class MetricCollector(NamedTuple):
    """One section of `Report.metrics`: `name` is the section's key, `collect()` returns its JSON-ready
    value and may raise (the runner records the error and sends the other sections)."""

    name: str
    collect: Callable[[], Any]
