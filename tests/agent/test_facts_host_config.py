"""The host-configuration facts (disk encryption, audit logging, log forwarding, autologin, domain,
package sources): Linux on fake file trees (positive, negative, malformed), the Windows parsers on
sample PowerShell values, and every result validated against the wire schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac_agent.facts import collect_from
from canhgac_agent.facts.linux import (
    LinuxProvider,
    apt_deb822_uris,
    apt_list_uris,
    audit_rules_log_execve,
    display_manager_autologin,
    getty_autologin,
    journal_storage,
    nsswitch_sources,
    parse_proc_mounts,
    rsyslog_targets,
    sssd_domains,
    syslog_ng_targets,
    yum_repo_uris,
)
from canhgac_agent.facts.windows import (
    parse_audit_bundle,
    parse_bitlocker,
    parse_computer_system,
    parse_wef,
    parse_winlogon,
    parse_wsus,
)
from canhgac_api.schemas.report import (
    AuditLogging,
    Autologin,
    DiskEncryption,
    DomainMembership,
    LogForwarding,
    PackageSources,
    SecurityFacts,
)

NEW_FACTS = ("disk_encryption", "audit_logging", "log_forwarding", "autologin", "domain", "package_sources")


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _provider(root: Path, procs: set[str] | None = None) -> LinuxProvider:
    provider = LinuxProvider(root=str(root))
    provider._procs = procs if procs is not None else set()  # the process list is the live system's
    return provider


# --- disk encryption ------------------------------------------------------------------------------

MOUNTS = """\
/dev/mapper/vg-root /var/lib/docker ext4 rw 0 0
/dev/mapper/vg-root / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid 0 0
/dev/sda1 /boot ext4 rw,relatime 0 0
/dev/mapper/data /srv/d\\040l ext4 rw 0 0
/dev/loop3 /snap/core/1 squashfs ro 0 0
tmpfs /run tmpfs rw 0 0
"""


def _luks_tree(root: Path, *, root_on_luks: bool) -> None:
    """LVM on LUKS for / (dm-1 → dm-0 CRYPT), a plain /boot partition, and /srv on bare LVM."""
    _write(root, {"/proc/mounts": MOUNTS})
    (root / "dev/mapper").mkdir(parents=True)
    for link, target in (("vg-root", "../dm-1"), ("data", "../dm-2")):
        os.symlink(target, root / "dev/mapper" / link)
    (root / "dev/sda1").write_text("")
    blocks = root / "sys/class/block"
    _write(
        root,
        {
            "/sys/class/block/dm-0/dm/uuid": "CRYPT-LUKS2-3f2a-sda3_crypt\n" if root_on_luks else "LVM-pv\n",
            "/sys/class/block/dm-1/dm/uuid": "LVM-abc\n",
            "/sys/class/block/dm-2/dm/uuid": "LVM-def\n",
        },
    )
    (blocks / "dm-1/slaves/dm-0").mkdir(parents=True)
    (blocks / "dm-0/slaves/sda3").mkdir(parents=True)
    (blocks / "dm-2/slaves/sda4").mkdir(parents=True)
    (blocks / "sda1").mkdir()
    (blocks / "sda3").mkdir()
    (blocks / "sda4").mkdir()


def test_disk_encryption_lvm_on_luks(tmp_path: Path) -> None:
    _luks_tree(tmp_path, root_on_luks=True)
    facts = _provider(tmp_path).disk_encryption()
    assert facts is not None
    DiskEncryption.model_validate(facts)
    assert facts["root_encrypted"] is True
    by_mount = {f["mountpoint"]: f for f in facts["filesystems"]}
    assert set(by_mount) == {"/", "/boot", "/srv/d l"}  # no proc/tmpfs/squashfs/bind mount
    assert by_mount["/boot"]["encrypted"] is False
    assert by_mount["/srv/d l"]["encrypted"] is False


def test_disk_encryption_plain_lvm_is_not_encrypted(tmp_path: Path) -> None:
    _luks_tree(tmp_path, root_on_luks=False)
    facts = _provider(tmp_path).disk_encryption()
    assert facts is not None
    assert facts["root_encrypted"] is False


def test_disk_encryption_unknown_device_and_container_root(tmp_path: Path) -> None:
    _write(tmp_path, {"/proc/mounts": "/dev/nvme9n9p9 / xfs rw 0 0\n"})
    facts = _provider(tmp_path).disk_encryption()
    assert facts is not None
    assert facts["root_encrypted"] is None  # not found in /sys: unknown, not "unencrypted"
    assert "unknown" in facts["detail"]
    _write(tmp_path, {"/proc/mounts": "overlay / overlay rw 0 0\n\x00garbage\n"})
    facts = _provider(tmp_path).disk_encryption()
    assert facts is not None
    assert facts["root_encrypted"] is None
    assert facts["filesystems"] == []


def test_parse_proc_mounts_garbage() -> None:
    assert parse_proc_mounts("\x00\n/dev/x\n\n") == []


# --- audit logging --------------------------------------------------------------------------------


def test_audit_rules_execve() -> None:
    assert audit_rules_log_execve("-a always,exit -F arch=b64 -S execve -k exec\n")
    assert audit_rules_log_execve("-a exit,always -F arch=b32 -S execve,execveat\n")
    assert not audit_rules_log_execve("# -a always,exit -S execve\n-w /etc/passwd -p wa\n")
    assert not audit_rules_log_execve("-a never,exit -S execve\n")
    assert not audit_rules_log_execve("-a always,exit -S open -S\n")


def test_journal_storage_last_drop_in_wins() -> None:
    assert (
        journal_storage(["[Journal]\nStorage=volatile\n", "[Journal]\nStorage=persistent\n"]) == "persistent"
    )
    assert journal_storage(["#Storage=persistent\n[Journal]\n"]) is None


def test_audit_logging_on_a_tree(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "/etc/audit/rules.d/50-exec.rules": "-a always,exit -F arch=b64 -S execve -k exec\n",
            "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n",
        },
    )
    facts = _provider(tmp_path, {"auditd", "systemd-journald"}).audit_logging()
    assert facts is not None
    AuditLogging.model_validate(facts)
    assert facts == {**facts, "audit_service": "auditd", "audit_running": True, "process_audit": True}
    assert facts["persistent_logs"] is True


def test_audit_logging_unreadable_rules_are_unknown(tmp_path: Path) -> None:
    _write(tmp_path, {"/etc/audit/audit.rules": "-a always,exit -S execve\n"})
    (tmp_path / "etc/audit/audit.rules").chmod(0)
    if os.access(tmp_path / "etc/audit/audit.rules", os.R_OK):  # root reads anything: use a directory
        (tmp_path / "etc/audit/audit.rules").unlink()
        (tmp_path / "etc/audit/audit.rules").mkdir()  # exists, cannot be read as a file
    facts = _provider(tmp_path, {"auditd"}).audit_logging()
    assert facts is not None
    assert facts["process_audit"] is None
    assert "not readable" in facts["detail"]


def test_audit_logging_absent_and_volatile(tmp_path: Path) -> None:
    _write(tmp_path, {"/etc/systemd/journald.conf.d/10.conf": "[Journal]\nStorage=volatile\n"})
    (tmp_path / "var/log/journal").mkdir(parents=True)  # Storage=volatile wins over the directory
    facts = _provider(tmp_path).audit_logging()
    assert facts is not None
    assert facts["audit_service"] is None
    assert facts["audit_running"] is False
    assert facts["process_audit"] is False
    assert facts["persistent_logs"] is False
    assert facts["logon_audit"] is False
    assert _provider(tmp_path, {"rsyslogd"}).audit_logging()["persistent_logs"] is True  # type: ignore[index]


# --- log forwarding -------------------------------------------------------------------------------

RSYSLOG = """\
*.* @@10.0.99.5:514
auth,authpriv.*  @(z9)logs.tinh.gov.vn
#*.* @old.example
*.* :omrelp:relp.tinh.gov.vn:2514
*.* @[fd00::5]:514
action(type="omfwd"
       target="siem.tinh.gov.vn" port="6514" protocol="tcp")
