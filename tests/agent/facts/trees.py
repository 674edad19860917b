"""File trees for the Linux readers: write files under a root, and a `LinuxHost` reading that root."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts.linux import LinuxHost


def write_tree(root: Path, files: dict[str, str] | dict[str, str | bytes]) -> None:
    """Write each `files` path (absolute, taken under `root`) with its text or bytes."""
    for path, content in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def linux_host(root: Path, procs: set[str] | None = None) -> LinuxHost:
    """A `LinuxHost` on `root` whose process list is `procs` (none by default): the live system's
    processes would make the results depend on the machine."""
    host = LinuxHost(root=str(root))
    host._procs = procs if procs is not None else set()
    return host
