"""A packet socket on one interface with the sensor's kernel BPF filter, so only ARP, DHCP, LLDP, CDP,
mDNS and NetBIOS frames reach Python; it also reports the kernel's own counters (PACKET_STATISTICS).

Linux (AF_PACKET). The filter is compiled by libpcap through scapy (`compile_filter`), attached before
the socket is bound so no unfiltered frame is ever queued. Windows (Npcap) is designed, not built: see
docs/lan-sensor.md.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys

from canhgac_agent.lan import CaptureNotPermitted, LanUnavailable, capture_not_permitted_message
from canhgac_agent.lan.packets import BPF_FILTER

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
RECV_BUFFER = 4 * 1024 * 1024  # absorbs a burst of ~20,000 small frames while Python catches up
DLT_EN10MB = 1


def _attach_filter(sock: socket.socket, expression: str) -> None:
    """Compile `expression` with libpcap (through scapy) and attach it to `sock` in the kernel."""
    try:
        from scapy.arch.common import compile_filter, free_filter
        from scapy.libs.structures import sock_fprog
    except ImportError as exc:
        raise LanUnavailable(f"scapy không dùng được — scapy unusable: {exc}") from None
    try:
        program = compile_filter(expression, linktype=DLT_EN10MB)
    except ImportError:
        raise LanUnavailable(
            "Thiếu libpcap để dịch bộ lọc BPF — libpcap is missing to compile the BPF filter: "
            "install the system package libpcap0.8 (Debian/Ubuntu: apt install libpcap0.8; "
            "scripts/install-system-deps)"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, sock_fprog(program.bf_len, program.bf_insns))
    finally:
        free_filter(program)


class Capture:
    """One interface's filtered packet socket (promiscuous)."""

    def __init__(self, interface: str, expression: str = BPF_FILTER) -> None:
        if not sys.platform.startswith("linux"):
            raise LanUnavailable(
                "Cảm biến LAN hiện chỉ chạy trên Linux — the LAN sensor runs on Linux only for now "
                "(Windows over Npcap is designed, not built: docs/lan-sensor.md)"
            )
        self.interface = interface
        self.seen = 0  # cumulative since opened
        self.dropped = 0
        self.closed = False
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: nothing queued yet
        except PermissionError:
            raise CaptureNotPermitted(capture_not_permitted_message(interface)) from None
        try:
            _attach_filter(sock, expression)
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECV_BUFFER)
            except PermissionError:  # without CAP_NET_ADMIN: as large as net.core.rmem_max allows
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
            try:
                index = socket.if_nametoindex(interface)
            except OSError:
                raise LanUnavailable(
                    f"Không có giao diện mạng {interface} — no such network interface: {interface}"
                ) from None
            sock.bind((interface, ETH_P_ALL))
            membership = struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, membership)
            sock.settimeout(0.5)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def receive(self) -> bytes | None:
        """The next frame received on the interface, or None after half a second without one (so the
        caller can check for stop). Frames this host sends (e.g. the sweep's requests) are skipped."""
        try:
            data, address = self.sock.recvfrom(65535)
        except TimeoutError:
            return None
        if address[2] == PACKET_OUTGOING:
            return None
        return data

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    def update_stats(self) -> None:
        """Add the kernel's counters (it resets them on read) to `seen`, the frames that passed the filter
        (dropped ones included), and `dropped`, those the kernel dropped for lack of buffer."""
        if self.closed:
            return
        packets, drops = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        self.seen += packets
        self.dropped += drops

    def close(self) -> None:
        """Close the socket, keeping its last counters."""
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self.update_stats()
        self.closed = True
        self.sock.close()