action(type="omfile" file="/var/log/x")
"""

SYSLOG_NG = """\
source s_net { network(ip("0.0.0.0") port(514)); };
destination d_siem { network("10.0.99.6" transport("tcp") port(601)); };
destination d_old { udp("10.0.99.7"); };
destination d_file { file("/var/log/all"); };
"""


def test_rsyslog_and_syslog_ng_targets() -> None:
    assert rsyslog_targets(RSYSLOG) == [
        "10.0.99.5",
        "logs.tinh.gov.vn",
        "relp.tinh.gov.vn",
        "fd00::5",
        "siem.tinh.gov.vn",
    ]
    assert syslog_ng_targets(SYSLOG_NG) == ["10.0.99.6", "10.0.99.7"]
    assert rsyslog_targets("*.* /var/log/syslog\n") == []
    assert syslog_ng_targets("destination d {") == []


def test_log_forwarding_on_a_tree(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "/etc/rsyslog.conf": "*.* /var/log/syslog\n",
            "/etc/rsyslog.d/90-remote.conf": RSYSLOG,
            "/etc/systemd/journal-upload.conf": "[Upload]\nURL=https://logs.tinh.gov.vn:19532\n",
        },
    )
    facts = _provider(tmp_path, {"rsyslogd"}).log_forwarding()
    assert facts is not None
    LogForwarding.model_validate(facts)
    assert facts["forwarding"] is True
    assert facts["running"] == ["rsyslog"]
    assert {t["daemon"] for t in facts["remote_targets"]} == {"rsyslog", "systemd-journal-upload"}
    # configured but the daemon is not running: nothing leaves the host
    assert _provider(tmp_path).log_forwarding()["forwarding"] is False  # type: ignore[index]
    # a log shipper running counts even without parsed targets
    assert _provider(tmp_path / "none", {"filebeat"}).log_forwarding()["forwarding"] is True  # type: ignore[index]


# --- autologin ------------------------------------------------------------------------------------


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
    _write(
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
    facts = _provider(tmp_path).autologin()
    assert facts is not None
    Autologin.model_validate(facts)
    assert facts["enabled"] is True
    assert {(e["source"], e["user"]) for e in facts["entries"]} == {
        ("gdm", "vanthu"),
        ("getty getty@tty1.service.d", "root"),
    }
    assert _provider(tmp_path / "empty").autologin() == {"enabled": False, "entries": []}


# --- domain ---------------------------------------------------------------------------------------

SSSD = """\
[sssd]
services = nss, pam
domains = tinh.gov.vn

