"""Ethernet frames → observations the detector understands.

ARP and DHCP, the traffic attacks flood, are read with `struct` (a few µs a frame, so a flood does not
outrun the sensor); LLDP and CDP are plain TLV lists read the same way; mDNS and NetBIOS name service,
rare and with DNS-style name encoding, are dissected by scapy. Every field is bounded: names are cut to
`MAX_NAME` printable characters, option lists to a few entries. A malformed frame yields nothing.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, NamedTuple

BPF_FILTER = (
    "arp or (udp and (port 67 or port 68 or port 5353 or port 137)) "
    "or ether proto 0x88cc or ether dst 01:00:0c:cc:cc:cc"
)
MAX_NAME = 64
MAX_DNS_SERVERS = 4

ARP_REQUEST = 1
ARP_REPLY = 2
DHCP_DISCOVER, DHCP_OFFER, DHCP_REQUEST, DHCP_ACK = 1, 2, 3, 5
NO_IP = "0.0.0.0"


class ArpSeen(NamedTuple):
    op: int
    mac: str  # sender hardware address
    ip: str  # sender protocol address (0.0.0.0 in a probe)
    target_ip: str
    eth_src: str


class DhcpSeen(NamedTuple):
    msg_type: int
    eth_src: str
    src_ip: str
    client_mac: str
    your_ip: str
    server_id: str | None  # option 54
    router: str | None  # option 3, first address
    dns: tuple[str, ...]  # option 6
    hostname: str | None  # option 12


class NameSeen(NamedTuple):
    mac: str
    ip: str | None
    name: str
    source: str  # lldp | cdp | mdns | netbios


Observation = ArpSeen | DhcpSeen | NameSeen


def mac_text(raw: bytes) -> str:
    return raw.hex(":")


def clean_name(raw: bytes | str) -> str | None:
    """A printable, bounded name, or None when nothing printable is left."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = "".join(c for c in text if c.isprintable()).strip().rstrip(".")
    return text[:MAX_NAME] or None


def parse_frame(frame: bytes) -> Observation | None:
    """One observation from an Ethernet frame, or None (not ours, or malformed)."""
    if len(frame) < 14:
        return None
    eth_type = struct.unpack_from("!H", frame, 12)[0]
    offset = 14
    if eth_type == 0x8100 and len(frame) >= 18:  # one 802.1Q tag
        eth_type = struct.unpack_from("!H", frame, 16)[0]
        offset = 18
    src = mac_text(frame[6:12])
    try:
        if eth_type == 0x0806:
            return _arp(frame, offset, src)
        if eth_type == 0x0800:
            return _ipv4(frame, offset, src)
        if eth_type == 0x88CC:
            return _lldp(frame, offset, src)
        if eth_type <= 1500 and frame[:6] == b"\x01\x00\x0c\xcc\xcc\xcc":
            return _cdp(frame, offset, src)
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _arp(frame: bytes, at: int, src: str) -> ArpSeen | None:
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, at)
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4 or op not in (ARP_REQUEST, ARP_REPLY):
        return None
    body = frame[at + 8 : at + 28]
    if len(body) < 20:
        return None
    return ArpSeen(
        op=op,
        mac=mac_text(body[0:6]),
        ip=socket.inet_ntoa(body[6:10]),
        target_ip=socket.inet_ntoa(body[16:20]),
        eth_src=src,
    )


def _ipv4(frame: bytes, at: int, src: str) -> Observation | None:
    ihl = (frame[at] & 0x0F) * 4
    if frame[at] >> 4 != 4 or ihl < 20 or frame[at + 9] != 17:
        return None
    src_ip = socket.inet_ntoa(frame[at + 12 : at + 16])
    udp = at + ihl
    sport, dport = struct.unpack_from("!HH", frame, udp)
    payload = frame[udp + 8 :]
    if {sport, dport} & {67, 68}:
        return _dhcp(payload, src, src_ip)
    try:
        if sport == 5353 or dport == 5353:
            return _mdns(payload, src, src_ip)
        if sport == 137 or dport == 137:
            return _netbios(payload, src, src_ip)
    except Exception:  # scapy's dissectors raise many kinds of errors on garbage; a bad frame is skipped
        return None
    return None


