"""Password policy from login.defs and the PAM stack on Linux; `net accounts` on Windows."""

from __future__ import annotations

from canhgac_agent.facts.common import parse_login_defs
from canhgac_agent.facts.password_policy import parse_net_accounts, parse_pam, password_policy_from
from canhgac_api.schemas.report import PasswordPolicy
from tests.agent.facts.samples import (
    FAILLOCK_CONF,
    LOGIN_DEFS,
    NET_ACCOUNTS,
    PWQUALITY_CONF,
    UBUNTU_COMMON_AUTH,
    UBUNTU_COMMON_PASSWORD,
)


def test_password_policy_hardened_ubuntu() -> None:
    policy = password_policy_from(
        LOGIN_DEFS, [UBUNTU_COMMON_PASSWORD, UBUNTU_COMMON_AUTH], PWQUALITY_CONF, FAILLOCK_CONF
    )
    assert policy == {
        "max_days": 90,
        "min_days": 1,
        "warn_days": 7,
        "min_length": 14,  # module argument beats pwquality.conf
        "min_classes": 3,
        "remember": 5,
        "lockout_attempts": 5,
        "lockout_seconds": 900,
    }


def test_password_policy_debian_default() -> None:
    debian_password = "password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n"
    debian_auth = "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
    # faillock.conf has settings, but pam_faillock is not in the stack: no lockout is enforced.
    policy = password_policy_from(LOGIN_DEFS, [debian_password, debian_auth], None, FAILLOCK_CONF)
    assert policy["min_length"] == 6  # pam_unix's built-in minimum; PASS_MIN_LEN is ignored under PAM
    assert policy["lockout_attempts"] is None
    assert policy["remember"] is None


def test_password_policy_rhel_system_auth() -> None:
    system_auth = (
        "auth        required      pam_env.so\n"
        "auth        required      pam_faillock.so preauth silent deny=4 unlock_time=0\n"
        "auth        sufficient    pam_unix.so try_first_pass nullok\n"
        "-auth       sufficient    pam_sss.so forward_pass\n"
        "password    requisite     pam_pwquality.so local_users_only\n"
        "password    sufficient    pam_unix.so sha512 shadow nullok use_authtok remember=4\n"
    )
    policy = password_policy_from("PASS_MAX_DAYS 99999\n", [system_auth], "", "")
    assert policy["min_length"] == 8  # pwquality's default
    assert policy["remember"] == 4
    assert (policy["lockout_attempts"], policy["lockout_seconds"]) == (4, 0)  # 0: admin must unlock


def test_password_policy_garbage() -> None:
    policy = password_policy_from(
        "PASS_MAX_DAYS lots\n\x00", ["password [broken pam_unix.so\n"], "==", "deny="
    )
    assert policy["max_days"] is None
    assert policy["min_length"] is None
    assert policy["lockout_attempts"] is None


def test_parse_pam_and_login_defs() -> None:
    entries = parse_pam(UBUNTU_COMMON_PASSWORD)
    assert [e.module for e in entries] == [
        "pam_pwquality",
        "pam_pwhistory",
        "pam_unix",
        "pam_deny",
        "pam_permit",
    ]
    assert entries[2].control == "[success=1 default=ignore]"
    assert entries[2].args["obscure"] == ""
    assert parse_pam("@include common-auth\n") == []
    assert parse_login_defs(LOGIN_DEFS)["PASS_MAX_DAYS"] == "90"


NET_ACCOUNTS_DEFAULT_VI = """\
Buộc người dùng đăng xuất sau bao lâu khi hết thời gian?:   Không bao giờ
Tuổi mật khẩu tối thiểu (ngày):                             0
Tuổi mật khẩu tối đa (ngày):                                Không giới hạn
Độ dài mật khẩu tối thiểu:                                  0
Độ dài lịch sử mật khẩu được duy trì:                       Không có
Ngưỡng khóa:                                                Không bao giờ
Thời lượng khóa (phút):                                     30
Cửa sổ quan sát khóa (phút):                                30
Vai trò máy tính:                                           WORKSTATION
Lệnh đã hoàn tất thành công.
"""


def test_net_accounts() -> None:
    policy = parse_net_accounts(NET_ACCOUNTS)
    PasswordPolicy.model_validate(policy)
    assert (policy["min_days"], policy["max_days"], policy["min_length"], policy["remember"]) == (
        1,
        90,
        12,
        24,
    )
    assert (policy["lockout_attempts"], policy["lockout_seconds"]) == (5, 1800)


def test_net_accounts_localised_defaults() -> None:
    policy = parse_net_accounts(NET_ACCOUNTS_DEFAULT_VI)
    PasswordPolicy.model_validate(policy)
    assert policy["max_days"] == -1  # never expires
    assert (policy["min_length"], policy["remember"], policy["lockout_attempts"]) == (0, 0, 0)


def test_net_accounts_garbage() -> None:
    policy = parse_net_accounts("System error 5 has occurred.\n\nAccess is denied.\n")
    PasswordPolicy.model_validate(policy)
    assert policy["max_days"] is None
    assert policy["source"] is None
