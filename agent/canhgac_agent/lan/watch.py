"""`canhgac-agent lan watch`: run the sensor in the foreground and print each detection as it happens.

One line per event: `<time> <type> <message>`, or with `--json` the `LanEvent` object (type, time,
interface, mac, ip, detail, message); at the end, each interface's packets seen and dropped by the kernel
on stderr. Exit 0 at the end of `--duration` (or on SIGINT/SIGTERM), 2 on
usage errors, 3 when capture is not permitted (the message names CAP_NET_RAW), 1 when the sensor cannot
run here (scapy or libpcap missing: the message says what to install).
"""

from __future__ import annotations

import ipaddress
import json
import re
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canhgac_agent.lan import CaptureNotPermitted, LanUnavailable

if TYPE_CHECKING:
    import argparse

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_PERMITTED = 3
MAC = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")
INTERFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")


class WatchUsageError(ValueError):
    """A bad `lan watch` argument (exit 2)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--interface",
        action="append",
        required=True,
        metavar="IF",
        help="giao diện để nghe (lặp lại được) / interface to capture on (repeatable)",
    )
    p.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="dừng sau S giây / stop after S seconds (default: until interrupted)",
    )
    p.add_argument(
        "--dhcp-server",
        action="append",
        default=[],
        metavar="IP",
        help="máy chủ DHCP hợp lệ / approved DHCP server (repeatable); none: rogue DHCP check off",
    )
    p.add_argument(
        "--gateway",
        action="append",
        default=[],
        metavar="IP",
        help="gateway cần canh giả mạo ARP / gateway to guard against ARP spoofing (repeatable)",
    )
    p.add_argument(
        "--approved-mac",
        action="append",
        default=[],
        metavar="MAC",
        help="MAC đã biết, không báo thiết bị mới / known MAC, never announced as new",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="lưu các MAC đã thấy / keep the seen-MAC set here across runs (default: memory only)",
    )
    p.add_argument(
        "--mac-flood-per-min",
        type=int,
        default=200,
        metavar="N",
        help="ngưỡng MAC mới mỗi phút / new MACs per minute above which a MAC flood is reported",
    )
    p.add_argument(
        "--hold",
        type=float,
        default=600.0,
        metavar="S",
        help="không báo lặp trong S giây / seconds a detection is not repeated",
    )
    p.add_argument("--json", action="store_true", help="mỗi dòng một JSON / one JSON object per line")


def _ips(values: list[str], option: str) -> frozenset[str]:
    out = set()
    for value in values:
        try:
            out.add(str(ipaddress.IPv4Address(value)))
        except ValueError:
            raise WatchUsageError(f"{option}: not an IPv4 address: {value!r}") from None
    return frozenset(out)


def settings_from_args(args: argparse.Namespace) -> Any:
    """`SensorSettings` from the command line, or WatchUsageError naming the option."""
    from canhgac_agent.lan.detect import DetectorSettings
    from canhgac_agent.lan.sensor import SensorSettings

    for name in args.interface:
        if not INTERFACE.fullmatch(name):
            raise WatchUsageError(f"--interface: not an interface name: {name!r}")
    macs = set()
    for mac in args.approved_mac:
        if not MAC.fullmatch(mac.lower()):
            raise WatchUsageError(f"--approved-mac: not a MAC address: {mac!r}")
        macs.add(mac.lower().replace("-", ":"))
    if args.duration is not None and not 0 < args.duration <= 31 * 86400:
        raise WatchUsageError("--duration: must be above 0 and at most 31 days")
    if not 1 <= args.mac_flood_per_min <= 100_000:
        raise WatchUsageError("--mac-flood-per-min: must be between 1 and 100000")
    if not 0 < args.hold <= 7 * 86400:
        raise WatchUsageError("--hold: must be above 0 and at most 7 days")
    if args.state_dir is not None and not args.state_dir.is_dir():
        raise WatchUsageError(f"--state-dir: not a directory: {args.state_dir}")
    return SensorSettings(
        interfaces=tuple(dict.fromkeys(args.interface)),
        detector=DetectorSettings(
            approved_dhcp_servers=_ips(args.dhcp_server, "--dhcp-server"),
            gateways=_ips(args.gateway, "--gateway"),
            approved_macs=frozenset(macs),
            mac_flood_per_min=args.mac_flood_per_min,
            hold_s=args.hold,
        ),
        state_dir=args.state_dir,
    )


def _printer(as_json: bool) -> Any:
    lock = threading.Lock()

    def show(event: dict[str, Any]) -> None:
        line = (
            json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            if as_json
            else f"{event['time']} {event['type']} {event['message']}"
        )
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    return show


def watch(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
    except WatchUsageError as exc:
        print(f"canhgac-agent lan watch: lỗi / error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from canhgac_agent.lan.sensor import LanSensor

        sensor = LanSensor(settings, on_event=_printer(args.json))
        sensor.start(strict=True)
    except CaptureNotPermitted as exc:
        print(f"canhgac-agent lan watch: {exc}", file=sys.stderr)
        return EXIT_NOT_PERMITTED
    except (LanUnavailable, OSError) as exc:
        print(f"canhgac-agent lan watch: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        done.wait(args.duration)
    finally:
        sensor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for capture in sensor.captures.values():  # the sensor's health, on stderr: stdout is for events
        print(
            f"canhgac-agent lan watch: {capture.interface}: đã thấy / packets seen {capture.seen}, "
            f"nhân bỏ / dropped by the kernel {capture.dropped}",
            file=sys.stderr,
        )
    return EXIT_OK