[domain/tinh.gov.vn]
id_provider = ad
access_provider = ad
"""


def test_domain_parsers() -> None:
    assert sssd_domains(SSSD) == [("tinh.gov.vn", "ad")]
    assert sssd_domains("[sssd]\ndomains = a, b\n[domain/b]\nid_provider=ipa\n") == [("a", ""), ("b", "ipa")]
    assert nsswitch_sources("passwd:  files systemd sss [NOTFOUND=return]\ngroup: files\n") == [
        "files",
        "systemd",
        "sss",
    ]


def test_domain_on_trees(tmp_path: Path) -> None:
    sssd = tmp_path / "sssd"
    _write(sssd, {"/etc/sssd/sssd.conf": SSSD, "/etc/nsswitch.conf": "passwd: files sss\n"})
    facts = _provider(sssd).domain()
    assert facts == {"joined": True, "domain": "tinh.gov.vn", "method": "sssd (ad)"}
    DomainMembership.model_validate(facts)

    winbind = tmp_path / "winbind"
    _write(
        winbind,
        {
            "/etc/samba/smb.conf": "[global]\nsecurity = ADS\nrealm = TINH.GOV.VN\n",
            "/etc/nsswitch.conf": "passwd: files winbind\n",
        },
    )
    assert _provider(winbind).domain() == {"joined": True, "domain": "TINH.GOV.VN", "method": "winbind"}

    alone = tmp_path / "alone"
    _write(alone, {"/etc/nsswitch.conf": "passwd: files systemd\n", "/etc/sssd/sssd.conf": "garbage ][\n"})
    assert _provider(alone).domain() == {"joined": False, "domain": None, "method": None}


# --- package sources ------------------------------------------------------------------------------

DEB822 = """\
Types: deb
URIs: http://mirror.tinh.gov.vn/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Enabled: no

