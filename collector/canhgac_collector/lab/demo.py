"""`canhgac demo`: the server plus a simulated province on loopback, with real agent processes.

Everything stays on 127.0.0.1: agents probe only the demo server. One commune reaches the server
through a simulated WAN link that drops for a while every few minutes, so the operator can watch its
hosts go stale/down, its agents spool, and every spooled report arrive once the link is back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:  # the lab extra is imported only when the demo serves switches
    from canhgac_collector.lab.demo_configs import DemoConfigLab
    from canhgac_collector.lab.snmpsim import SnmpsimFleet

# (code, Vietnamese name, English name, kind, level, parent code or None)
DEMO_SITES: list[tuple[str, str, str, str, int | None, str | None]] = [
    ("HT", "Tỉnh Hà Tĩnh", "Ha Tinh province", "province", 3, None),
    ("HT-TTDL", "Trung tâm dữ liệu tỉnh", "Provincial data center", "datacenter", 3, "HT"),
    ("HT-CAMXUYEN", "Xã Cẩm Xuyên", "Cam Xuyen commune", "commune", 2, "HT"),
    ("HT-HONGLINH", "Phường Hồng Lĩnh", "Hong Linh ward", "ward", 2, "HT"),
    ("HT-THACHHA", "Xã Thạch Hà", "Thach Ha commune", "commune", 2, "HT"),
    ("HT-THACHHA-MC", "Bộ phận một cửa xã Thạch Hà", "Thach Ha one-stop desk", "office", None, "HT-THACHHA"),
]
FLAKY_SITES = {"HT-THACHHA", "HT-THACHHA-MC"}  # reach the server through the simulated link
AGENT_SITES = ["HT-CAMXUYEN", "HT-HONGLINH", "HT-THACHHA", "HT-THACHHA-MC", "HT-TTDL"]
# Generated switches: the core at the provincial data center, access switches in the communes.
SWITCH_SITES = ["HT-TTDL", "HT-CAMXUYEN", "HT-HONGLINH", "HT-THACHHA", "HT-THACHHA-MC"]
# Real device dumps from snmpsim-data, served beside the generated switches: name → (community, role).
RECORDED_DEVICES = {
    "ht-ttdl-c3750": ("network/switch/cisco-c3750", "distribution"),  # with transceiver sensors
    "ht-ttdl-s5720": ("network/router/huawei-s5720", "router"),
}
RECORDED_SITE = "HT-TTDL"
LAB_INSTALL_HINT = "pip install 'canhgac[lab]'  (scripts/demo installs it)"


class LinkSimulator:
    """A TCP relay standing in for a commune's WAN link; `set_up(False)` cuts it (refuses and drops)."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self._up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="link-sim", daemon=True)

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def start(self) -> None:
        self._up.set()
        self._thread.start()

    def set_up(self, up: bool) -> None:
        (self._up.set if up else self._up.clear)()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        listener: socket.socket | None = None
        pairs: dict[socket.socket, socket.socket] = {}

        def close_all() -> None:
            for s in list(pairs):
                with contextlib.suppress(Exception):
                    sel.unregister(s)
                s.close()
            pairs.clear()

        while not self._stop.is_set():
            if self._up.is_set() and listener is None:
                listener = socket.socket()
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", self.listen_port))
                listener.listen(64)
                listener.setblocking(False)
                sel.register(listener, selectors.EVENT_READ)
            elif not self._up.is_set() and listener is not None:
                sel.unregister(listener)
                listener.close()
                listener = None
                close_all()
            for key, _ in sel.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is listener:
                    client, _addr = listener.accept()
                    try:
                        upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
                    except OSError:
                        client.close()
                        continue
                    for s in (client, upstream):
                        s.setblocking(False)
                        sel.register(s, selectors.EVENT_READ)
                    pairs[client], pairs[upstream] = upstream, client
                    continue
                peer = pairs.get(sock)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data or peer is None:
                    for end in (sock, peer):
                        if end is not None:
                            with contextlib.suppress(Exception):
                                sel.unregister(end)
                            end.close()
                            pairs.pop(end, None)
                    continue
                with contextlib.suppress(OSError):
                    peer.setblocking(True)
                    peer.sendall(data)
                    peer.setblocking(False)
        close_all()
        if listener is not None:
            listener.close()


