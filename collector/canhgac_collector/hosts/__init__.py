"""Hosts (agents): the group-commit writer of agent reports (`ingest.py`) and host states up/stale/down
(`states.py`)."""
