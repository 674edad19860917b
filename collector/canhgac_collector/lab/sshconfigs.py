"""Realistic running configs for the SSH device simulator, any length, for each pulled platform.

Each config is the platform's usual shape (header, system services, one block per port, VLANs, footer)
with Vietnamese port descriptions, so tests and the bench see what a commune or district switch prints:
`sample_config("cisco_ios", "sw-xa-01", lines=1500)` has exactly 1,500 lines, each ending in "\n".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

_OFFICES = ("Văn phòng UBND", "Tư pháp", "Địa chính", "Kế toán", "Một cửa", "Công an xã", "Y tế")


def _office(i: int) -> str:
    return f"{_OFFICES[i % len(_OFFICES)]} {i}"


def _cisco(host: str) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        "Building configuration...",
        "",
        "Current configuration : 48213 bytes",
        "!",
        "! Last configuration change at 08:12:41 ICT Mon Dec 7 2026 by netadmin",
        "!",
        "version 15.2",
        "service timestamps log datetime msec localtime",
        "service password-encryption",
        "!",
        f"hostname {host}",
        "!",
        "enable secret 9 $9$Vd3kQm1Lr0aB2e$Kq9XwzP0rVbT3uHs8m1nLc5yA7fG2dJ4",
        "username netadmin privilege 15 secret 9 $9$h2Pq8sW0aZ1x$3nQvK8mT0bR5cL7yJ2dF9gH4",
        "aaa new-model",
        "ip domain-name xa.gov.vn",
        "ip ssh version 2",
        "!",
    ]

    def port(i: int) -> list[str]:
        return [
            f"interface GigabitEthernet1/0/{i}",
            f" description {_office(i)}",
            " switchport access vlan 10",
            " switchport mode access",
            " spanning-tree portfast",
            "!",
        ]

    tail = [
        "snmp-server community Xa-RO-2026 RO 10",
        "logging host 10.10.0.5",
        "ntp server 10.10.0.1",
        "line vty 0 4",
        " access-class 10 in",
        " transport input ssh",
        "!",
        "end",
    ]
    return head, port, tail


def _ruijie(host: str) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        "Building configuration...",
        "Current configuration : 31827 bytes",
        "",
        f"hostname {host}",
        "!",
        "enable secret 5 $1$Zx9q$Ab3dEf5gHi7jKl9mNo1pQ.",
        "username netadmin privilege 15 password 7 0822455D0A16",
        "!",
        "enable service ssh-server",
        "!",
    ]

    def port(i: int) -> list[str]:
        return [
            f"interface GigabitEthernet 0/{i}",
            f" description {_office(i)}",
            " switchport access vlan 10",
            "!",
        ]

    tail = ["snmp-server community Xa-RO ro", "line vty 0 4", " login local", "!", "end"]
    return head, port, tail


def _huawei(host: str) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        "!Software Version V200R019C10SPC500",
        "#",
        f" sysname {host}",
        "#",
        " vlan batch 10 20 99",
        "#",
        "aaa",
        " local-user netadmin password irreversible-cipher $1c$Ng:3Fq]Zp*$Uo0Bl1x2Yh$",
        " local-user netadmin privilege level 15",
        " local-user netadmin service-type ssh",
        "#",
    ]

    def port(i: int) -> list[str]:
        return [
            f"interface GigabitEthernet0/0/{i}",
            f" description {_office(i)}",
            " port link-type access",
            " port default vlan 10",
            "#",
        ]

    tail = [" stelnet server enable", "#", "user-interface vty 0 4", " protocol inbound ssh", "#", "return"]
    return head, port, tail


def _comware(host: str) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        "#",
        " version 7.1.070, Release 6328",
        "#",
        f" sysname {host}",
        "#",
        " ssh server enable",
        "#",
        "vlan 10",
        " name VP-UBND",
        "#",
    ]

    def port(i: int) -> list[str]:
        return [
            f"interface GigabitEthernet1/0/{i}",
            " port link-mode bridge",
            f" description {_office(i)}",
            " port access vlan 10",
            "#",
        ]

    tail = [
        "local-user netadmin class manage",
        " password hash $h$6$Wq1Rk2Lm3Np4$abcdefghijklmnop",
        " service-type ssh",
        "#",
        "return",
    ]
    return head, port, tail


def _junos(host: str) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        "set version 21.4R3-S4",
        f"set system host-name {host}",
        'set system root-authentication encrypted-password "$6$Qw1E$r2T3y4U5i6O7p8A9s0D"',
        "set system login user netadmin class super-user",
        "set system services ssh protocol-version v2",
        "set system syslog host 10.10.0.5 any notice",
        "set system ntp server 10.10.0.1",
    ]

    def port(i: int) -> list[str]:
        return [
            f'set interfaces ge-0/0/{i} description "{_office(i)}"',
            f"set interfaces ge-0/0/{i} unit 0 family ethernet-switching interface-mode access",
            f"set interfaces ge-0/0/{i} unit 0 family ethernet-switching vlan members VP-UBND",
        ]

    tail = ["set vlans VP-UBND vlan-id 10", "set snmp community Xa-RO authorization read-only"]
    return head, port, tail


def _jetstream(host: str) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        "!T2600G-28TS",
        "#",
        "vlan 10",
        ' name "VP-UBND"',
        "#",
        f'hostname "{host}"',
        "user name netadmin privilege admin secret 5 $1$Fx2Gy3Hz4$Ab1Cd2Ef3Gh4Ij5Kl6Mn7",
        "ip ssh server",
        "#",
    ]

    def port(i: int) -> list[str]:
        return [
            f"interface gigabitEthernet 1/0/{i}",
            f'  description "{_office(i)}"',
            "  switchport general allowed vlan 10 untagged",
            "  switchport pvid 10",
            "#",
        ]

    tail = ['snmp-server community "Xa-RO" read-only "viewDefault"', "#", "end"]
    return head, port, tail


def _routeros(host: str) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        "# 2026-12-07 08:12:41 by RouterOS 7.16.1",
        "# software id = 7KQ3-XR2M",
        "#",
        "# model = CRS326-24G-2S+",
        "/interface bridge",
        "add name=bridge1 vlan-filtering=yes",
        "/interface ethernet",
    ]

    def port(i: int) -> list[str]:
        return [
            f'set [ find default-name=ether{i} ] comment="{_office(i)}"',
            "/interface bridge port",
            f"add bridge=bridge1 interface=ether{i} pvid=10",
            "/interface ethernet",
        ]

    tail = [
        "/ip service",
        "set telnet disabled=yes",
        "/snmp community",
        "set [ find default=yes ] name=Xa-RO",
        "/system identity",
        f"set name={host}",
    ]
    return head, port, tail


_SHAPES = {
    "cisco_ios": _cisco,
    "cisco_xe": _cisco,
    "ruijie_os": _ruijie,
    "huawei": _huawei,
    "hp_comware": _comware,
    "juniper_junos": _junos,
    "tplink_jetstream": _jetstream,
    "mikrotik_routeros": _routeros,
}


def sample_config(platform: str, host: str, lines: int = 200) -> str:
    """A config of exactly `lines` lines (at least the header and footer) as `platform` prints it."""
    head, port, tail = _SHAPES[platform](host)

    def body() -> Iterator[str]:
        i = 1
        while True:
            yield from port(i)
            i += 1

    need = max(lines - len(head) - len(tail), 0)
    ports = body()
    middle = [next(ports) for _ in range(need)]
    return "".join(line + "\n" for line in (*head, *middle, *tail))
