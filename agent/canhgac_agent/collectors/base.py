"""The metric collector plugin kind (see `canhgac_agent.plugins`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricCollector:
    """One section of `Report.metrics`: `name` is the section's key, `collect()` returns its JSON-ready
    value and may raise (the runner records the error and sends the other sections)."""

    name: str
    collect: Callable[[], Any]
