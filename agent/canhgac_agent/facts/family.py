"""The fact family plugin kind: one `SecurityFacts` field with its Linux and Windows readers.

A NamedTuple rather than a frozen dataclass, like `MetricCollector`: as immutable and as typed, without
importing `dataclasses` (about 1 MB of RSS in the agent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


class FactFamily(NamedTuple):
    """One field of `SecurityFacts`, read on each platform (see `canhgac_agent.plugins`).

    A reader returns the JSON-ready value of the field (a dict for a section, a list of dicts for a
    list, None when the fact does not apply, e.g. no package manager) and may raise: the collection
    isolates failures, leaving the field empty (`[]` when `many`, else None).
    """

    name: str
    linux: Callable[[LinuxHost], Any]
    windows: Callable[[WindowsHost], Any]
    many: bool = False

    def read(self, host: LinuxHost | WindowsHost) -> Any:
        """The fact on `host`'s platform."""
        if host.platform == "windows":
            return self.windows(host)
        return self.linux(host)

    def empty(self) -> list[Any] | None:
        """What the field holds when its reader failed."""
        return [] if self.many else None
