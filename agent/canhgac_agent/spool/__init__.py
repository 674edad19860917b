"""Store-and-forward: every report lands in a SQLite spool before any send, and leaves it only when the
server has acknowledged it (or a bound dropped it, counted).

Files under `<state_dir>`: `spool.sqlite` and `spool.reserve`, the queue (`store.py`; the database's
format and its read-only view are in `db.py`), and `state.json`, the enrollment, the server's settings
and the seq high-water mark (`state.py`).
"""

from canhgac_agent.spool.db import (
    SCHEMA_VERSION,
    SPOOL_FILE,
    SpoolCorrupt,
    SpoolCounters,
    SpoolSnapshot,
    read_snapshot,
)
from canhgac_agent.spool.state import STATE_FILE, StateFile, utc_stamp
from canhgac_agent.spool.store import (
    DEFAULT_RESERVE_BYTES,
    REJECTED_KEEP,
    RESERVE_FILE,
    SEQ_BLOCK,
    WAL_AUTOCHECKPOINT_PAGES,
    Pending,
    Spool,
)

__all__ = [
    "DEFAULT_RESERVE_BYTES",
    "REJECTED_KEEP",
    "RESERVE_FILE",
    "SCHEMA_VERSION",
    "SEQ_BLOCK",
    "SPOOL_FILE",
    "STATE_FILE",
    "WAL_AUTOCHECKPOINT_PAGES",
    "Pending",
    "Spool",
    "SpoolCorrupt",
    "SpoolCounters",
    "SpoolSnapshot",
    "StateFile",
    "read_snapshot",
    "utc_stamp",
]
