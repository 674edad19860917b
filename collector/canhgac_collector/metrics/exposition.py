"""Prometheus text exposition from in-memory state: families of series whose lines are kept render-ready.

Why not prometheus_client: with labelled Gauges, 500k series take several seconds and ~400 MB to render
(`bench/exposition.py` compares both), because every scrape re-formats every label set. Here each series
stores its label string once, built and escaped when the series is created, and its current line is
rebuilt only when its value changes, so a scrape is one `"".join` over the lines: render time is the
join, not formatting.

Cardinality is bounded: each family has a cap; series past it are not created and are counted in
`dropped` (exposed as `canhgac_metrics_series_dropped_total{family}`), so a flood of label values (a
switch with 10,000 ports, a host with hundreds of mounts) cannot exhaust the server's memory.

Thread safety: writers (ingest observations on the event loop, the SNMP poller thread) and the scrape
(the API's event loop) may run at once. Creating or removing a series takes the family's lock; changing
a value replaces one list item, which is atomic under the GIL; render copies the lines under the lock.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable
from typing import Literal

Kind = Literal["gauge", "counter"]
NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DEFAULT_MAX_SERIES = 100_000
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label(value: str) -> str:
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value in the text format (`+Inf`, `-Inf`, `NaN` spelled as Prometheus expects)."""
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


class Family:
    """One metric family: name, type, help, label names, and its series by label-value tuple."""

    __slots__ = ("_lock", "_series", "dropped", "header", "help", "kind", "labelnames", "max_series", "name")

    def __init__(
        self,
        name: str,
        kind: Kind,
        help_text: str,
        labelnames: tuple[str, ...] = (),
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        if not NAME_RE.match(name):
            raise ValueError(f"metric family name {name!r} is not a valid Prometheus metric name")
        if kind == "counter" and not name.endswith("_total"):
            raise ValueError(f"counter family {name!r} must end in _total")
        for label in labelnames:
            if not LABEL_RE.match(label) or label.startswith("__"):
                raise ValueError(f"metric family {name!r}: label name {label!r} is not valid")
        if len(set(labelnames)) != len(labelnames):
            raise ValueError(f"metric family {name!r}: label names repeat: {labelnames}")
        if not help_text.strip():
            raise ValueError(f"metric family {name!r} needs a HELP text")
        self.name = name
        self.kind = kind
        self.help = help_text
        self.labelnames = labelnames
        self.max_series = max_series
        self.header = f"# HELP {name} {escape_help(help_text)}\n# TYPE {name} {kind}\n"
        # label values → [line prefix `name{labels} `, value, rendered line]
        self._series: dict[tuple[str, ...], list[object]] = {}
        self._lock = threading.Lock()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._series)

    def _create(self, labels: tuple[str, ...]) -> list[object] | None:
        if len(labels) != len(self.labelnames):
            raise ValueError(
                f"metric {self.name}: expected {len(self.labelnames)} label values "
                f"{self.labelnames}, got {len(labels)}: {labels}"
            )
        with self._lock:
            series = self._series.get(labels)
            if series is not None:
                return series
            if len(self._series) >= self.max_series:
                self.dropped += 1
                return None
            if labels:
                inner = ",".join(
                    f'{n}="{escape_label(str(v))}"' for n, v in zip(self.labelnames, labels, strict=True)
                )
                prefix = f"{self.name}{{{inner}}} "
            else:
                prefix = f"{self.name} "
            series = [prefix, 0, prefix + "0\n"]
            self._series[labels] = series
            return series

    def set(self, labels: tuple[str, ...], value: float) -> None:
        """Set the series' value, creating it (within the cap) when new."""
        series = self._series.get(labels) or self._create(labels)
        if series is None:
            return
        if series[1] != value:
            series[1] = value
            series[2] = f"{series[0]}{format_value(value)}\n"

    def inc(self, labels: tuple[str, ...] = (), amount: float = 1) -> None:
        """Add to a series (counters); a lost increment under a race is acceptable for metrics."""
        series = self._series.get(labels) or self._create(labels)
        if series is None:
            return
        value = series[1] + amount  # type: ignore[operator]
        series[1] = value
        series[2] = f"{series[0]}{format_value(value)}\n"

    def get(self, labels: tuple[str, ...] = ()) -> float | None:
        series = self._series.get(labels)
        return None if series is None else series[1]  # type: ignore[return-value]

    def remove(self, labels: tuple[str, ...]) -> None:
        with self._lock:
            self._series.pop(labels, None)

    def remove_where(self, predicate: Callable[[tuple[str, ...]], bool]) -> int:
        """Drop every series whose label values match (e.g. a device's interfaces that disappeared)."""
        with self._lock:
            gone = [labels for labels in self._series if predicate(labels)]
            for labels in gone:
                del self._series[labels]
        return len(gone)

    def lines(self) -> list[str]:
        with self._lock:
            return [series[2] for series in self._series.values()]  # type: ignore[misc]

    def render_into(self, out: list[str]) -> None:
        out.append(self.header)
        out.extend(self.lines())


