"""A LAN in network namespaces for the LAN sensor's tests and bench (needs root).

One namespace holds a Linux bridge whose forwarding table never learns (ageing 0): every frame reaches
every port, as a switch's mirror (SPAN) port would show it to a sensor. Each other namespace is one
machine, joined to the bridge by a veth pair, with eth0 carrying a fixed MAC and (optionally) an address
in 198.51.100.0/24, a documentation range that exists only inside these namespaces. Namespace names
carry the creating process's id, so a run cleans up what a killed earlier run left behind, and never
touches another run's. Processes started in a namespace are stopped, and the namespaces deleted, on close.
"""

from __future__ import annotations

import ctypes.util
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = "scripts/install-system-deps"
PREFIX = "cglan"
SUBNET = "198.51.100"
UPLINK_SUBNET = "203.0.113"  # documentation range: the /30 of a machine's uplink to the root namespace
MAX_MACHINES = 8
_counter = itertools.count()


class NetnsUnavailable(RuntimeError):
    """A real part is missing (root, iproute2, dnsmasq, libpcap): the message names what to run."""


def check_requirements(*tools: str) -> None:
    """Raise `NetnsUnavailable` naming scripts/install-system-deps when a part is missing."""
    if os.geteuid() != 0:
        raise NetnsUnavailable("the LAN tests create network namespaces: run them as root")
    missing = [tool for tool in ("ip", *tools) if shutil.which(tool) is None]
    if ctypes.util.find_library("pcap") is None:
        missing.append("libpcap0.8")
    if missing:
        raise NetnsUnavailable(f"missing {', '.join(missing)}: run {INSTALL_SCRIPT} (as root)")


def _run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


