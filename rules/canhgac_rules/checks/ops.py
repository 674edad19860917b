"""Comparison operators shared by the check types (compare, each, count, applicability)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Literal

Op = Literal[
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in",
    "not_in",
    "matches",
    "not_matches",
    "is_true",
    "is_false",
    "present",
    "absent",
    "contains",
    "not_contains",
    "empty",
    "not_empty",
    "age_days_le",
]
# Operators that take no `value`.
UNARY: frozenset[str] = frozenset({"is_true", "is_false", "present", "absent", "empty", "not_empty"})
# Operators that judge None themselves (the others treat a None fact as "not known").
NONE_AWARE: frozenset[str] = frozenset({"present", "absent", "eq", "ne"})


class OpError(ValueError):
    """An operator was given a value it cannot use (bad regex, non-list for `in`…)."""


Predicate = Callable[[Any, dt.datetime], bool]


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def compile_op(op: str, value: Any) -> Predicate:
    """A predicate `(fact, now) -> bool` for `op` against the already-resolved `value`.

    Raises OpError at compile time (bad regex, wrong value type), so a pack fails `rules check`
    rather than a scan.
    """
    if op in UNARY:
        return _UNARY[op]
    if op in ("eq", "ne"):
        want = value
        return (lambda fact, _now: fact == want) if op == "eq" else (lambda fact, _now: fact != want)
    if op in ("lt", "le", "gt", "ge"):
        if not _num(value):
            raise OpError(f"operator {op} needs a number, got {value!r}")
        limit = value
        cmp: dict[str, Callable[[Any], bool]] = {
            "lt": lambda f: f < limit,
            "le": lambda f: f <= limit,
            "gt": lambda f: f > limit,
            "ge": lambda f: f >= limit,
        }
        test = cmp[op]
        return lambda fact, _now: _num(fact) and test(fact)
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            raise OpError(f"operator {op} needs a list, got {value!r}")
        members = value
        if op == "in":
            return lambda fact, _now: fact in members
        return lambda fact, _now: fact not in members
    if op in ("matches", "not_matches"):
        if not isinstance(value, str):
            raise OpError(f"operator {op} needs a regular expression string, got {value!r}")
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise OpError(f"bad regex {value!r}: {exc}") from None
        if op == "matches":
            return lambda fact, _now: isinstance(fact, str) and pattern.search(fact) is not None
        return lambda fact, _now: isinstance(fact, str) and pattern.search(fact) is None
    if op in ("contains", "not_contains"):
        needle = value
        if op == "contains":
            return lambda fact, _now: isinstance(fact, list | str) and needle in fact
        return lambda fact, _now: isinstance(fact, list | str) and needle not in fact
    if op == "age_days_le":
        if not _num(value):
            raise OpError(f"operator {op} needs a number of days, got {value!r}")
        days = float(value)

        def fresh(fact: Any, now: dt.datetime) -> bool:
            when = _parse_time(fact)
            return when is not None and (now - when).total_seconds() <= days * 86400

        return fresh
    raise OpError(f"unknown operator {op!r}")


_UNARY: dict[str, Predicate] = {
    "is_true": lambda fact, _now: fact is True,
    "is_false": lambda fact, _now: fact is False,
    "present": lambda fact, _now: fact is not None,
    "absent": lambda fact, _now: fact is None,
    "empty": lambda fact, _now: isinstance(fact, list | dict | str) and len(fact) == 0,
    "not_empty": lambda fact, _now: isinstance(fact, list | dict | str) and len(fact) > 0,
}