def _dhcp(bootp: bytes, src: str, src_ip: str) -> DhcpSeen | None:
    if len(bootp) < 240 or bootp[236:240] != b"\x63\x82\x53\x63":
        return None
    options: dict[int, bytes] = {}
    i = 240
    while i < len(bootp) and len(options) < 64:
        code = bootp[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        length = bootp[i + 1]
        options.setdefault(code, bootp[i + 2 : i + 2 + length])
        i += 2 + length
    msg = options.get(53, b"")
    if len(msg) != 1:
        return None

    def address(code: int) -> str | None:
        value = options.get(code, b"")
        return socket.inet_ntoa(value[:4]) if len(value) >= 4 else None

    dns_raw = options.get(6, b"")
    dns = tuple(socket.inet_ntoa(dns_raw[k : k + 4]) for k in range(0, len(dns_raw) - 3, 4))
    hostname = options.get(12)
    return DhcpSeen(
        msg_type=msg[0],
        eth_src=src,
        src_ip=src_ip,
        client_mac=mac_text(bootp[28:34]),
        your_ip=socket.inet_ntoa(bootp[16:20]),
        server_id=address(54),
        router=address(3),
        dns=dns[:MAX_DNS_SERVERS],
        hostname=clean_name(hostname) if hostname else None,
    )


def _tlv_name(src: str, name: bytes, source: str) -> NameSeen | None:
    text = clean_name(name)
    return NameSeen(mac=src, ip=None, name=text, source=source) if text else None


def _lldp(frame: bytes, at: int, src: str) -> NameSeen | None:
    """LLDPDU: 7-bit type, 9-bit length TLVs; type 5 is the System Name."""
    end = len(frame)
    for _ in range(64):
        if at + 2 > end:
            return None
        header = struct.unpack_from("!H", frame, at)[0]
        kind, length = header >> 9, header & 0x1FF
        if kind == 0:
            return None
        if kind == 5:
            return _tlv_name(src, frame[at + 2 : at + 2 + length], "lldp")
        at += 2 + length
    return None


def _cdp(frame: bytes, at: int, src: str) -> NameSeen | None:
    """802.3 + LLC/SNAP (8 bytes), CDP header (4 bytes), then 16-bit type/length TLVs; 1 is Device ID."""
    at += 8 + 4
    end = len(frame)
    for _ in range(64):
        if at + 4 > end:
            return None
        kind, length = struct.unpack_from("!HH", frame, at)
        if length < 4:
            return None
        if kind == 0x0001:
            return _tlv_name(src, frame[at + 4 : at + length], "cdp")
        at += length
    return None


def _mdns(payload: bytes, src: str, src_ip: str) -> NameSeen | None:
    """The host name an mDNS response announces (the owner name of its first A/AAAA record)."""
    from scapy.layers.dns import DNS

    message: Any = DNS(payload)
    if not message.qr:
        return None
    for record in list(message.an or [])[:32]:
        if getattr(record, "type", None) in (1, 28):  # A, AAAA
            name = clean_name(record.rrname)
            if name:
                return NameSeen(mac=src, ip=src_ip, name=name, source="mdns")
    return None


def _netbios(payload: bytes, src: str, src_ip: str) -> NameSeen | None:
    """The name a host registers (or answers for) with NetBIOS name service."""
    from scapy.layers.netbios import NBNSHeader, NBNSQueryResponse, NBNSRegistrationRequest

    message: Any = NBNSHeader(payload)
    if message.haslayer(NBNSRegistrationRequest):
        raw = message[NBNSRegistrationRequest].QUESTION_NAME
    elif message.haslayer(NBNSQueryResponse):
        raw = message[NBNSQueryResponse].RR_NAME
    else:
        return None
    name = clean_name(raw)
    return NameSeen(mac=src, ip=src_ip, name=name, source="netbios") if name else None
