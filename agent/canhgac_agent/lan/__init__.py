"""The LAN sensor role: passive capture of ARP, DHCP, LLDP, CDP, mDNS and NetBIOS name service on the
site's LAN, a bounded device table, and detections (new device, rogue DHCP, ARP spoofing, IP conflict,
MAC flood) that travel in the agent's reports (`Report.lan`).

It needs the `lan` extra (scapy, plus the system's libpcap for kernel BPF filters) and CAP_NET_RAW. The
base agent never imports this package's capture modules: the runner loads them only when `[lan]
enabled = true`, the CLI only for `canhgac-agent lan watch`. This module itself imports nothing heavy.
"""

from __future__ import annotations

INSTALL_HINT = "pip install 'canhgac[lan]'"


class LanUnavailable(RuntimeError):
    """The sensor cannot run here (scapy or libpcap missing); the message says what to install."""


class CaptureNotPermitted(RuntimeError):
    """Opening a packet socket was refused: the process lacks CAP_NET_RAW."""


def capture_not_permitted_message(interface: str) -> str:
    """What to tell the operator when capture is refused (Vietnamese first, English beside it)."""
    return (
        f"Không được phép bắt gói tin trên {interface}: tiến trình cần quyền CAP_NET_RAW (systemd: "
        "AmbientCapabilities=CAP_NET_RAW và CapabilityBoundingSet=CAP_NET_RAW) — capture not permitted "
        f"on {interface}: the process needs CAP_NET_RAW (systemd unit: AmbientCapabilities=CAP_NET_RAW "
        "and CapabilityBoundingSet=CAP_NET_RAW)"
    )


def require_scapy() -> None:
    """Import scapy or raise `LanUnavailable` naming the extra to install."""
    try:
        import scapy.config  # noqa: F401
    except ImportError:
        raise LanUnavailable(f"Cảm biến LAN cần scapy — the LAN sensor needs scapy: {INSTALL_HINT}") from None
