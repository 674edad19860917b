"""Config text for the history tests: each platform's secret syntaxes (from the vendors' command
references) with the masked line expected, and each platform's volatile lines."""

from __future__ import annotations

# ruff: noqa: E501 (device lines are kept whole, as the device prints them)

# (line as the device prints it, the same line masked)
MASK_CASES: dict[str, list[tuple[str, str]]] = {
    "cisco_ios": [
        (
            "enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM",
            "enable secret 9 ******",
        ),
        ("enable password 7 0822455D0A16", "enable password 7 ******"),
        (
            "username admin privilege 15 secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
            "username admin privilege 15 secret 5 ******",
        ),
        ("username backup password 0 Backup#Pass1", "username backup password 0 ******"),
        ("snmp-server community Pr0v1nce RO 10", "snmp-server community ****** RO 10"),
        ("snmp-server community Wr1teC0mm RW", "snmp-server community ****** RW"),
        ("snmp-server host 10.0.0.5 version 2c TrapC0mm", "snmp-server host 10.0.0.5 version 2c ******"),
        (
            "snmp-server user nms NMS v3 auth sha AuthK3y99 priv aes 128 PrivK3y99",
            "snmp-server user nms NMS v3 auth sha ****** priv aes 128 ******",
        ),
        ("tacacs-server key 7 045802150C2E", "tacacs-server key 7 ******"),
        (" key 7 094F471A1A0A", " key 7 ******"),
        (
            "radius-server host 10.0.0.9 auth-port 1812 key RadK3y",
            "radius-server host 10.0.0.9 auth-port 1812 key ******",
        ),
        (" key-string 7 070C285F4D06", " key-string 7 ******"),
        (" ip ospf message-digest-key 1 md5 0spfK3y", " ip ospf message-digest-key 1 md5 ******"),
        (" ip ospf authentication-key 0spfPl41n", " ip ospf authentication-key ******"),
        (" neighbor 10.0.0.2 password 7 13061E010803", " neighbor 10.0.0.2 password 7 ******"),
        ("crypto isakmp key IkePsk123 address 203.0.113.1", "crypto isakmp key ****** address 203.0.113.1"),
        (
            " pre-shared-key address 0.0.0.0 0.0.0.0 key KeyRingPsk",
            " pre-shared-key address 0.0.0.0 0.0.0.0 key ******",
        ),
        ("ntp authentication-key 1 md5 NtpK3y1 7", "ntp authentication-key 1 md5 ****** 7"),
    ],
    "huawei": [
        (
            " local-user admin password irreversible-cipher $1a$Xx;LK0#R\\$",
            " local-user admin password irreversible-cipher ******",
        ),
        ("snmp-agent community read cipher %^%#Fq1U+Z~vJ$%^%#", "snmp-agent community read cipher ******"),
        ("snmp-agent community write Publ1cW", "snmp-agent community write ******"),
        (
            "snmp-agent usm-user v3 nms authentication-mode sha cipher %^%#AuThK%^%# privacy-mode aes128 cipher %^%#PrIvK%^%#",
            "snmp-agent usm-user v3 nms authentication-mode sha cipher ****** privacy-mode aes128 cipher ******",
        ),
        (" super password level 15 cipher %^%#SuPeR%^%#", " super password level 15 cipher ******"),
        (" hwtacacs-server shared-key cipher %^%#TaCaCs%^%#", " hwtacacs-server shared-key cipher ******"),
        (" radius-server shared-key cipher %^%#RaDiUs%^%#", " radius-server shared-key cipher ******"),
        (" pre-shared-key cipher %^%#IkEpSk%^%#", " pre-shared-key cipher ******"),
        (
            " ospf authentication-mode md5 1 cipher %^%#0sPf%^%#",
            " ospf authentication-mode md5 1 cipher ******",
        ),
    ],
    "hp_comware": [
        (" password hash $h$6$Zz9P$AbCdEf==", " password hash ******"),
        (" password simple Pl41nPass", " password simple ******"),
        (" snmp-agent community read simple C0mmRead", " snmp-agent community read simple ******"),
        (" snmp-agent community write cipher $c$3$W1rTe==", " snmp-agent community write cipher ******"),
        (
            " snmp-agent usm-user v3 nms grp simple authentication-mode sha AuTh99Key privacy-mode aes128 PrIv99Key",
            " snmp-agent usm-user v3 nms grp simple authentication-mode sha ****** privacy-mode aes128 ******",
        ),
        (" key authentication cipher $c$3$RaDkEy==", " key authentication cipher ******"),
        (
            " super password role network-admin hash $h$6$SuPer==",
            " super password role network-admin hash ******",
        ),
        (" pre-shared-key cipher $c$3$IkEpSk==", " pre-shared-key cipher ******"),
    ],
    "juniper_junos": [
        (
            '        encrypted-password "$6$abc$DeF"; ## SECRET-DATA',
            "        encrypted-password ******; ## SECRET-DATA",
        ),
        ('    secret "$9$TaCaCs"; ## SECRET-DATA', "    secret ******; ## SECRET-DATA"),
        (
            '            pre-shared-key ascii-text "$9$IkEpSk"; ## SECRET-DATA',
            "            pre-shared-key ascii-text ******; ## SECRET-DATA",
        ),
        (
            'set system root-authentication encrypted-password "$6$xyz$UvW"',
            "set system root-authentication encrypted-password ******",
        ),
        (
            "set snmp community Pr0v1nceJ authorization read-only",
            "set snmp community ****** authorization read-only",
        ),
        (
            'set protocols ospf area 0 interface ge-0/0/0 authentication md5 1 key "$9$0sPf"',
            "set protocols ospf area 0 interface ge-0/0/0 authentication md5 1 key ******",
        ),
    ],
    "mikrotik_routeros": [
        (
            "/user add group=full name=backup password=Us3rP4ss",
            "/user add group=full name=backup password=******",
        ),
        (
            '/ppp secret add name=vpn1 password="with space" service=l2tp',
            "/ppp secret add name=vpn1 password=****** service=l2tp",
        ),
        (
            "add address=10.0.0.9 secret=RadS3cret service=login",
            "add address=10.0.0.9 secret=****** service=login",
        ),
        (
            "set [ find default=yes ] wpa2-pre-shared-key=W1f1Key!",
            "set [ find default=yes ] wpa2-pre-shared-key=******",
        ),
        (
            'add listen-port=13231 name=wg1 private-key="aGVsbG8gd29ybGQ="',
            "add listen-port=13231 name=wg1 private-key=******",
        ),
        ("/snmp set enabled=yes trap-community=Tr4pC0mm", "/snmp set enabled=yes trap-community=******"),
    ],
    "tplink_jetstream": [
        (
            "user name admin privilege admin secret 5 $1$E3P2D1$abcDEF",
            "user name admin privilege admin secret 5 ******",
        ),
        (
            "user name ops privilege admin password 0 0psPass1",
            "user name ops privilege admin password 0 ******",
        ),
        ("enable secret 5 $1$Q8Q8$EnAbLe", "enable secret 5 ******"),
        ("snmp-server community Tpl1nkC read-only", "snmp-server community ****** read-only"),
        (
            "snmp-server user nms remote nmsgrp smode v3 slev authPriv cmode SHA cpwd AuthTp99 emode DES epwd PrivTp99",
            "snmp-server user nms remote nmsgrp smode v3 slev authPriv cmode SHA cpwd ****** emode DES epwd ******",
        ),
        ("tacacs-server host 10.0.0.9 key 0 T4cK3y", "tacacs-server host 10.0.0.9 key 0 ******"),
        (
            "radius-server host 10.0.0.9 auth-port 1812 key 0 R4dK3y",
            "radius-server host 10.0.0.9 auth-port 1812 key 0 ******",
        ),
    ],
    "ruijie_os": [
        ("enable secret 5 $1$Ruij$EnAbLe", "enable secret 5 ******"),
        ("username admin password 7 0b2a3c4d5e", "username admin password 7 ******"),
        ("snmp-server community 7 04151b0d1d0a rw", "snmp-server community 7 ****** rw"),
        (
            "snmp-server user nms grp v3 auth sha RuAuth99 priv aes128 RuPriv99",
            "snmp-server user nms grp v3 auth sha ****** priv aes128 ******",
        ),
        ("radius-server key 7 0a1b2c3d", "radius-server key 7 ******"),
        ("tacacs-server key 7 0a1b2c3e", "tacacs-server key 7 ******"),
    ],
}

