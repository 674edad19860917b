"""`canhgac-agent`: enroll, once, run, status, lan watch.

Exit codes: 0 ok · 1 other failure (server unreachable, state dir not writable, …) · 2 usage or config
error (the message names the file and the key) · 3 enrollment refused by the server · 130 interrupted.
Logs are key=value lines on stderr; stdout carries only the command's output (the report for `once`).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NoReturn

from canhgac_agent import __version__
from canhgac_agent.config import ENV_CONFIG, AgentConfig, ConfigError, configure_logging, fields, load_config

if TYPE_CHECKING:
    import argparse

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3

_log = logging.getLogger("canhgac_agent")


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="canhgac-agent",
        description="Tác tử Canh Gác: báo tình trạng máy, kết nối và an toàn thông tin về máy chủ / Canh "
        "Gác agent: reports host health, connectivity and security facts to the server.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"canhgac-agent {__version__}",
        help="in phiên bản / print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help=f"cấu hình tác tử / agent config (TOML); mặc định / default ${ENV_CONFIG} or "
            "/etc/canhgac-agent/agent.toml if present",
        )
        return p

    p = with_config(
        sub.add_parser(
            "enroll",
            help="đăng ký bằng khóa của đơn vị / exchange a site enrollment key for this agent's token",
        )
    )
    p.add_argument(
        "--server",
        metavar="URL",
        help="địa chỉ máy chủ / server URL (default: server_url from the config)",
    )
    p.add_argument(
        "--key",
        metavar="KEY",
        help="khóa đăng ký của đơn vị / site enrollment key; '-' reads it from stdin (default: "
        "enrollment_key from the config)",
    )
    p = with_config(
        sub.add_parser(
            "once", help="thu một báo cáo và in ra / collect one report and print it (no spool, no send)"
        )
    )
    p.add_argument("--json", action="store_true", help="một dòng JSON / one line of JSON (default: indented)")
    with_config(
        sub.add_parser(
            "run", help="thu, lưu đệm và gửi định kỳ / collect, spool and send every interval until stopped"
        )
    )
    p = with_config(
        sub.add_parser(
            "status",
            help="tình trạng đăng ký, hàng đợi, bộ đếm / enrollment, spool backlog, counters, last send",
        )
    )
    p.add_argument("--json", action="store_true", help="cho máy đọc / machine-readable output")
    lan = sub.add_parser("lan", help="cảm biến mạng LAN / the LAN sensor (needs the `lan` extra)")
    lan_sub = lan.add_subparsers(dest="lan_command", required=True, metavar="LAN_COMMAND")
    from canhgac_agent.lan.watch import add_arguments

    add_arguments(
        lan_sub.add_parser(
            "watch",
            help="nghe mạng LAN và in từng phát hiện / capture on the LAN and print each detection "
            "(exit 3: capture not permitted)",
        )
    )
    return parser


def _config(args: argparse.Namespace) -> AgentConfig:
    config = load_config(args.config)
    configure_logging(config.log_level)
    return config


def _read_state(config: AgentConfig) -> dict[str, Any]:
    from canhgac_agent.spool import STATE_FILE

    try:
        data = json.loads((config.state_dir / STATE_FILE).read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        _log.warning("cannot read state file", extra=fields(error=str(exc)))
        return {}
    return data if isinstance(data, dict) else {}


# --- commands ----------------------------------------------------------------------------------------


def cmd_enroll(args: argparse.Namespace) -> int:
    from canhgac_agent.runner import host_identity
    from canhgac_agent.sender import EnrollError, enroll, save_enrollment
    from canhgac_agent.spool import STATE_FILE, StateFile

    config = _config(args)
    server = args.server or config.server_url
    if not server:
        raise UsageError(
            f"chưa có máy chủ / no server: pass --server URL or set server_url in {config.source}"
        )
    if args.server:  # validate like the config file would
        from canhgac_agent.config import parse_config

        parse_config({"server_url": args.server}, "--server", env={})
    if args.key == "-":
        key = sys.stdin.readline().strip()
    elif args.key:
        key = args.key
    elif config.enrollment_key:
        key = config.enrollment_key.reveal()
    else:
        key = ""
    if not key:
        raise UsageError(
            f"chưa có khóa đăng ký / no enrollment key: pass --key KEY (or '-') or set enrollment_key in "
            f"{config.source}"
        )

    host = host_identity(config, [])
    try:
        reply = enroll(
            server,
            key,
            machine_id=host["machine_id"],
            hostname=host["hostname"],
            ca_file=config.tls.ca_file,
            verify=config.tls.verify,
            client_cert=config.tls.client_cert,
        )
    except EnrollError as exc:
        outcome = "bị từ chối / refused" if exc.refused else "không thành công / failed"
        print(f"canhgac-agent: đăng ký / enrollment {outcome}: {exc}", file=sys.stderr)
        return EXIT_REFUSED if exc.refused else EXIT_FAILURE
    state = StateFile(config.state_dir / STATE_FILE)
    previous = state.get("agent_id")
    save_enrollment(state, server, reply)
    print(
        f"đã đăng ký / enrolled: agent_id={reply['agent_id']} site={reply.get('site') or '-'} "
        f"state={state.path}"
    )
    if previous and previous != reply["agent_id"]:
        print(f"lưu ý / note: agent_id changed from {previous}; spooled reports will be re-stamped by `run`")
    return EXIT_OK


def cmd_once(args: argparse.Namespace) -> int:
    from canhgac_agent.runner import once_report

    report = once_report(_config(args))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, separators=(",", ":")))
    else:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from canhgac_agent.runner import Runner

    config = _config(args)
    try:
        runner = Runner(config)
    except OSError as exc:
        _log.error(
            "cannot open the state directory", extra=fields(path=str(config.state_dir), error=str(exc))
        )
        return EXIT_FAILURE

    def stop(signum: int, _frame: Any) -> None:
        _log.info("stopping", extra=fields(signal=signal.Signals(signum).name))
        runner.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.run()
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from canhgac_agent.spool import read_snapshot

    config = _config(args)
    state = _read_state(config)
    snapshot = read_snapshot(config.state_dir)
    counters = snapshot.counters if snapshot else None
    info: dict[str, Any] = {
        "agent_id": state.get("agent_id") or "unenrolled",
        "site": state.get("site"),
        "server_url": state.get("server_url") or config.server_url,
        "enrolled_at": state.get("enrolled_at"),
        "state_dir": str(config.state_dir),
        "spool_backlog": counters.backlog if counters else 0,
        "spool_backlog_bytes": counters.backlog_bytes if counters else 0,
        "spool_oldest": (
            datetime.fromtimestamp(counters.oldest_collected_at, UTC).isoformat(timespec="seconds")
            if counters and counters.oldest_collected_at is not None
            else None
        ),
        "spool_dropped_total": counters.dropped_total if counters else 0,
        "rejected_total": counters.rejected_total if counters else 0,
        "next_seq": counters.next_seq if counters else int(state.get("seq_high_water") or 0) + 1,
        "last_send": snapshot.last_send if snapshot else None,
        "settings": state.get("settings"),
    }
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return EXIT_OK
    for key, value in info.items():
        if key == "last_send" and isinstance(value, dict):
            shown = " ".join(f"{k}={v}" for k, v in value.items() if v not in (None, 0, ""))
            print(f"{key}: {shown}")
        elif key == "settings" and isinstance(value, dict):
            print(f"{key}: " + " ".join(f"{k}={v}" for k, v in value.items() if k != "probe_targets"))
        else:
            print(f"{key}: {'-' if value is None else value}")
    return EXIT_OK


def cmd_lan(args: argparse.Namespace) -> int:
    from canhgac_agent.lan.watch import watch

    return watch(args)


COMMANDS = {"enroll": cmd_enroll, "once": cmd_once, "run": cmd_run, "status": cmd_status, "lan": cmd_lan}


def _plain_run(argv: list[str]) -> SimpleNamespace | None:
    """`run` and `run --config FILE` (what the service runs), parsed without argparse: argparse, and
    the shutil, bz2 and lzma it imports, would stay in the long-running process (~1 MB of RSS).
    Anything else (options, `--help`, mistakes) goes through argparse."""
    if argv == ["run"]:
        return SimpleNamespace(command="run", config=None)
    if len(argv) == 3 and argv[:2] == ["run", "--config"] and argv[2] and not argv[2].startswith("-"):
        return SimpleNamespace(command="run", config=Path(argv[2]))
    if len(argv) == 2 and argv[0] == "run" and argv[1].startswith("--config=") and len(argv[1]) > 9:
        return SimpleNamespace(command="run", config=Path(argv[1][9:]))
    return None


def run_cli(argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, return the exit code."""
    args: Any = _plain_run(sys.argv[1:] if argv is None else argv) or _parser().parse_args(argv)
    if not logging.getLogger().handlers:
        configure_logging("info")
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"canhgac-agent: lỗi cấu hình / config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"canhgac-agent: lỗi / error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception:
        _log.exception("failed", extra=fields(command=args.command))
        return EXIT_FAILURE


def main() -> NoReturn:
    sys.exit(run_cli())