class Dynamic:
    """A small family computed at scrape time (e.g. ages from timestamps, a dict owned elsewhere).

    `collect()` yields (label values, value); keep these families small: they are formatted per scrape.
    Or `lines()` yields finished lines (`name{labels} value\n`) from label strings its owner caches.
    """

    def __init__(
        self,
        name: str,
        kind: Kind,
        help_text: str,
        labelnames: tuple[str, ...],
        collect: Callable[[], Iterable[tuple[tuple[str, ...], float]]],
        max_series: int = DEFAULT_MAX_SERIES,
        lines: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        self._family = Family(name, kind, help_text, labelnames, max_series)
        self.lines = lines
        self.name = name
        self.kind = kind
        self.help = help_text
        self.labelnames = labelnames
        self.header = self._family.header
        self.collect = collect
        self.max_series = max_series
        self.dropped = 0

    def render_into(self, out: list[str]) -> None:
        out.append(self.header)
        if self.lines is not None:  # the owner keeps label strings cached and yields whole lines
            out.extend(self.lines())
            return
        names = self.labelnames
        count = 0
        for labels, value in self.collect():
            if count >= self.max_series:
                self.dropped += 1
                continue
            count += 1
            if labels:
                inner = ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, labels, strict=True))
                out.append(f"{self.name}{{{inner}}} {format_value(value)}\n")
            else:
                out.append(f"{self.name} {format_value(value)}\n")


class Registry:
    """The families of one process, rendered in registration order."""

    def __init__(self) -> None:
        self._families: list[Family | Dynamic] = []
        self._names: set[str] = set()

    def _add(self, family: Family | Dynamic) -> None:
        if family.name in self._names:
            raise ValueError(f"metric family {family.name!r} is registered twice")
        self._names.add(family.name)
        self._families.append(family)

    def family(
        self,
        name: str,
        kind: Kind,
        help_text: str,
        labelnames: tuple[str, ...] = (),
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> Family:
        fam = Family(name, kind, help_text, labelnames, max_series)
        self._add(fam)
        return fam

    def dynamic(
        self,
        name: str,
        kind: Kind,
        help_text: str,
        labelnames: tuple[str, ...],
        collect: Callable[[], Iterable[tuple[tuple[str, ...], float]]],
        max_series: int = DEFAULT_MAX_SERIES,
        lines: Callable[[], Iterable[str]] | None = None,
    ) -> Dynamic:
        fam = Dynamic(name, kind, help_text, labelnames, collect, max_series, lines)
        self._add(fam)
        return fam

    @property
    def families(self) -> list[Family | Dynamic]:
        return list(self._families)

    def dropped(self) -> Iterable[tuple[tuple[str, ...], float]]:
        """Series refused by each family's cap so far (for the self-metric)."""
        for fam in self._families:
            yield (fam.name,), fam.dropped

    def render(self) -> str:
        out: list[str] = []
        for fam in self._families:
            fam.render_into(out)
        return "".join(out)
