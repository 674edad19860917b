"""Structured (logfmt-style) logging on stderr, alike in every process: `canhgac serve` and its worker."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str | int) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s",
    )
    # Alembic announces its SQL dialect at INFO on every schema-version check (each /health call).
    name_level = logging.getLevelName(level) if isinstance(level, str) else level
    logging.getLogger("alembic").setLevel(max(logging.WARNING, name_level))