def python_env() -> dict[str, str]:
    """The environment a Python process in a namespace needs to import this worktree's packages."""
    env = dict(os.environ)
    paths = [str(ROOT / p) for p in ("agent", "collector", "rules", "api")] + [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def remove_stale() -> None:
    """Delete namespaces left by earlier runs whose process is gone."""
    for line in _run("ip", "netns", "list").splitlines():
        match = re.match(rf"^({PREFIX}(\d+)x\S*)", line)
        if match and not Path(f"/proc/{match.group(2)}").exists():
            subprocess.run(["ip", "netns", "del", match.group(1)], check=False, timeout=20)


class Machine(NamedTuple):
    role: str
    netns: str
    mac: str
    ip: str | None
    interface: str = "eth0"

    def argv(self, *command: str) -> list[str]:
        """`command` run inside this machine's namespace."""
        return ["ip", "netns", "exec", self.netns, *command]

    def python(self, *args: str) -> list[str]:
        return self.argv(sys.executable, *args)


class Lan:
    """A bridged LAN of namespaces; use as a context manager."""

    def __init__(self) -> None:
        remove_stale()
        self.name = f"{PREFIX}{os.getpid()}x{next(_counter)}"
        self.bridge = f"{self.name}-br"
        self.machines: dict[str, Machine] = {}
        self.processes: list[subprocess.Popen[bytes]] = []
        _run("ip", "netns", "add", self.bridge)
        try:
            _run("ip", "-n", self.bridge, "link", "add", "br0", "type", "bridge", "ageing_time", "0")
            _run("ip", "-n", self.bridge, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0")
            _run("ip", "-n", self.bridge, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Lan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, role: str, host_byte: int, *, with_ip: bool = True) -> Machine:
        """A machine `role` with MAC 02:00:5e:10:00:<host_byte> and, `with_ip`, 198.51.100.<host_byte>."""
        if len(self.machines) >= MAX_MACHINES:
            raise RuntimeError(f"at most {MAX_MACHINES} machines per LAN")
        netns = f"{self.name}-{role}"
        port = f"v{len(self.machines)}"
        machine = Machine(
            role, netns, f"02:00:5e:10:00:{host_byte:02x}", f"{SUBNET}.{host_byte}" if with_ip else None
        )
        _run("ip", "netns", "add", netns)
        self.machines[role] = machine
        _run(
            "ip",
            "-n",
            self.bridge,
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            netns,
        )
        _run("ip", "-n", self.bridge, "link", "set", port, "master", "br0", "up")
        _run("ip", "-n", netns, "link", "set", "eth0", "address", machine.mac, "up")
        _run("ip", "-n", netns, "link", "set", "lo", "up")
        if machine.ip:
            _run("ip", "-n", netns, "addr", "add", f"{machine.ip}/24", "dev", "eth0")
        return machine

    def uplink(self, machine: Machine) -> tuple[str, str]:
        """A second link, `machine`'s eth1, to the root namespace (where a server under test runs), in a
        /30 of 203.0.113.0/24 picked by process id; (root side's address, machine's address). The root
        side goes with the machine's namespace."""
        base = 4 * (os.getpid() % 64)
        host, peer = f"{UPLINK_SUBNET}.{base + 1}", f"{UPLINK_SUBNET}.{base + 2}"
        root_side = self.name.replace("x", "u", 1)  # ≤ 15 characters, gone with the machine
        _run("ip", "link", "add", root_side, "type", "veth", "peer", "name", "eth1", "netns", machine.netns)
        _run("ip", "addr", "add", f"{host}/30", "dev", root_side)
        _run("ip", "link", "set", root_side, "up")
        _run("ip", "-n", machine.netns, "addr", "add", f"{peer}/30", "dev", "eth1")
        _run("ip", "-n", machine.netns, "link", "set", "eth1", "up")
        return host, peer

    def start(self, machine: Machine, command: Sequence[str], **popen: object) -> subprocess.Popen[bytes]:
        """A long-running process in `machine`'s namespace, stopped on close."""
        process: subprocess.Popen[bytes] = subprocess.Popen(machine.argv(*command), **popen)  # type: ignore[call-overload]
        self.processes.append(process)
        return process

    def dnsmasq(self, machine: Machine, workdir: Path, *, gateway: str, dns: str) -> subprocess.Popen[bytes]:
        """dnsmasq as the DHCP server on `machine` (no DNS service), offering `gateway` and `dns`."""
        return self.start(
            machine,
            [
                "dnsmasq",
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--port=0",
                "--interface=eth0",
                "--bind-interfaces",
                "--no-ping",
                "--user=root",
                f"--dhcp-range={SUBNET}.100,{SUBNET}.150,255.255.255.0,1h",
                f"--dhcp-option=3,{gateway}",
                f"--dhcp-option=6,{dns}",
                f"--dhcp-leasefile={workdir / (machine.role + '.leases')}",
                f"--pid-file={workdir / (machine.role + '.pid')}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def close(self) -> None:
        for process in self.processes:
            self.stop(process)
        self.processes.clear()
        for machine in self.machines.values():
            subprocess.run(["ip", "netns", "del", machine.netns], check=False, timeout=20)
        self.machines.clear()
        subprocess.run(["ip", "netns", "del", self.bridge], check=False, timeout=20)


def traffic(machine: Machine, *args: str, timeout: float = 30) -> str:
    """Run `tests/harness/lan_traffic.py <args>` in `machine`'s namespace; its stdout."""
    result = subprocess.run(
        machine.python("-m", "tests.harness.lan_traffic", "--interface", machine.interface, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env=python_env(),
    )
    if result.returncode != 0:
        raise RuntimeError(f"lan_traffic {' '.join(args)} failed: {result.stderr.strip()[-2000:]}")
    return result.stdout


class Watch:
    """`canhgac-agent lan watch --json` (or `run`) as a real process in a machine's namespace, its output
    collected by reader threads."""

    def __init__(self, machine: Machine, argv: Sequence[str], *, prefix: Sequence[str] = ()) -> None:
        self.process = subprocess.Popen(
            machine.argv(*prefix, sys.executable, "-m", "canhgac_agent", *argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=python_env(),
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.ready = threading.Event()
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line.rstrip("\n"))
            if "capture started" in line:
                self.ready.set()
        self.ready.set()  # the process ended: stop waiting for readiness

    def wait_ready(self, timeout: float = 30) -> None:
        if not self.ready.wait(timeout) or self.process.poll() is not None:
            self.finish()
            raise RuntimeError("sensor did not start: " + "\n".join(self.stderr[-20:]))

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.stdout) if line.startswith("{")]

    def finish(self, timeout: float = 20) -> int:
        """SIGTERM (unless already exited), then the exit code once output is read."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=5)
        return code
