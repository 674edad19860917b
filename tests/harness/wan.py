"""A commune's line to the data centre, for real: two network namespaces ("dc" and "commune") joined by
a veth pair on 198.51.100.0/24 (TEST-NET-2). `cut()` takes the data-centre end down: the commune end
loses carrier but keeps its route, so packets vanish and the agents' connections time out, as over a
dead carrier line. Namespaces are always deleted on exit. Needs root and iproute2."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DC_IP = "198.51.100.1"
COMMUNE_IP = "198.51.100.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass(frozen=True)
class Wan:
    dc: str  # namespace names
    commune: str
    dc_if: str

    def run_in(self, namespace: str) -> list[str]:
        """The prefix that runs a command inside `namespace`."""
        return ["ip", "netns", "exec", namespace]

    def cut(self) -> None:
        _ip("-n", self.dc, "link", "set", self.dc_if, "down")

    def restore(self) -> None:
        _ip("-n", self.dc, "link", "set", self.dc_if, "up")


def missing_reason() -> str | None:
    """Why the fixture cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is missing: run scripts/install-system-deps"
    return None


@contextmanager
def wan(tag: str = "") -> Iterator[Wan]:
    """Create the two namespaces and the veth pair; delete everything on the way out."""
    suffix = f"{tag}{os.getpid()}"[-8:]
    w = Wan(dc=f"cg-dc-{suffix}", commune=f"cg-xa-{suffix}", dc_if="wan-dc")
    created: list[str] = []
    try:
        for ns in (w.dc, w.commune):
            _ip("netns", "add", ns)
            created.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", w.dc, "link", "add", w.dc_if, "type", "veth", "peer", "name", "wan-xa", "netns", w.commune)
        _ip("-n", w.dc, "addr", "add", f"{DC_IP}/24", "dev", w.dc_if)
        _ip("-n", w.commune, "addr", "add", f"{COMMUNE_IP}/24", "dev", "wan-xa")
        _ip("-n", w.dc, "link", "set", w.dc_if, "up")
        _ip("-n", w.commune, "link", "set", "wan-xa", "up")
        yield w
    finally:
        for ns in created:
            subprocess.run(["ip", "netns", "delete", ns], check=False, capture_output=True, timeout=10)


def wait(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    retry_on: tuple[type[Exception], ...] = (sqlite3.Error,),
) -> Any:
    """Poll `check` every 0.25 s until it returns something true (returned); `retry_on` errors (the
    server's database busy, a command in a namespace failing) count as not yet."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except retry_on:
            last = None
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
