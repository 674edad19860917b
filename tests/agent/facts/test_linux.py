"""LinuxHost: every reader reads the files under its root."""

from __future__ import annotations

from pathlib import Path

from canhgac_agent.facts import FACTS
from canhgac_agent.facts.linux import LinuxHost
from tests.agent.facts.samples import (
    DROP_IN,
    FAILLOCK_CONF,
    GROUP,
    LOGIN_DEFS,
    PASSWD,
    PWQUALITY_CONF,
    SSHD_CONFIG,
    UBUNTU_COMMON_AUTH,
    UBUNTU_COMMON_PASSWORD,
)
from tests.agent.facts.trees import write_tree


def test_provider_reads_a_file_tree(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "/etc/ssh/sshd_config": SSHD_CONFIG,
            "/etc/ssh/sshd_config.d/50-hardening.conf": DROP_IN,
            "/etc/ssh/sshd_config.d/10-first.conf": "PermitRootLogin no\n",
            "/etc/login.defs": LOGIN_DEFS,
            "/etc/security/pwquality.conf": PWQUALITY_CONF,
            "/etc/security/faillock.conf": FAILLOCK_CONF,
            "/etc/pam.d/common-password": UBUNTU_COMMON_PASSWORD,
            "/etc/pam.d/common-auth": UBUNTU_COMMON_AUTH,
            "/etc/passwd": PASSWD,
            "/etc/group": GROUP,
        },
    )
    provider = LinuxHost(root=str(tmp_path))
    ssh = FACTS["ssh_server"].linux(provider)
    assert ssh is not None
    assert ssh["installed"]
    assert ssh["settings"]["permitrootlogin"] == "no"  # 10-first.conf sorts before 50-hardening.conf
    assert ssh["settings"]["passwordauthentication"] == "no"
    policy = FACTS["password_policy"].linux(provider)
    assert policy is not None
    assert policy["min_length"] == 14
    assert policy["lockout_attempts"] == 5
    assert policy["source"] is not None
    assert "/etc/login.defs" in policy["source"]
    names = {a["name"] for a in FACTS["accounts"].linux(provider)}
    assert names == {"root", "svcadmin", "canbo", "ketoan", "olduser"}
    assert all(a["has_password"] is None for a in FACTS["accounts"].linux(provider))  # no shadow in the tree
