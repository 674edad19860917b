"""state.json: private, atomic, never shows the token; an unreadable file is moved aside."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from canhgac_agent.spool import STATE_FILE, StateFile


def test_state_file_is_private_atomic_and_hides_the_token(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "d" / STATE_FILE)
    state.update(agent_id="a-1", token="secret-token", server_url="https://x", seq_high_water=5)
    state.update(seq_high_water=3)  # never goes back
    path = tmp_path / "d" / STATE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [STATE_FILE]  # no tmp file left behind
    assert json.loads(path.read_text())["seq_high_water"] == 5
    assert "secret-token" not in repr(state)

    other = StateFile(path)  # another process (`enroll`) rewrites it
    other.update(token="new-token")
    assert state.refresh() is True
    assert state.get("token") == "new-token"
    assert state.refresh() is False


def test_unreadable_state_file_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    state = StateFile(tmp_path / STATE_FILE)
    assert state.data == {}
    assert len(list(tmp_path.glob(f"{STATE_FILE}.corrupt-*"))) == 1