CISCO_V1 = """Building configuration...

Current configuration : 1450 bytes
!
! Last configuration change at 10:01:02 ICT Mon Dec 7 2026 by admin
! NVRAM config last updated at 10:01:05 ICT Mon Dec 7 2026 by admin
!
version 15.2
hostname sw-a1
!
enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM
username admin privilege 15 secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0
!
crypto pki certificate chain TP-self-signed-1234
 certificate self-signed 01
  3082022B 30820194 A0030201 02020101 300D0609 2A864886 F70D0101 05050030
  31312F30 2D060355 04031326 494F532D 53656C66 2D536967 6E65642D 43657274
 \tquit
!
interface GigabitEthernet0/1
 description uplink
 switchport mode trunk
!
interface GigabitEthernet0/2
 switchport access vlan 10
!
snmp-server community Pr0v1nce RO 10
ntp clock-period 36028797
ntp server 10.0.0.1
!
line vty 0 4
 transport input ssh
!
end
"""

# Only volatile lines differ: new timestamps, NTP drift, the certificate re-rendered, CRLF endings.
CISCO_V1_VOLATILE = (
    CISCO_V1.replace("10:01:02 ICT Mon Dec 7", "08:15:44 ICT Tue Dec 8")
    .replace("10:01:05 ICT Mon Dec 7", "08:15:47 ICT Tue Dec 8")
    .replace("Current configuration : 1450 bytes", "Current configuration : 1452 bytes")
    .replace("ntp clock-period 36028797", "ntp clock-period 36028801")
    .replace("3082022B 30820194", "3082022C 30820195")
    .replace("\n", "\r\n")
)

