"""Linux security facts: the pure parsers on realistic sample text (and garbage), the provider on a
real file tree, and the whole collection on this machine validated against the wire schema."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac_agent.facts import FACTS, collect_from, collect_security_facts
from canhgac_agent.facts.common import parse_sshd_config, ssh_running
from canhgac_agent.facts.linux import (
    LinuxProvider,
    accounts_from,
    parse_apt_simulate,
    parse_chronyc_tracking,
    parse_clamav_version,
    parse_dnf_check_update,
    parse_iptables_save,
    parse_login_defs,
    parse_nft_ruleset,
    parse_ntpq_peers,
    parse_pam,
    parse_shadow,
    parse_ufw_conf,
    password_policy_from,
)
from canhgac_api.schemas.report import CollectorError, SecurityFacts

# --- sshd_config ----------------------------------------------------------------------------------

SSHD_CONFIG = """\
# This is the sshd server system-wide configuration file.
Include /etc/ssh/sshd_config.d/*.conf

Port 22
Port 2222
#ListenAddress 0.0.0.0
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
AcceptEnv TZ
Subsystem\tsftp\t/usr/lib/openssh/sftp-server
MaxAuthTries=3
ClientAliveInterval = 300

Match User backup
\tPasswordAuthentication yes
\tPermitRootLogin yes
Match all
Banner "/etc/issue.net"
"""

DROP_IN = """\
PasswordAuthentication no
Match Address 10.0.0.0/8
    PermitRootLogin yes
"""


def _includes(files: dict[str, list[str]]) -> Any:
    return lambda pattern: files.get(pattern, [])


def test_sshd_config_first_value_wins_and_includes_come_in_place() -> None:
    settings = parse_sshd_config(SSHD_CONFIG, _includes({"/etc/ssh/sshd_config.d/*.conf": [DROP_IN]}))
    assert settings["passwordauthentication"] == "no"  # the drop-in is read first, so it wins
    assert settings["permitrootlogin"] == "prohibit-password"  # Match blocks are not global
    assert settings["port"] == "22 2222"
    assert settings["acceptenv"] == "LANG LC_* TZ"
    assert settings["subsystem"] == "sftp\t/usr/lib/openssh/sftp-server"
    assert settings["maxauthtries"] == "3"
    assert settings["clientaliveinterval"] == "300"
    assert settings["banner"] == "/etc/issue.net"  # after "Match all": global again
    assert "include" not in settings
    assert "match" not in settings


def test_sshd_config_include_inside_match_is_conditional() -> None:
    text = "Match Group sftp\n  Include extra.conf\nX11Forwarding no\n"
    settings = parse_sshd_config(text, _includes({"extra.conf": ["PermitTTY no\n"]}))
    assert settings == {}


def test_sshd_config_without_include_reader_and_garbage() -> None:
    assert parse_sshd_config("Include foo\nPort 22\n") == {"port": "22"}
    assert parse_sshd_config("\x00\x01\n=\n==\n   \nPermitRootLogin\n") == {"permitrootlogin": ""}
    assert parse_sshd_config("") == {}


def test_sshd_config_include_loop_is_bounded() -> None:
    settings = parse_sshd_config("Include self\nPort 22\n", lambda _: ["Include self\nPort 2200\n"])
    assert settings["port"].split()[0] == "2200"


def test_ssh_running_via_socket_activation() -> None:
    ports = [{"proto": "tcp6", "address": "::", "port": 22, "pid": 1, "process": "systemd"}]
    assert ssh_running({"systemd"}, ports, {})
    assert ssh_running({"sshd"}, [], {})
    assert not ssh_running({"bash"}, ports, {"port": "2222"})


# --- firewall -------------------------------------------------------------------------------------

NFT_RULESET = """\
table inet filter {
\tset blocklist {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 198.51.100.0/24,
\t\t\t     203.0.113.7 }
\t}

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\tip saddr @blocklist drop
\t\ttcp dport { 22, 443 } accept comment "ssh and https"
\t\tmeta l4proto icmp accept
\t}

\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}

\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t}
}
table ip nat {
\tchain POSTROUTING {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname "eth0" masquerade
\t}
}
"""


def test_parse_nft_ruleset() -> None:
    r = parse_nft_ruleset(NFT_RULESET)
    assert (r.rules_count, r.input_policy, r.input_rules, r.input_filtered) == (6, "drop", 5, True)


def test_parse_nft_ruleset_empty_and_accepting() -> None:
    assert parse_nft_ruleset("").input_policy is None
    open_input = (
        "table inet filter {\n chain input {\n  type filter hook input priority 0; policy accept;\n }\n}\n"
    )
    r = parse_nft_ruleset(open_input)
    assert (r.rules_count, r.input_policy, r.input_filtered) == (0, "accept", False)


IPTABLES_SAVE = """\
# Generated by iptables-save v1.8.9 (nf_tables) on Sat Nov 22 10:00:00 2026
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [120:9600]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [4521:388211]
:DOCKER - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
COMMIT
"""


def test_parse_iptables_save() -> None:
    r = parse_iptables_save(IPTABLES_SAVE)
    assert (r.rules_count, r.input_policy, r.input_rules, r.input_filtered) == (4, "drop", 3, True)
    empty = parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
    assert (empty.rules_count, empty.input_policy, empty.input_filtered) == (0, "accept", False)
    assert parse_iptables_save("random\n-A INPUT\n").rules_count == 0  # outside any table


def test_parse_ufw_conf() -> None:
    conf = "# /etc/ufw/ufw.conf\n#\n\n# Set to yes to start on boot.\nENABLED=yes\n\nLOGLEVEL=low\n"
    assert parse_ufw_conf(conf) is True
    assert parse_ufw_conf("ENABLED=no\n") is False
    assert parse_ufw_conf("ENABLED=maybe\n") is None
    assert parse_ufw_conf("") is None


# --- time sync ------------------------------------------------------------------------------------

CHRONY_SYNCED = """\
Reference ID    : C0A80101 (192.168.1.1)
Stratum         : 3
Ref time (UTC)  : Sat Nov 22 03:58:11 2026
System time     : 0.000123456 seconds slow of NTP time
Last offset     : -0.000045678 seconds
RMS offset      : 0.000098765 seconds
Frequency       : 12.345 ppm fast
Residual freq   : -0.001 ppm
Skew            : 0.045 ppm
Root delay      : 0.012345678 seconds
Root dispersion : 0.001234567 seconds
Update interval : 1024.3 seconds
Leap status     : Normal
"""

CHRONY_UNSYNCED = """\
Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Leap status     : Not synchronised
"""


def test_parse_chronyc_tracking() -> None:
    assert parse_chronyc_tracking(CHRONY_SYNCED) == {
        "synchronized": True,
        "source": "192.168.1.1",
        "offset_ms": -0.123456,
    }
    unsynced = parse_chronyc_tracking(CHRONY_UNSYNCED)
    assert unsynced["synchronized"] is False
    assert unsynced["source"] is None
    assert parse_chronyc_tracking("506 Cannot talk to daemon\n") == {
        "synchronized": None,
        "source": None,
        "offset_ms": None,
    }


NTPQ = """\
     remote           refid      st t when poll reach   delay   offset  jitter
==============================================================================
 0.debian.pool.n .POOL.          16 p    -   64    0    0.000   +0.000   0.000
*203.0.113.10    .GPS.            1 u   33   64  377    8.123   -0.456   0.210
+198.51.100.5    192.0.2.1        2 u   40   64  377   12.001    1.234   0.500
"""


def test_parse_ntpq_peers() -> None:
    assert parse_ntpq_peers(NTPQ) == {"synchronized": True, "source": "203.0.113.10", "offset_ms": -0.456}
    assert parse_ntpq_peers(NTPQ.replace("*", " "))["synchronized"] is False
    assert parse_ntpq_peers("")["synchronized"] is None
    assert parse_ntpq_peers("*")["source"] is None


# --- updates --------------------------------------------------------------------------------------

APT_SIMULATE = """\
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
Reading package lists...
Building dependency tree...
Calculating upgrade...
The following packages will be upgraded:
  base-files bash libc6 linux-image-amd64 openssl
5 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.
Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])
Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
Inst libc6 [2.36-9+deb12u9] (2.36-9+deb12u13 Debian:12.15/oldstable, \
Debian-Security:12/oldstable-security [amd64]) []
Inst linux-image-6.1.0-40-amd64 (6.1.153-1 Debian-Security:12/oldstable-security [amd64])
Inst openssl [3.0.15-1~deb12u1] (3.0.17-1~deb12u3 Debian-Security:12/oldstable-security [amd64])
Conf base-files (12.4+deb12u15 Debian:12.15/oldstable [amd64])
Conf libc6 (2.36-9+deb12u13 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
"""

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


# --- password policy ------------------------------------------------------------------------------

LOGIN_DEFS = """\
#
# /etc/login.defs - Configuration control definitions for the login package.
MAIL_DIR        /var/mail
PASS_MAX_DAYS\t90
PASS_MIN_DAYS\t1
PASS_WARN_AGE\t7
PASS_MIN_LEN    10
UID_MIN                  1000
ENCRYPT_METHOD SHA512
"""

UBUNTU_COMMON_PASSWORD = """\
# here are the per-package modules (the "Primary" block)
password\trequisite\t\t\tpam_pwquality.so retry=3 minlen=14
password\trequired\t\t\tpam_pwhistory.so remember=5 use_authtok
password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt
password\trequisite\t\t\tpam_deny.so
password\trequired\t\t\tpam_permit.so
"""

UBUNTU_COMMON_AUTH = """\
auth    required                        pam_faillock.so preauth
auth    [success=1 default=ignore]      pam_unix.so nullok
auth    [default=die]                   pam_faillock.so authfail
auth    sufficient                      pam_faillock.so authsucc
auth    requisite                       pam_deny.so
"""

PWQUALITY_CONF = "# minlen = 8\nminlen = 12\nminclass = 3\nenforce_for_root\n"
FAILLOCK_CONF = "# deny = 3\ndeny = 5\nunlock_time = 900\n"


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


# --- accounts -------------------------------------------------------------------------------------

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:110:65534::/run/sshd:/usr/sbin/nologin
svcadmin:x:998:998::/home/svcadmin:/usr/sbin/nologin
canbo:x:1000:1000:Can Bo Xa,,,:/home/canbo:/bin/bash
ketoan:x:1001:1001:Ke Toan:/home/ketoan:/bin/bash
olduser:x:1002:1002::/home/olduser:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
broken line
bad:x:notanumber:0::/:/bin/sh
"""

GROUP = """\
root:x:0:
sudo:x:27:canbo,svcadmin
adm:x:4:syslog,canbo
svcadmin:x:998:
canbo:x:1000:
ketoan:x:1001:
olduser:x:1002:
"""

SHADOW = """\
root:*:19800:0:99999:7:::
daemon:*:19800:0:99999:7:::
canbo:$y$j9T$abc$def:19900:0:99999:7:::
ketoan::19900:0:99999:7:::
olduser:!$6$salt$hash:19000:0:99999:7::19500:
svcadmin:!:19800::::::
"""


def test_accounts_with_shadow() -> None:
    accounts = {a["name"]: a for a in accounts_from(PASSWD, GROUP, SHADOW, today_days=20000)}
    assert set(accounts) == {"root", "svcadmin", "canbo", "ketoan", "olduser"}
    assert accounts["root"]["is_admin"]
    assert accounts["root"]["has_password"] is False
    assert accounts["svcadmin"]["is_admin"]  # nologin, but in sudo: listed
    assert accounts["canbo"] == {
        "name": "canbo",
        "uid": 1000,
        "groups": ["adm", "canbo", "sudo"],
        "is_admin": True,
        "has_password": True,
        "locked": False,
        "shell": "/bin/bash",
    }
    assert (accounts["ketoan"]["has_password"], accounts["ketoan"]["locked"]) == (
        False,
        False,
    )  # passwordless!
    assert (accounts["olduser"]["has_password"], accounts["olduser"]["locked"]) == (True, True)


def test_accounts_without_shadow() -> None:
    for account in accounts_from(PASSWD, GROUP, None):
        assert account["has_password"] is None
        assert account["locked"] is None


def test_parse_shadow_expiry() -> None:
    assert parse_shadow("u:$6$x:1:0:99999:7::100:\n", today_days=99) == {"u": (True, False)}
    assert parse_shadow("u:$6$x:1:0:99999:7::100:\n", today_days=100) == {"u": (True, True)}
    assert parse_shadow("garbage\n::\n") == {}


def test_parse_clamav_version() -> None:
    assert parse_clamav_version("ClamAV 1.0.7/27450/Thu Nov 20 08:32:36 2025\n") == "1.0.7"
    assert parse_clamav_version("ClamAV 0.103.11\n") == "0.103.11"
    assert parse_clamav_version("command not found") is None


# --- garbage never raises -------------------------------------------------------------------------

PARSERS = [
    parse_sshd_config,
    parse_nft_ruleset,
    parse_iptables_save,
    parse_ufw_conf,
    parse_chronyc_tracking,
    parse_ntpq_peers,
    parse_apt_simulate,
    parse_dnf_check_update,
    parse_login_defs,
    parse_pam,
    parse_shadow,
    parse_clamav_version,
    lambda text: password_policy_from(text, [text], text, text, text),
    lambda text: accounts_from(text, text, text),
]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from([
    SSHD_CONFIG, NFT_RULESET, IPTABLES_SAVE, APT_SIMULATE, PASSWD, SHADOW, UBUNTU_COMMON_AUTH
]))  # fmt: skip
def test_parsers_never_raise(text: str) -> None:
    for parse in PARSERS:
        parse(text)


# --- the provider on a real file tree -------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_provider_reads_a_file_tree(tmp_path: Path) -> None:
    _write(
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
    provider = LinuxProvider(root=str(tmp_path))
    ssh = provider.ssh_server()
    assert ssh is not None
    assert ssh["installed"]
    assert ssh["settings"]["permitrootlogin"] == "no"  # 10-first.conf sorts before 50-hardening.conf
    assert ssh["settings"]["passwordauthentication"] == "no"
    policy = provider.password_policy()
    assert policy is not None
    assert policy["min_length"] == 14
    assert policy["lockout_attempts"] == 5
    assert policy["source"] is not None
    assert "/etc/login.defs" in policy["source"]
    names = {a["name"] for a in provider.accounts()}
    assert names == {"root", "svcadmin", "canbo", "ketoan", "olduser"}
    assert all(a["has_password"] is None for a in provider.accounts())  # no shadow in the tree


# --- isolation and the real machine ---------------------------------------------------------------


class _HalfBrokenProvider:
    """A provider whose firewall and accounts facts fail: the others must still be reported."""

    platform: Literal["linux"] = "linux"

    def listening_ports(self) -> list[dict[str, Any]]:
        return [{"proto": "tcp", "address": "0.0.0.0", "port": 22, "pid": None, "process": None}]

    def firewall(self) -> dict[str, Any] | None:
        raise PermissionError("nft: Operation not permitted")

    def time_sync(self) -> dict[str, Any] | None:
        return {"service": "chrony", "synchronized": True}

    def ssh_server(self) -> dict[str, Any] | None:
        return {"installed": False}

    def updates(self) -> dict[str, Any] | None:
        return None

    def password_policy(self) -> dict[str, Any] | None:
        return {"max_days": 90}

    def accounts(self) -> list[dict[str, Any]]:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    def anti_malware(self) -> list[dict[str, Any]]:
        return []

    def disk_encryption(self) -> dict[str, Any] | None:
        return {"root_encrypted": True}

    def audit_logging(self) -> dict[str, Any] | None:
        return None

    def log_forwarding(self) -> dict[str, Any] | None:
        return None

    def autologin(self) -> dict[str, Any] | None:
        return {"enabled": False}

    def domain(self) -> dict[str, Any] | None:
        return None

    def package_sources(self) -> dict[str, Any] | None:
        return None

    def dns_resolvers(self) -> dict[str, Any] | None:
        return None

    def exploit_protection(self) -> dict[str, Any] | None:
        return None

    def software(self) -> dict[str, Any] | None:
        return None

    def removable_media(self) -> dict[str, Any] | None:
        return None

    def screen_lock(self) -> dict[str, Any] | None:
        return None

    def wireless(self) -> dict[str, Any] | None:
        return None


def test_one_failing_fact_does_not_lose_the_others() -> None:
    facts, errors = collect_from(_HalfBrokenProvider())
    model = SecurityFacts.model_validate(facts)
    assert model.firewall is None
    assert model.accounts == []
    assert model.time_sync is not None
    assert model.time_sync.synchronized
    assert len(model.listening_ports) == 1
    assert model.disk_encryption is not None
    assert model.disk_encryption.root_encrypted
    assert [e["collector"] for e in errors] == ["security.firewall", "security.accounts"]
    for error in errors:
        CollectorError.model_validate(error)
    assert "Operation not permitted" in errors[0]["error"]


def test_collect_security_facts_on_this_machine() -> None:
    started = time.monotonic()
    facts, errors = collect_security_facts()
    elapsed = time.monotonic() - started
    model = SecurityFacts.model_validate(facts)
    for error in errors:
        CollectorError.model_validate(error)
    assert model.platform == "linux"
    assert set(FACTS) <= set(facts)
    assert model.password_policy is not None
    assert elapsed < 15, f"{elapsed:.1f}s"
    # The expensive part (apt's simulation) is reused while the package state is unchanged.
    started = time.monotonic()
    again, _ = collect_security_facts()
    assert time.monotonic() - started < 2
    assert again["updates"] == facts["updates"]


def test_linux_provider_listening_ports_sees_our_socket() -> None:
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        ports = LinuxProvider().listening_ports()
    mine = [p for p in ports if p["port"] == port]
    if not mine:
        pytest.skip("this environment hides sockets from psutil")
    assert mine[0]["proto"] == "tcp"
    assert mine[0]["address"] == "127.0.0.1"


# --- the package manager's answer, cached --------------------------------------------------------


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
    from canhgac_agent.facts import linux

    fake = _FakeApt()
    monkeypatch.setattr(linux, "run_command", fake)
    monkeypatch.setattr(linux, "_which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
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
    first = LinuxProvider(root=root, cache_dir=state).updates()
    assert first is not None
    assert (first["manager"], first["total"], first["security"]) == ("apt", 5, 3)
    assert fake_apt.runs == 1
    assert LinuxProvider(root=root, cache_dir=state).updates() == first  # the next security cycle
    assert fake_apt.runs == 1

    monkeypatch.setattr(linux, "_memory_cache", {})  # a restarted agent: only the file remains
    assert LinuxProvider(root=root, cache_dir=state).updates() == first
    assert fake_apt.runs == 1
    assert (state / linux.FACTS_CACHE_FILE).stat().st_mode & 0o077 == 0

    status = tmp_path / "root" / "var/lib/dpkg/status"  # a package was installed or upgraded
    st = status.stat()
    status.write_text("v2, longer\n")
    assert status.stat().st_mtime_ns != st.st_mtime_ns or status.stat().st_size != st.st_size
    LinuxProvider(root=root, cache_dir=state).updates()
    assert fake_apt.runs == 2

    lists = tmp_path / "root" / "var/lib/apt/lists"  # `apt update` brought new lists
    (lists / "y_Packages").write_text("new\n")
    LinuxProvider(root=root, cache_dir=state).updates()
    assert fake_apt.runs == 3
    LinuxProvider(root=root, cache_dir=state).updates()
    assert fake_apt.runs == 3


def test_apt_answer_expires_and_a_broken_cache_file_is_ignored(
    tmp_path: Path, fake_apt: _FakeApt, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canhgac_agent.facts import linux

    root, state = str(tmp_path / "root"), tmp_path / "state"
    LinuxProvider(root=root, cache_dir=state).updates()
    assert fake_apt.runs == 1
    now = time.time()
    monkeypatch.setattr(linux.time, "time", lambda: now + linux.CACHE_MAX_AGE_S + 1)
    LinuxProvider(root=root, cache_dir=state).updates()
    assert fake_apt.runs == 2

    monkeypatch.setattr(linux, "_memory_cache", {})
    (state / linux.FACTS_CACHE_FILE).write_text("{not json")
    assert LinuxProvider(root=root, cache_dir=state).updates() is not None
    assert fake_apt.runs == 3
