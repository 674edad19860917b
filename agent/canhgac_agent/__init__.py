"""Canh Gác agent: collects host health, connectivity and security facts; spools and pushes them.

Runtime needs only the standard library and psutil (see docs/adr/0001-packaging.md).
"""

__version__ = "0.1.0"
