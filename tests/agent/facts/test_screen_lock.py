"""Screen lock delay from GNOME's dconf defaults."""

from __future__ import annotations

import pytest

from canhgac_agent.facts.desktop import parse_dconf_keyfiles
from canhgac_agent.facts.screen_lock import gnome_screen_lock
from canhgac_api.schemas.report import ScreenLock


@pytest.mark.parametrize(
    ("keyfile", "lock_after"),
    [
        ("", 300),  # GNOME's defaults: blank after 5 min, lock at once
        (
            "[org/gnome/desktop/session]\nidle-delay=uint32 600\n"
            "[org/gnome/desktop/screensaver]\nlock-delay=uint32 30\n",
            630,
        ),
        ("[org/gnome/desktop/screensaver]\nlock-enabled=false\n", None),
        ("[org/gnome/desktop/session]\nidle-delay=uint32 0\n", None),  # never idle
        ("[org/gnome/desktop/session]\nidle-delay=soon\n", None),
    ],
)
def test_gnome_screen_lock(keyfile: str, lock_after: int | None) -> None:
    lock = gnome_screen_lock(True, parse_dconf_keyfiles([keyfile]))
    assert lock["lock_after_s"] == lock_after
    ScreenLock.model_validate(lock)
    if "soon" in keyfile:
        assert "unreadable value" in lock["detail"]
