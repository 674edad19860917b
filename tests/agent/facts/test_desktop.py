"""Desktop policies shared by removable media and screen lock: dconf keyfiles, Windows machine policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac_agent.facts import collect_from
from canhgac_agent.facts.desktop import parse_dconf_keyfiles, parse_session_policy
from canhgac_agent.facts.linux import LinuxHost
from canhgac_agent.facts.removable_media import gnome_removable_media
from canhgac_agent.facts.screen_lock import gnome_screen_lock
from canhgac_api.schemas.report import RemovableMedia, ScreenLock, SecurityFacts
from tests.agent.facts.samples import MEDIA


def test_dconf_keyfiles_later_files_override_and_comments_are_skipped() -> None:
    values = parse_dconf_keyfiles(
        [
            "[org/gnome/desktop/session]\nidle-delay=uint32 900\n; comment\n",
            "[org/gnome/desktop/session/]\nidle-delay=uint32 600\nnot a key line\n",
        ]
    )
    assert values == {"org/gnome/desktop/session/idle-delay": "uint32 600"}


def test_without_gnome_there_is_nothing_to_autorun_or_lock() -> None:
    media = gnome_removable_media(False, {})
    lock = gnome_screen_lock(False, {})
    assert (media["desktop"], media["autorun_disabled"]) == (False, None)
    assert (lock["desktop"], lock["lock_after_s"]) == (False, None)
    RemovableMedia.model_validate(media)
    ScreenLock.model_validate(lock)


def test_linux_provider_reads_its_root(tmp_path: Path) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/gnome-shell").write_text("")
    db = tmp_path / "etc/dconf/db/local.d"
    db.mkdir(parents=True)
    (db / "00-media").write_text(MEDIA)
    (db / "01-lock").write_text("[org/gnome/desktop/session]\nidle-delay=uint32 1800\n")
    provider = LinuxHost(root=str(tmp_path))
    provider._procs = set()  # the process list is the live system's
    facts, _errors = collect_from(provider)
    assert facts["removable_media"]["autorun_disabled"] is True
    assert facts["screen_lock"]["lock_after_s"] == 1800
    assert facts["screen_lock"]["settings"] == {"idle-delay": "uint32 1800"}
    SecurityFacts.model_validate(facts)


@pytest.mark.parametrize(
    ("policy", "autorun_disabled", "lock_after"),
    [
        ({}, False, None),  # nothing set: Windows autoplays and never locks by policy
        ({"NoDriveTypeAutoRun": 255, "NoAutorun": 1, "InactivityTimeoutSecs": 600}, True, 600),
        ({"NoDriveTypeAutoRun": 145, "NoAutorun": 1}, False, None),  # 0x91: the default, not all drives
        ({"NoDriveTypeAutoRun": 255}, False, None),  # autorun.inf still honoured
        (
            {
                "InactivityTimeoutSecs": 900,
                "ScreenSaveActive": "1",
                "ScreenSaverIsSecure": "1",
                "ScreenSaveTimeOut": "300",
            },
            False,
            300,
        ),
        (
            {"ScreenSaveActive": "1", "ScreenSaverIsSecure": "0", "ScreenSaveTimeOut": "300"},
            False,
            None,
        ),  # no password
        ({"InactivityTimeoutSecs": 0}, False, None),
    ],
)
def test_windows_policies(policy: dict[str, Any], autorun_disabled: bool, lock_after: int | None) -> None:
    media, lock = parse_session_policy(policy)
    assert media["autorun_disabled"] is autorun_disabled
    assert lock["lock_after_s"] == lock_after
    RemovableMedia.model_validate(media)
    ScreenLock.model_validate(lock)


def test_windows_malformed() -> None:
    with pytest.raises(ValueError, match="not an object"):
        parse_session_policy(None)
    media, lock = parse_session_policy({"NoDriveTypeAutoRun": "all", "InactivityTimeoutSecs": True})
    assert (media["autorun_disabled"], lock["lock_after_s"]) == (False, None)


@given(st.lists(st.text(max_size=400), max_size=4))
def test_dconf_garbage_stays_in_the_schema(texts: list[str]) -> None:
    values = parse_dconf_keyfiles(texts)
    RemovableMedia.model_validate(gnome_removable_media(True, values))
    ScreenLock.model_validate(gnome_screen_lock(True, values))
