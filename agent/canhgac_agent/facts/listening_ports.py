"""Listening sockets (`SecurityFacts.listening_ports`): TCP in LISTEN and unconnected UDP, with the
owning process where visible; psutil on both systems, read once per collection (`*Host.listening_ports`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


def read_linux(host: LinuxHost) -> list[dict[str, Any]]:
    """`ListeningPort` dicts on Linux."""
    return host.listening_ports()


def read_windows(host: WindowsHost) -> list[dict[str, Any]]:
    """`ListeningPort` dicts on Windows."""
    return host.listening_ports()


PLUGIN = FactFamily(name="listening_ports", linux=read_linux, windows=read_windows, many=True)