# A real change: the trunk port became an access port, and the community changed.
CISCO_V2 = CISCO_V1.replace(" switchport mode trunk\n", " switchport access vlan 20\n").replace(
    "snmp-server community Pr0v1nce RO 10", "snmp-server community N3wC0mm RO 10"
)

# platform → (config, the same config with only volatile lines changed)
VOLATILE_PAIRS: dict[str, tuple[str, str]] = {
    "cisco_ios": (CISCO_V1, CISCO_V1_VOLATILE),
    "huawei": (
        "!Software Version V200R019C10SPC500\n!Last configuration was updated at 2026-12-07 10:00:00+07:00\n"
        "#\nsysname sw-core\n#\nsnmp-agent\n#\nreturn\n",
        "!Software Version V200R019C10SPC500\n!Last configuration was updated at 2026-12-08 09:13:51+07:00\n"
        "#\nsysname sw-core\n#\nsnmp-agent\n#\nreturn\n",
    ),
    "juniper_junos": (
        "## Last commit: 2026-12-07 10:00:00 ICT by admin\nversion 21.4R3;\nsystem {\n    host-name r1;\n}\n",
        "## Last commit: 2026-12-08 11:11:11 ICT by ops\nversion 21.4R3;\nsystem {\n    host-name r1;\n}\n",
    ),
    "mikrotik_routeros": (
        "# jan/02/2026 10:00:00 by RouterOS 6.49.10\n# software id = ABCD-1234\n/system identity\n"
        "set name=gw-xa\n",
        "# dec/08/2026 09:13:51 by RouterOS 6.49.10\n# software id = ABCD-1234\n/system identity\n"
        "set name=gw-xa\n",
    ),
    "hp_comware": (
        "#\n version 7.1.070, Release 3208P10\n#\n sysname sw-h3c\n#\nreturn\n",
        "#\n version 7.1.070, Release 3208P10\n#\n sysname sw-h3c   \n#\nreturn\n\n\n",
    ),
}