Types: deb
URIs: https://user:pw@[fd00::9]:8443/security
 file:/srv/repo
Suites: bookworm-security
"""


def test_apt_and_yum_uri_parsers() -> None:
    assert apt_list_uris(
        "deb [arch=amd64 signed-by=/k.gpg] http://a.vn/ubuntu jammy main\n"
        "# deb http://b/ x\ndeb-src http://c/ x\n"
    ) == ["http://a.vn/ubuntu", "http://c/"]
    assert apt_deb822_uris(DEB822) == [
        "http://mirror.tinh.gov.vn/debian",
        "https://user:pw@[fd00::9]:8443/security",
        "file:/srv/repo",
    ]
    repo = "[base]\nbaseurl=http://repo.tinh.gov.vn/el9/\n[epel]\nenabled=0\nmetalink=https://mirrors.fedoraproject.org/x\n"
    assert yum_repo_uris(repo) == ["http://repo.tinh.gov.vn/el9/"]


def test_package_sources_on_a_tree(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "/etc/apt/sources.list": "deb http://archive.ubuntu.com/ubuntu jammy main\n\x00\x01 garbage\n",
            "/etc/apt/sources.list.d/local.sources": DEB822,
        },
    )
    facts = _provider(tmp_path).package_sources()
    assert facts is not None
    PackageSources.model_validate(facts)
    assert facts["manager"] == "apt"
    assert [s["host"] for s in facts["sources"]] == [
        "archive.ubuntu.com",
        "mirror.tinh.gov.vn",
        "fd00::9",
        None,
    ]
    assert _provider(tmp_path / "nothing").package_sources() is None  # no package manager config


# --- the whole set on one tree, and garbage -------------------------------------------------------


def test_garbage_tree_never_breaks_the_report(tmp_path: Path) -> None:
    """Binary junk in every file the new facts read: each fact answers or fails alone, and what goes
    out validates."""
    junk = "\x00\xff[[[=\n]]]\n@@@\naction(type=\ndestination {\n"
    _write(
        tmp_path,
        dict.fromkeys(
            (
                "/proc/mounts",
                "/etc/audit/audit.rules",
                "/etc/systemd/journald.conf",
                "/etc/rsyslog.conf",
                "/etc/syslog-ng/syslog-ng.conf",
                "/etc/systemd/journal-upload.conf",
                "/etc/gdm3/custom.conf",
                "/etc/lightdm/lightdm.conf",
                "/etc/sddm.conf",
                "/etc/sssd/sssd.conf",
                "/etc/nsswitch.conf",
                "/etc/samba/smb.conf",
                "/etc/apt/sources.list",
                "/etc/apt/sources.list.d/x.sources",
            ),
            junk,
        ),
    )
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    facts, errors = collect_from(_provider(tmp_path))
    model = SecurityFacts.model_validate(facts)
    assert all(facts[name] is not None for name in NEW_FACTS), errors
    assert model.autologin is not None
    assert model.autologin.enabled is False
    assert not [e for e in errors if e["collector"].split(".")[1] in NEW_FACTS]


def test_missing_proc_mounts_fails_that_fact_alone(tmp_path: Path) -> None:
    facts, errors = collect_from(_provider(tmp_path))
    SecurityFacts.model_validate(facts)
    assert facts["disk_encryption"] is None
    assert "security.disk_encryption" in [e["collector"] for e in errors]
    assert facts["autologin"] == {"enabled": False, "entries": []}


PARSERS: list[Any] = [
    parse_proc_mounts,
    audit_rules_log_execve,
    lambda t: journal_storage([t]),
    rsyslog_targets,
    syslog_ng_targets,
    lambda t: [display_manager_autologin(k, t) for k in ("gdm", "lightdm", "sddm")],
    getty_autologin,
    sssd_domains,
    nsswitch_sources,
    apt_list_uris,
    apt_deb822_uris,
    yum_repo_uris,
]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.sampled_from([MOUNTS, RSYSLOG, SYSLOG_NG, SSSD, DEB822]))
def test_linux_parsers_never_raise(text: str) -> None:
    for parse in PARSERS:
        parse(text)


# --- Windows parsers ------------------------------------------------------------------------------


def test_windows_bitlocker() -> None:
    volumes = [
        {"DriveLetter": "C:", "ProtectionStatus": 1, "VolumeType": 0},
        {"DriveLetter": "D:", "ProtectionStatus": 0, "VolumeType": 1},
    ]
    facts = parse_bitlocker(volumes, "C:")
    DiskEncryption.model_validate(facts)
    assert facts["root_encrypted"] is True
    assert parse_bitlocker([{**volumes[0], "ProtectionStatus": 0}], "C:")["root_encrypted"] is False
    assert parse_bitlocker([{**volumes[0], "ProtectionStatus": 2}], "C:")["root_encrypted"] is None  # locked
    assert parse_bitlocker(None, None)["root_encrypted"] is None


def test_windows_audit() -> None:
    audit = {
        "process": [{"Subcategory": "Process Creation", "Inclusion Setting": "Success"}],
        "logon": {"Subcategory": "Logon", "Inclusion Setting": "Success and Failure"},
        "cmdline": 1,
        "eventlog": "Running",
        "sysmon": [],
        "security_log_bytes": 201326592,
    }
    facts = parse_audit_bundle(audit)
    AuditLogging.model_validate(facts)
    assert (facts["audit_running"], facts["process_audit"], facts["logon_audit"]) == (True, True, True)
    assert facts["persistent_logs"] is True
    no_failures = {**audit, "logon": [{"Inclusion Setting": "Success"}]}
    assert parse_audit_bundle(no_failures)["logon_audit"] is False
    assert parse_audit_bundle({**audit, "cmdline": None})["process_audit"] is False  # no command line
    assert parse_audit_bundle({**audit, "cmdline": None, "sysmon": "Running"})["process_audit"] is True
    localised = {**audit, "process": [{"Inclusion Setting": "Thành công"}]}
    assert parse_audit_bundle(localised)["process_audit"] is None  # not guessed
    assert parse_audit_bundle("nope")["audit_running"] is None


def test_windows_forwarding_autologin_domain_wsus() -> None:
    wef = parse_wef(["Server=http://wec.tinh.gov.vn:5985/wsman/SubscriptionManager/WEC,Refresh=60"])
    LogForwarding.model_validate(wef)
    assert wef["forwarding"] is True
    assert parse_wef(None)["forwarding"] is False
    assert (
        parse_winlogon({"AutoAdminLogon": "1", "DefaultUserName": "motcua"})["entries"][0]["user"] == "motcua"
    )
    assert parse_winlogon({"AutoAdminLogon": "0", "DefaultUserName": "motcua"})["enabled"] is False
    assert parse_computer_system({"PartOfDomain": True, "Domain": "tinh.gov.vn"})["joined"] is True
    assert parse_computer_system({"PartOfDomain": False, "Domain": "WORKGROUP"})["domain"] is None
    wsus = parse_wsus({"WUServer": "http://wsus.tinh.gov.vn:8530", "UseWUServer": 1})
    PackageSources.model_validate(wsus)
    assert wsus["sources"][0]["host"] == "wsus.tinh.gov.vn"
    assert (
        parse_wsus({"WUServer": "http://wsus.tinh.gov.vn:8530", "UseWUServer": 0})["sources"][0]["host"]
        == "windowsupdate.microsoft.com"
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_windows_parsers_never_raise_and_validate(value: Any) -> None:
    DiskEncryption.model_validate(parse_bitlocker(value, value))
    AuditLogging.model_validate(parse_audit_bundle(value))
    LogForwarding.model_validate(parse_wef(value))
    Autologin.model_validate(parse_winlogon(value))
    DomainMembership.model_validate(parse_computer_system(value))
    PackageSources.model_validate(parse_wsus(value))
