"""NW-05 from the data center: `canhgac audit --site` run inside a "data center" network namespace
checks an agency's declared public address, which lives in a second namespace the test creates (an
SSH-like service on 22, nothing else). The data-center namespace has no route but to that /24, so no
probe can leave it. Also: SNMP detected on a live net-snmp agent with a non-default community, the
rule never passing when the check is off or no address is declared, and the config's bounds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from canhgac_collector.compliance.exposure import ExposureSettings, probe_public_addresses
from canhgac_collector.compliance.scan import run_site_scan
from canhgac_collector.compliance.scheduler import scan_options
from canhgac_collector.config import ConfigError, ServerConfig, load_config
from canhgac_collector.lab.snmpd import Snmpd, SnmpdError, snmpd_executable
from canhgac_collector.sitetree import resolve_tree
from canhgac_collector.store.db import make_engine, session_factory, upgrade
from canhgac_collector.store.sites import sync_sites
from tests.conftest import site_tree

AUDIT = [sys.executable, "-m", "canhgac_collector.cli", "audit", "--site", "XA"]
DC_ADDRESS = "198.51.100.1"  # TEST-NET-2, only inside the namespaces below
PUBLIC_ADDRESS = "198.51.100.10"
SSH_BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
LISTENER = f"""
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{PUBLIC_ADDRESS}", 22))
s.listen(8)
s.settimeout(1.0)
print("ready", flush=True)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        conn, _ = s.accept()
    except socket.timeout:
        continue
    conn.sendall(b"{SSH_BANNER}\\r\\n")
    conn.close()
"""
CONFIG = """\
database_url: sqlite:///{db}
sites:
  - code: XA
    name: Xã Thử Nghiệm
    kind: commune
    level: 3
    public_addresses: [{address}]
compliance:
  public_address_scan:
    enabled: true
    timeout_s: 1.0
    max_probes_per_s: 50
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    """(data center, agency) namespaces joined by one veth pair; 22/tcp listens in the agency's."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 to build the network namespaces")
    dc, pub = f"cg-dc-{os.getpid()}", f"cg-pub-{os.getpid()}"
    ip("netns", "add", dc)
    ip("netns", "add", pub)
    listener: subprocess.Popen[str] | None = None
    try:
        ip("-n", dc, "link", "add", "vdc", "type", "veth", "peer", "name", "vpub", "netns", pub)
        for ns, dev, address in ((dc, "vdc", DC_ADDRESS), (pub, "vpub", PUBLIC_ADDRESS)):
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        listener = subprocess.Popen(
            ["ip", "netns", "exec", pub, sys.executable, "-c", LISTENER],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert listener.stdout is not None
        assert listener.stdout.readline().strip() == "ready"
        yield dc, pub
    finally:
        if listener is not None:
            listener.kill()
            listener.wait(timeout=10)
        for ns in (dc, pub):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)


def test_admin_service_on_a_public_address_fails_nw05(namespaces: tuple[str, str], tmp_path: Path) -> None:
    dc, _ = namespaces
    config = tmp_path / "server.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "store.sqlite", address=PUBLIC_ADDRESS), encoding="utf-8")
    cfg = load_config(config)
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    with session_factory(engine).begin() as session:
        sync_sites(session, resolve_tree(cfg))
    engine.dispose()
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        ["ip", "netns", "exec", dc, *AUDIT, "--config", str(config), "--format", "json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "canhgac-audit.json").read_text(encoding="utf-8"))
    (finding,) = [f for f in report["findings"] if f["rule_id"] == "SITE-NO-PUBLIC-ADMIN-SERVICES"]
    assert finding["result"] == "fail"
    assert finding["requirements"] == ["NW-05"]
    # only 22/tcp answers: 23, 80, 443, 3389, 8080, 8443 are refused and nothing speaks SNMP on 161
    assert finding["evidence"] == [
        {
            "path": "public_exposure.open_services[22]",
            "value": {
                "site": "XA",
                "address": PUBLIC_ADDRESS,
                "port": 22,
                "protocol": "tcp",
                "service": "ssh",
                "banner": SSH_BANNER,
            },
        },
        {"path": "count(public_exposure.open_services)", "value": 1},
    ]


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    try:
        snmpd_executable()
    except SnmpdError as exc:
        pytest.fail(f"{exc} (scripts/install-system-deps installs net-snmp's snmpd)")
    with Snmpd(tmp_path_factory.mktemp("snmpd"), communities=("kh0ng-mac-dinh",)) as agent:
        yield agent


def test_snmp_answering_is_found_whatever_its_community(snmpd: Snmpd) -> None:
    host, port = snmpd.endpoint
    settings = ExposureSettings(tcp_ports=[9], timeout_s=0.5, snmp_port=port)
    found = probe_public_addresses([("XA", host)], settings)
    assert found["open_services"] == [
        {
            "site": "XA",
            "address": host,
            "port": port,
            "protocol": "udp",
            "service": "snmp",
            "banner": "answered: v3 engine discovery",  # `public` is not its community
        }
    ]
    quiet = probe_public_addresses(
        [("XA", host)], ExposureSettings(tcp_ports=[9], timeout_s=0.5, snmp_port=9)
    )
    assert quiet["open_services"] == []
    assert quiet["addresses"] == [{"site": "XA", "address": host}]


def test_without_the_check_or_addresses_the_rule_never_passes(db_url: str) -> None:
    for enabled in (False, True):
        config = ServerConfig(
            database_url=db_url,
            sites=site_tree(),  # declares no public address
            compliance={"public_address_scan": {"enabled": enabled}},
        )
        engine = make_engine(db_url)
        upgrade(engine)
        with session_factory(engine).begin() as session:
            sync_sites(session, resolve_tree(config))
            _, report = run_site_scan(session, "P", 3, options=scan_options(config, None))
        engine.dispose()
        (finding,) = [f for f in report["findings"] if f["rule_id"] == "SITE-NO-PUBLIC-ADMIN-SERVICES"]
        assert finding["result"] == "error", finding


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        (["127.0.0.1"], "not a unicast host address"),
        (["224.0.0.1"], "not a unicast host address"),
        (["203.0.113.10", "203.0.113.10"], "listed twice"),
        (["203.0.113.300"], "value is not a valid IPv4 or IPv6 address"),
        ([f"203.0.113.{i}" for i in range(1, 34)], "at most 32 items"),
    ],
)
def test_public_addresses_are_validated(tmp_path: Path, addresses: list[str], message: str) -> None:
    config = tmp_path / "server.yaml"
    config.write_text(
        "sites:\n  - code: XA\n    name: Xã\n    public_addresses: " + json.dumps(addresses) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(config)
    assert "sites.0.public_addresses" in str(exc.value)
    assert message in str(exc.value)
