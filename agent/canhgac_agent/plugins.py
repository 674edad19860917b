"""One registration shape for plugins: each plugin module exposes one `PLUGIN` object, and its kind's
package lists them once with `registry(...)`.

The helper lives in the base package (`canhgac_agent`, the only one every install has), so the server
and the rules can register their own plugin kinds the same way without depending on each other.
"""

from __future__ import annotations

from typing import Protocol, TypeVar


class Plugin(Protocol):
    """Anything with a name; each kind (metric collector, fact family, …) adds its own fields."""

    @property
    def name(self) -> str: ...


P = TypeVar("P", bound=Plugin)


def registry(*plugins: P) -> dict[str, P]:
    """Plugins by name, in the order listed; a duplicate name is a programming error (ValueError)."""
    by_name: dict[str, P] = {}
    for plugin in plugins:
        if plugin.name in by_name:
            raise ValueError(f"plugin name {plugin.name!r} registered twice")
        by_name[plugin.name] = plugin
    return by_name
