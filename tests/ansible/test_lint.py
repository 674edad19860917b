"""ansible/ passes ansible-lint's production profile and every playbook passes --syntax-check."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.ansible.test_agent_role import ANSIBLE_DIR, tool

PLAYBOOKS = sorted((ANSIBLE_DIR / "playbooks").glob("*.yml"))
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"), "NO_COLOR": "1"}


def test_the_three_operator_playbooks_exist() -> None:
    assert {p.name for p in PLAYBOOKS} >= {"new_commune.yml", "upgrade_agents.yml", "rotate_site_key.yml"}


def test_ansible_lint_production_profile_is_clean() -> None:
    result = subprocess.run(
        [tool("ansible-lint"), "--offline", "--profile", "production"],
        cwd=ANSIBLE_DIR, env=ENV, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_playbook_syntax_check(playbook: Path) -> None:
    result = subprocess.run(
        [tool("ansible-playbook"), "--syntax-check", "-i", "localhost,", str(playbook)],
        cwd=ANSIBLE_DIR, env=ENV, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
