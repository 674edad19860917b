"""Automatic login: display managers and getty on Linux; Winlogon on Windows."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.autologin import display_manager_autologin, getty_autologin, parse_winlogon
from canhgac_api.schemas.report import Autologin
from tests.agent.facts.trees import linux_host, write_tree


def test_display_manager_autologin() -> None:
    gdm = "[daemon]\nAutomaticLoginEnable=True\nAutomaticLogin=motcua\n"
    assert display_manager_autologin("gdm", gdm) == "motcua"
    assert display_manager_autologin("gdm", "[daemon]\n#AutomaticLoginEnable=true\n") is None
    assert display_manager_autologin("lightdm", "[Seat:*]\nautologin-user=kiosk\n") == "kiosk"
    assert display_manager_autologin("lightdm", "[Seat:*]\nautologin-user=\n") is None
    assert display_manager_autologin("sddm", "[Autologin]\nUser=an\nSession=plasma\n") == "an"
    assert display_manager_autologin("sddm", "[Autologin]\nRelogin=false\n") is None
    assert getty_autologin("[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root %I\n") == "root"
    assert getty_autologin("[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' %I\n") is None


def test_autologin_on_a_tree(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/etc/lightdm/lightdm.conf": "[Seat:*]\nautologin-user=ketoan\n",
            # a later file undoes it
            "/etc/lightdm/lightdm.conf.d/99-off.conf": "[Seat:*]\nautologin-user=\n",
            "/etc/gdm3/custom.conf": "[daemon]\nAutomaticLoginEnable = true\nAutomaticLogin = vanthu\n",
            "/etc/systemd/system/getty@tty1.service.d/override.conf": (
                "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear %I $TERM\n"
            ),
        },
    )
    facts = FACTS["autologin"].linux(linux_host(tmp_path))
    assert facts is not None
    Autologin.model_validate(facts)
    assert facts["enabled"] is True
    assert {(e["source"], e["user"]) for e in facts["entries"]} == {
        ("gdm", "vanthu"),
        ("getty getty@tty1.service.d", "root"),
    }
    assert FACTS["autologin"].linux(linux_host(tmp_path / "empty")) == {"enabled": False, "entries": []}


def test_windows_winlogon() -> None:
    assert (
        parse_winlogon({"AutoAdminLogon": "1", "DefaultUserName": "motcua"})["entries"][0]["user"] == "motcua"
    )
    assert parse_winlogon({"AutoAdminLogon": "0", "DefaultUserName": "motcua"})["enabled"] is False
