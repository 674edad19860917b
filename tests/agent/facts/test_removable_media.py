"""Removable media autorun from GNOME's dconf defaults."""

from __future__ import annotations

import pytest

from canhgac_agent.facts.desktop import parse_dconf_keyfiles
from canhgac_agent.facts.removable_media import gnome_removable_media
from canhgac_api.schemas.report import RemovableMedia
from tests.agent.facts.samples import MEDIA


@pytest.mark.parametrize(
    ("keyfile", "disabled"),
    [
        ("", False),  # GNOME's defaults offer to run and open every medium
        (MEDIA, True),
        ("[org/gnome/desktop/media-handling]\nautorun-never=true\n", False),  # still opens the medium
        ("[org/gnome/desktop/media-handling]\nautorun-never=yes\nautomount-open=false\n", False),
    ],
)
def test_gnome_autorun(keyfile: str, disabled: bool) -> None:
    media = gnome_removable_media(True, parse_dconf_keyfiles([keyfile]))
    assert media["autorun_disabled"] is disabled
    RemovableMedia.model_validate(media)
