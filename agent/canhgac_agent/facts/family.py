"""The fact family plugin kind: one `SecurityFacts` field with its Linux and Windows readers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from canhgac_agent.facts.linux import LinuxHost
from canhgac_agent.facts.windows import WindowsHost


@dataclass(frozen=True)
class FactFamily:
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
