"""Fact paths: `a.b`, `lines[vty 0 4].login`, `snmp.communities[public]` over JSON-ready facts.

A path is parsed once (at compile time) into segments; resolving walks dicts and, for `name[key]`,
picks the list item whose identifying field (`name`, `id`, `port`) equals `key`. A path that does not
resolve raises `FactMissing`: the engine turns that into an `error` finding ("fact X not collected"),
never into a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

_SEGMENT = re.compile(r"([^.\[\]]+)(?:\[([^\]]*)\])?")
ITEM_KEYS = ("name", "id", "port")
MISSING: Any = object()


class FactMissing(LookupError):
    """A fact path did not resolve in the facts document."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class PathError(ValueError):
    """A fact path is not well-formed."""


Segment = tuple[str, str | None]


def parse_path(path: str) -> tuple[Segment, ...]:
    """Split `path` into (name, key) segments; `""` or `"."` is the document itself."""
    if path in ("", "."):
        return ()
    segments: list[Segment] = []
    for part in _split(path):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise PathError(f"bad fact path {path!r} near {part!r}")
        segments.append((match.group(1), match.group(2)))
    return tuple(segments)


def _split(path: str) -> list[str]:
    """Split on dots outside brackets (keys such as `GigabitEthernet0/0.10` may hold dots)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    if depth != 0 or any(not part for part in parts):
        raise PathError(f"bad fact path {path!r}")
    return parts


def item_key(item: Any) -> str | None:
    """The identifying key of a list item (its `name`, `id` or `port`), or the item itself if scalar."""
    if isinstance(item, dict):
        for key in ITEM_KEYS:
            value = item.get(key)
            if value is not None:
                return str(value)
        return None
    if isinstance(item, str | int | float):
        return str(item)
    return None


def resolve(doc: Any, segments: Sequence[Segment]) -> Any:
    """Value at `segments` in `doc`; raises FactMissing (naming the part that failed)."""
    value = doc
    walked: list[str] = []
    for name, key in segments:
        walked.append(name if key is None else f"{name}[{key}]")
        if not isinstance(value, dict) or name not in value:
            raise FactMissing(_prefix(walked))
        value = value[name]
        if key is not None:
            if not isinstance(value, list):
                raise FactMissing(_prefix(walked))
            for item in value:
                if item_key(item) == key:
                    value = item
                    break
            else:
                raise FactMissing(_prefix(walked))
    return value


Getter = Callable[[Any], Any]


def compile_getter(segments: Sequence[Segment]) -> Getter:
    """A fast resolver for `segments`: plain dict walks for key-less paths (the common case), falling
    back to `resolve` (which names the missing part) on any miss."""
    if any(key is not None for _, key in segments):
        return lambda doc: resolve(doc, segments)
    names = tuple(name for name, _ in segments)
    if len(names) == 1:
        (only,) = names

        def get_one(doc: Any) -> Any:
            try:
                return doc[only]
            except (KeyError, TypeError):
                return resolve(doc, segments)

        return get_one

    def get(doc: Any) -> Any:
        value = doc
        try:
            for name in names:
                value = value[name]
        except (KeyError, TypeError, IndexError):
            return resolve(doc, segments)
        return value

    return get


def _prefix(walked: list[str]) -> str:
    return ".".join(walked)


def lookup(doc: Any, path: str) -> Any:
    """Convenience: parse and resolve `path` (raises FactMissing / PathError)."""
    return resolve(doc, parse_path(path))