@dataclass(frozen=True)
class DemoDevice:
    """A simulated switch as the demo's server.yaml lists it."""

    name: str
    site: str
    role: str
    community: str
    port: int
    generated: bool
    ssh: dict[str, Any] | None = None  # the SSH simulator's login, for config backups

    def config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "address": "127.0.0.1",
            "port": self.port,
            "site": self.site,
            "role": self.role,
            "snmp": {"version": "2c", "community": self.community},
        }
        if self.ssh is not None:
            entry["ssh"] = self.ssh
        return entry


def lab_missing() -> str | None:
    """Which lab package is missing (snmpsim serves the demo's switches), or None."""
    for module, package in (
        ("snmpsim", "snmpsim"),
        ("snmpsim_data", "snmpsim-data"),
        ("pysmi", "pysmi"),
        ("asyncssh", "asyncssh"),
    ):
        if importlib.util.find_spec(module) is None:
            return package
    return None


def start_switch_lab(data_dir: Path, switches: int) -> tuple[SnmpsimFleet, list[DemoDevice]]:
    """Generate `switches` recordings for the demo sites, add the real ones, and serve them all.

    Returns the running `SnmpsimFleet` (the caller stops it) and the devices for server.yaml.
    """
    from canhgac_collector.lab.province import generate_province
    from canhgac_collector.lab.snmpsim import SnmpsimFleet, snmpsim_data_recordings

    lab_dir = data_dir / "lab"
    generated = generate_province(lab_dir / "recordings", sites=SWITCH_SITES, devices=switches, seed=1)
    real = snmpsim_data_recordings()
    served: dict[str, Path] = {d.community: d.recording for d in generated}
    served |= {community: real[community] for community, _role in RECORDED_DEVICES.values()}
    fleet = SnmpsimFleet(served, lab_dir / "snmpsim", per_process=40).start()
    try:
        devices = [
            DemoDevice(d.name, d.site, d.role, d.community, fleet.endpoint(d.community)[1], True)
            for d in generated
        ]
        devices += [
            DemoDevice(name, RECORDED_SITE, role, community, fleet.endpoint(community)[1], False)
            for name, (community, role) in RECORDED_DEVICES.items()
        ]
    except BaseException:
        fleet.stop()
        raise
    return fleet, devices


