"""Fixtures for the lab tests: net-snmp command-line tools are the reference client."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def netsnmp(tool: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run a net-snmp tool (snmpget, snmpbulkwalk, …) with numeric output; fail clearly if it is missing."""
    exe = shutil.which(tool)
    if exe is None:
        pytest.fail(f"{tool} (Debian package 'snmp') is missing: run scripts/install-system-deps")
    return subprocess.run(
        [exe, "-On", "-Oe", "-Ot", "-r0", "-t2", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
