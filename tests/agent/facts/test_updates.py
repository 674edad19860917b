"""Pending updates: apt and dnf output, the cached apt answer across restarts; Windows Update dates."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.common import parse_ps_date
from canhgac_agent.facts.linux import LinuxHost
from canhgac_agent.facts.updates import parse_apt_simulate, parse_dnf_check_update, parse_update_results
from canhgac_api.schemas.report import PendingUpdates
from tests.agent.facts.samples import APT_SIMULATE

APT_UBUNTU = """\
Inst libssl3 [3.0.2-0ubuntu1.15] (3.0.2-0ubuntu1.18 Ubuntu:22.04/jammy-updates, \
Ubuntu:22.04/jammy-security [amd64])
Inst tzdata [2024a-0ubuntu0.22.04] (2024a-0ubuntu0.22.04.1 Ubuntu:22.04/jammy-updates [all])
"""


def test_parse_apt_simulate() -> None:
    assert parse_apt_simulate(APT_SIMULATE) == (5, 3)
    assert parse_apt_simulate(APT_UBUNTU) == (2, 1)
    assert parse_apt_simulate("E: Could not open lock file\n") == (0, 0)
    assert parse_apt_simulate("Inst\nInst (\nInst x [y\n") == (0, 0)


def test_parse_dnf_check_update() -> None:
    text = (
        "\nkernel.x86_64                      5.14.0-427.22.1.el9_4        baseos\n"
        "openssl-libs.x86_64                1:3.0.7-27.el9_4             baseos\n"
        "python3-perf.x86_64                5.14.0-427.22.1.el9_4        appstream\n"
        "Obsoleting Packages\n"
        "grub2-tools.x86_64                 1:2.06-80.el9_4              baseos\n"
        "    grub2-tools.x86_64             1:2.06-77.el9                @baseos\n"
    )
    assert parse_dnf_check_update(text) == 4
    assert parse_dnf_check_update("") == 0


class _FakeApt:
    """Stands in for `apt-get -s dist-upgrade`: counts runs, answers APT_SIMULATE (5 updates, 3 security)."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, argv: list[str], **_: Any) -> Any:
        from canhgac_agent.facts.common import CommandResult

        assert argv[0] == "apt-get"
        self.runs += 1
        return CommandResult(0, APT_SIMULATE, "")


@pytest.fixture
def fake_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _FakeApt:
    from canhgac_agent.facts import linux, updates

    fake = _FakeApt()
    monkeypatch.setattr(updates, "run_command", fake)
    monkeypatch.setattr(updates, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(linux, "_memory_cache", {})
    for path in ("var/lib/dpkg/status", "var/lib/apt/lists/x_Packages", "etc/apt/sources.list"):
        (tmp_path / "root" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "root" / path).write_text("v1\n")
    (tmp_path / "state").mkdir()
    return fake


def test_apt_answer_is_reused_across_restarts_until_packages_change(
    tmp_path: Path, fake_apt: _FakeApt, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canhgac_agent.facts import linux

    root, state = str(tmp_path / "root"), tmp_path / "state"
    first = FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state))
    assert first is not None
    assert (first["manager"], first["total"], first["security"]) == ("apt", 5, 3)
    assert fake_apt.runs == 1
    assert FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state)) == first  # the next security cycle
    assert fake_apt.runs == 1

    monkeypatch.setattr(linux, "_memory_cache", {})  # a restarted agent: only the file remains
    assert FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state)) == first
    assert fake_apt.runs == 1
    assert (state / linux.FACTS_CACHE_FILE).stat().st_mode & 0o077 == 0

    status = tmp_path / "root" / "var/lib/dpkg/status"  # a package was installed or upgraded
    st = status.stat()
    status.write_text("v2, longer\n")
    assert status.stat().st_mtime_ns != st.st_mtime_ns or status.stat().st_size != st.st_size
    FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state))
    assert fake_apt.runs == 2

    lists = tmp_path / "root" / "var/lib/apt/lists"  # `apt update` brought new lists
    (lists / "y_Packages").write_text("new\n")
    FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state))
    assert fake_apt.runs == 3
    FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state))
    assert fake_apt.runs == 3


def test_apt_answer_expires_and_a_broken_cache_file_is_ignored(
    tmp_path: Path, fake_apt: _FakeApt, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canhgac_agent.facts import linux

    root, state = str(tmp_path / "root"), tmp_path / "state"
    FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state))
    assert fake_apt.runs == 1
    now = time.time()
    monkeypatch.setattr(linux.time, "time", lambda: now + linux.CACHE_MAX_AGE_S + 1)
    FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state))
    assert fake_apt.runs == 2

    monkeypatch.setattr(linux, "_memory_cache", {})
    (state / linux.FACTS_CACHE_FILE).write_text("{not json")
    assert FACTS["updates"].linux(LinuxHost(root=root, cache_dir=state)) is not None
    assert fake_apt.runs == 3


def test_update_results_and_dates() -> None:
    updates = parse_update_results({"LastSearchSuccessDate": "/Date(1763700000000)/"})
    PendingUpdates.model_validate(updates)
    assert updates["manager"] == "windows-update"
    assert updates["last_refresh"] is not None
    assert parse_update_results(None)["last_refresh"] is None
    assert parse_ps_date("2026-10-01T08:30:00+07:00") == "2026-10-01T08:30:00+07:00"
    assert parse_ps_date("2026-10-01T08:30:00") is not None  # naive: taken as local time, made aware
    assert parse_ps_date("1601-01-01T00:00:00Z") is None  # Windows' "never"
    assert parse_ps_date("not a date") is None
    assert parse_ps_date(12345) is None