@dataclass
class DemoLayout:
    data_dir: Path
    port: int
    link_port: int
    interval: float

    @property
    def config_path(self) -> Path:
        return self.data_dir / "server.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_server_config(layout: DemoLayout, devices: list[DemoDevice] | None = None) -> dict[str, str]:
    """The demo province (sites, and the simulated switches) as server.yaml; returns site → enrollment key."""
    keys = {code: f"demo-{code.lower()}-{secrets.token_hex(8)}" for code, *_ in DEMO_SITES}
    nodes: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    base = f"http://127.0.0.1:{layout.port}"
    for code, name, name_en, kind, level, parent in DEMO_SITES:
        node: dict[str, Any] = {
            "code": code,
            "name": name,
            "name_en": name_en,
            "kind": kind,
            "enrollment_keys": [keys[code]],
            "children": [],
        }
        if level:
            node["level"] = level
        if kind == "province":
            node["contacts"] = [{"name": "Trực vận hành tỉnh", "email": "noc@example.gov.vn"}]
            node["probe_targets"] = [  # loopback only: the demo never probes anything else
                {"name": "provincial-dc", "kind": "tcp", "host": "127.0.0.1", "port": layout.port},
                {"name": "egov-portal", "kind": "http", "url": f"{base}/api/v1/health"},
                {"name": "egov-dns", "kind": "dns", "host": "localhost"},
                {"name": "internet", "kind": "icmp", "host": "127.0.0.1", "port": layout.port},
            ]
        else:
            node["contacts"] = [
                {"name": f"Cán bộ CNTT {name}", "email": f"cntt.{code.lower()}@example.gov.vn"}
            ]
        nodes[code] = node
        (nodes[parent]["children"] if parent else roots).append(node)
    config = {
        "listen": {"host": "127.0.0.1", "port": layout.port},
        "database_url": "sqlite:///canhgac.sqlite",
        "public_url": base,
        "host_state": {
            "stale_after_s": layout.interval * 3,
            "down_after_s": layout.interval * 6,
            "check_interval_s": 2,
        },
        "agent_defaults": {
            "interval_s": layout.interval,
            "security_interval_s": 60,
            "batch_max": 100,
            "probe_gateway": False,
            "probe_count": 3,
            "probe_timeout_s": 1.0,
        },
        "sites": roots,
        # Scan every site at its declared level soon after start, then every 3 minutes: the compliance
        # API, `canhgac_compliance_score_ratio` and the Compliance dashboard have data to show.
        "compliance": {"enabled": True, "interval_h": 0.05},
    }
    if devices:
        config["snmp"] = {"poll_interval_s": 30, "timeout_s": 2.0, "retries": 1}
        config["devices"] = [d.config() for d in devices]
        # Backups soon after start, then hourly; "pull now" (the demo's config change) at once.
        config["device_configs"] = {"initial_delay_s": 3, "check_interval_s": 5, "pull_interval_h": 1}
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    header = "# Generated by `canhgac demo`: a simulated province on loopback.\n"
    layout.config_path.write_text(
        header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return keys


def write_agent_config(layout: DemoLayout, index: int, site: str, key: str) -> Path:
    port = layout.link_port if site in FLAKY_SITES else layout.port
    state_dir = layout.data_dir / "agents" / f"pc-{index:02d}"
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "agent.toml"
    path.write_text(
        f'server_url = "http://127.0.0.1:{port}"\n'
        f'enrollment_key = "{key}"\n'
        f'state_dir = "{state_dir}"\n'
        f"interval_s = {layout.interval}\n"
        "[identity]\n"
        f'machine_id = "demo-{site.lower()}-{index:02d}"\n'
        f'hostname = "{site.lower().removeprefix("ht-")}-pc{index:02d}"\n'
        "[probes]\ngateway = false\n",
        encoding="utf-8",
    )
    return path


def _get_json(url: str, token: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - loopback
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
        return json.loads(resp.read())


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not become healthy within 60 s")


def _fleet_line(fleet: SnmpsimFleet | None, devices: list[DemoDevice]) -> str:
    """One line per snmpsim fleet: what it serves and a command to look at one switch."""
    if fleet is None or not devices:
        return ""
    generated = sum(d.generated for d in devices)
    example = devices[min(1, len(devices) - 1)]
    ports = ", ".join(str(p) for p in fleet.ports)
    return (
        f"  switches   {len(devices)} thiết bị mạng / devices on snmpsim 127.0.0.1:{ports} "
        f"({generated} generated, {len(devices) - generated} recorded)\n"
        f"             snmpbulkwalk -v2c -c {example.community} 127.0.0.1:{example.port} "
        "1.3.6.1.2.1.31.1.1.1.1   # ifName\n"
    )


def _device_cell(devices: list[dict[str, Any]], site: str) -> str:
    """`up/total` switches polled at this site (not its subtree); red when any is down or erroring."""
    here = [d for d in devices if d["site"] == site]
    if not here:
        return ""
    up = sum(d["state"] == "up" for d in here)
    polled = all(d["last_poll_at"] for d in here)
    color = "green" if up == len(here) else ("red" if polled else "dim")
    return f"[{color}]{up}/{len(here)}[/]"


def _status_table(
    tree: list[dict[str, Any]], devices: list[dict[str, Any]], link: LinkSimulator, elapsed: float
) -> Table:
    link_text = "[green]up[/]" if link.is_up else "[red]CUT[/]"
    table = Table(
        title=f"Canh Gác demo — {elapsed:.0f} s — simulated Thạch Hà link: {link_text}", title_justify="left"
    )
    for col in ("site", "tên / name", "status", "up", "stale", "down", "new", "switch up/total"):
        table.add_column(col)
    colors = {"ok": "green", "degraded": "yellow", "down": "red", "empty": "dim"}

    def add(node: dict[str, Any], depth: int) -> None:
        s = node["subtree"]
        status = node["status"]
        table.add_row(
            "  " * depth + node["code"],
            node["name"],
            f"[{colors[status]}]{status}[/]",
            str(s["up"]),
            str(s["stale"]),
            str(s["down"]),
            str(s["new"]),
            _device_cell(devices, node["code"]),
        )
        for child in node["children"]:
            add(child, depth + 1)

    for root in tree:
        add(root, 0)
    return table


def _change_config(config_lab: DemoConfigLab, base: str, token: str) -> str:
    """Change one switch's config on the device and ask the server to pull it now."""
    from canhgac_collector.lab.demo_configs import CHANGE_LINE

    name = config_lab.change_one()
    req = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/v1/devices/{name}/configs/pull",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5):  # noqa: S310
            pass
    except OSError as exc:
        return f"config of {name} changed, but the pull request failed: {exc}"
    return (
        f"Cấu hình {name} vừa đổi trên thiết bị / {name}'s config changed on the device "
        f"({CHANGE_LINE!r} added): a new backup version and a config_changed alert follow; "
        f"see `canhgac backup diff {name}`"
    )


def run_demo(
    *,
    agents: int,
    port: int,
    duration: float,
    data_dir: Path,
    interval: float,
    console: Console,
    outage_every: float = 120,
    outage_for: float = 40,
    switches: int = 8,
    change_after: float = 60,
) -> int:
    """Run until `duration` seconds pass (0: until Ctrl-C); returns the process exit code.

    `switches` simulated switches (plus two real recordings) are served by snmpsim on loopback and listed
    in server.yaml as `devices:`; 0 runs the demo without them (and without the `lab` extra). The
    generated ones also answer SSH, so their configs are backed up; `change_after` seconds in (or half
    way through a shorter run) one of them changes its config and the server is asked to pull it.
    """
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            console.print(f"[red]port {port} on 127.0.0.1 is in use[/]: pass --port to choose another")
            return 2
    layout = DemoLayout(data_dir.resolve(), port, _free_port(), interval)
    fleet: SnmpsimFleet | None = None
    config_lab: DemoConfigLab | None = None
    devices: list[DemoDevice] = []
    if switches:
        missing = lab_missing()
        if missing:
            console.print(
                f"[red]{missing} is not installed[/]: the demo's switches need it: {LAB_INSTALL_HINT}"
            )
            return 2
        from canhgac_collector.lab.snmpsim import SnmpsimError

        console.print(f"starting {switches} simulated switches (snmpsim)…", highlight=False)
        try:
            fleet, devices = start_switch_lab(layout.data_dir, switches)
        except SnmpsimError as exc:
            console.print(f"[red]the simulated switches did not start[/]: {exc}", highlight=False)
            return 1
        from canhgac_collector.lab.demo_configs import DemoConfigLab

        config_lab = DemoConfigLab({d.name: d.role for d in devices if d.generated}).start()
        devices = [
            dataclasses.replace(d, ssh=config_lab.ssh_block(d.name)) if d.name in config_lab.roles else d
            for d in devices
        ]
    if duration:
        change_after = min(change_after, duration / 2)
    keys = write_server_config(layout, devices)
    log_dir = layout.data_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    link = LinkSimulator(layout.link_port, port)
    base = f"http://127.0.0.1:{port}"
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        server_log = (log_dir / "server.log").open("ab")
        subprocess.run(  # `serve` opens an existing database only: create (or migrate) it first
            [
                sys.executable,
                "-m",
                "canhgac_collector.cli",
                "db",
                "upgrade",
                "--config",
                str(layout.config_path),
            ],
            stdout=server_log,
            stderr=subprocess.STDOUT,
            env=env,
            check=True,
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "canhgac_collector.cli", "serve", "--config", str(layout.config_path)],
            stdout=server_log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        procs.append(server)
        _wait_healthy(base, server)
        link.start()
        admin = subprocess.run(
            [
                sys.executable,
                "-m",
                "canhgac_collector.cli",
                "token",
                "create",
                "--role",
                "admin",
                "--name",
                "demo admin",
                "--json",
                "--config",
                str(layout.config_path),
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        token = json.loads(admin.stdout)["token"]
        for i in range(agents):
            site = AGENT_SITES[i % len(AGENT_SITES)]
            agent_cfg = write_agent_config(layout, i, site, keys[site])
            agent_log = (log_dir / f"agent-{i:02d}.log").open("ab")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "canhgac_agent", "run", "--config", str(agent_cfg)],
                    stdout=agent_log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        (layout.data_dir / "admin-token.txt").write_text(token + "\n", encoding="utf-8")
        os.chmod(layout.data_dir / "admin-token.txt", 0o600)
        console.print(
            f"""
[bold]Canh Gác demo[/] — tỉnh mô phỏng trên 127.0.0.1 / a simulated province on loopback
  API docs   {base}/docs
  metrics    {base}/metrics
  sites      curl -H "Authorization: Bearer $(cat {layout.data_dir}/admin-token.txt)" {base}/api/v1/sites
  alerts     curl -H "Authorization: Bearer $(cat {layout.data_dir}/admin-token.txt)" {base}/api/v1/alerts
  audit      canhgac audit --site HT --config {layout.config_path} --format html,pdf \
               --out {layout.data_dir}/audit
  backups    canhgac backup list --config {layout.config_path}
  config     {layout.config_path}      logs  {log_dir}/
  {agents} agent processes report every {interval:g} s; the Thạch Hà link is cut for {outage_for:g} s every \
{outage_every:g} s.
{_fleet_line(fleet, devices)}  Ctrl-C to stop.
""",
            highlight=False,
        )
        started = time.monotonic()
        live = Live(console=console, auto_refresh=False) if console.is_terminal else None
        with live or contextlib.nullcontext():
            while not stopping:
                elapsed = time.monotonic() - started
                if duration and elapsed >= duration:
                    break
                link.set_up(elapsed % outage_every < outage_every - outage_for)
                if config_lab is not None and config_lab.changed is None and elapsed >= change_after:
                    console.print(_change_config(config_lab, base, token), highlight=False)
                if server.poll() is not None:
                    console.print(
                        f"[red]the server exited (code {server.returncode})[/]; see {log_dir}/server.log"
                    )
                    return 1
                try:
                    table: Any = _status_table(
                        _get_json(f"{base}/api/v1/sites", token)["sites"],
                        _get_json(f"{base}/api/v1/devices?limit=1000", token)["devices"],
                        link,
                        elapsed,
                    )
                except OSError as exc:
                    table = f"[yellow]status unavailable: {exc}[/]"
                if live is not None:
                    live.update(table, refresh=True)
                else:
                    console.print(table)
                for _ in range(int(max(interval, 3) * 10)):
                    if stopping or (duration and time.monotonic() - started >= duration):
                        break
                    time.sleep(0.1)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        link.stop()
        if config_lab is not None:
            config_lab.stop()
        if fleet is not None:
            fleet.stop()
        console.print("demo stopped; data kept in " + str(layout.data_dir))
