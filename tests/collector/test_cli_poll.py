"""`canhgac poll` as an operator or a script uses it: a real subprocess against real snmpsim agents."""

from __future__ import annotations

import bz2
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from canhgac_collector.lab.snmpsim import (
    SnmpsimFleet,
    SnmpsimV3User,
    snmpsim_data_dir,
    snmpsim_data_recordings,
)
from tests.harness.snmp_recordings import switch_rows, write_recording

C3560 = "network/switch/cisco-c3560"
V3 = SnmpsimV3User(
    "opsv3", auth_key="auth-pass-123", auth_proto="SHA", priv_key="priv-pass-123", priv_proto="AES"
)
INTERFACE_FIELDS = {
    "ifIndex", "ifName", "ifDescr", "ifAlias", "ifType", "ifMtu", "ifSpeed", "ifHighSpeed", "ifPhysAddress",
    "ifAdminStatus", "ifOperStatus", "ifHCInOctets", "ifHCOutOctets", "ifInErrors", "ifOutErrors",
    "ifInDiscards", "ifOutDiscards", "ifHCInUcastPkts", "ifHCOutUcastPkts",
}  # fmt: skip


def canhgac(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CANHGAC_SNMP_")}
    return subprocess.run(
        [sys.executable, "-m", "canhgac_collector.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean, "COLUMNS": "200", **(env or {})},
    )


TRANSCEIVER = "1.3.6.1.4.1.25506.2.70.1.1.1"  # HH3C-TRANSCEIVER-INFO-MIB hh3cTransceiverInfoEntry
OPTICS_ROWS = [  # GE1/0/1 receives −4.12 dBm; GE1/0/2 has no light (2147483647); 0.01 dBm, 0.01 mA
    *[
        (f"{TRANSCEIVER}.{c}.1", "2", v)
        for c, v in ((8, "1"), (12, "-412"), (9, "-238"), (15, "38"), (17, "612"))
    ],
    *[(f"{TRANSCEIVER}.{c}.2", "2", v) for c, v in ((8, "1"), (12, "2147483647"), (9, "-251"), (15, "36"))],
]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimFleet]:
    work = tmp_path_factory.mktemp("cli-poll")
    recordings = {
        C3560: snmpsim_data_recordings()[C3560],
        "lab/sw": write_recording(work / "rec" / "sw.snmprec", [*switch_rows(), *OPTICS_ROWS]),
    }
    with SnmpsimFleet(recordings, work / "fleet", per_process=2, v3_users=[V3]) as f:
        yield f


def address(fleet: SnmpsimFleet, community: str) -> str:
    host, port = fleet.endpoint(community)
    return f"{host}:{port}"


def test_json_speaks_the_mib_names(fleet: SnmpsimFleet) -> None:
    # The community comes from the environment, so it never shows in `ps`.
    r = canhgac("poll", address(fleet, "lab/sw"), "--json", env={"CANHGAC_SNMP_COMMUNITY": "lab/sw"})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {"system", "interfaces", "neighbors", "fdb", "arp", "resources", "errors"} <= set(doc)
    assert doc["system"]["sysName"] == "sw-xa-1"
    assert doc["system"]["vendor"] == "h3c"
    first = doc["interfaces"][0]
    assert set(first) >= INTERFACE_FIELDS
    assert first["ifPhysAddress"] == "00:1b:21:0b:00:01"
    assert (first["ifAdminStatus"], first["ifOperStatus"]) == ("up", "up")
    assert doc["interfaces"][3]["ifOperStatus"] == "down"
    assert first["ifHCInOctets"] == 5_000_000
    assert "counters" not in first
    assert doc["neighbors"][0]["remote_name"] == "sw-huyen-core"
    assert {e["mac"] for e in doc["fdb"]} >= {"3c:52:82:11:22:33"}
    assert doc["arp"][0] == {"ip": "10.20.10.1", "mac": "00:1b:21:0a:00:01", "ifIndex": 1}
    assert doc["resources"]["temperatures_c"] == {"CPU temp": 41.5}
    assert doc["resources"]["optics"] == [
        {"name": "GE1/0/1", "rx_dbm": -4.12, "tx_dbm": -2.38, "temperature_c": 38.0, "bias_ma": 6.12,
         "rx_no_light": False, "tx_no_light": False},
        {"name": "GE1/0/2", "rx_dbm": None, "tx_dbm": -2.51, "temperature_c": 36.0, "bias_ma": None,
         "rx_no_light": True, "tx_no_light": False},
    ]  # fmt: skip
    assert doc["errors"] == {}


def test_json_of_a_real_cisco_lists_every_recorded_interface(fleet: SnmpsimFleet) -> None:
    r = canhgac("poll", address(fleet, C3560), "--community", C3560, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    path = snmpsim_data_dir() / f"{C3560}.snmprec.bz2"
    with bz2.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        recorded = [line for line in fh if line.startswith("1.3.6.1.2.1.2.2.1.1.")]
    assert len(doc["interfaces"]) == len(recorded)
    assert doc["system"]["vendor"] == "cisco"
    assert any(n["protocol"] == "cdp" for n in doc["neighbors"])


def test_tables_for_people(fleet: SnmpsimFleet) -> None:
    r = canhgac("poll", address(fleet, "lab/sw"), "--community", "lab/sw")
    assert r.returncode == 0, r.stderr
    for text in (
        "sw-xa-1",
        "GE1/0/1",
        "sw-huyen-core",
        "3c:52:82:11:22:33",
        "10.20.20.3",
        "CPU temp 41.5 °C",
        "Quang / optics",
        "-4.12 dBm",
        "không có ánh sáng / no light",
    ):
        assert text in r.stdout


def test_v3_authpriv_and_a_wrong_key_exits_4(fleet: SnmpsimFleet) -> None:
    v3 = ["--v3-user", "opsv3", "--auth-protocol", "sha", "--priv-protocol", "aes128", "--context", "lab/sw"]
    keys = {"CANHGAC_SNMP_AUTH_KEY": "auth-pass-123", "CANHGAC_SNMP_PRIV_KEY": "priv-pass-123"}
    ok = canhgac("poll", address(fleet, "lab/sw"), *v3, "--json", env=keys)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["system"]["sysName"] == "sw-xa-1"
    bad = canhgac(
        "poll",
        address(fleet, "lab/sw"),
        *v3,
        "--timeout",
        "1",
        env={**keys, "CANHGAC_SNMP_AUTH_KEY": "wrong-pass-1"},
    )
    assert bad.returncode == 4, bad.stderr
    [line] = bad.stderr.strip().splitlines()
    assert "auth_failure" in line
    assert "wrong-pass-1" not in bad.stderr + bad.stdout


def test_no_reply_exits_3_with_one_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        r = canhgac(
            "poll", f"127.0.0.1:{port}", "--community", "public", "--timeout", "0.3", "--retries", "0"
        )
    assert r.returncode == 3
    [line] = r.stderr.strip().splitlines()
    assert f"no reply from 127.0.0.1:{port} after 1 try of 0.3 s" in line


def test_a_garbage_reply_exits_5() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        port = sock.getsockname()[1]
        stop = threading.Event()

        def answer() -> None:
            while not stop.is_set():
                try:
                    _, peer = sock.recvfrom(65535)
                except OSError:
                    continue
                sock.sendto(b"\x30\x03\x02\x01", peer)  # a truncated SEQUENCE

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        try:
            r = canhgac(
                "poll", f"127.0.0.1:{port}", "--community", "public", "--timeout", "0.3", "--retries", "0"
            )
        finally:
            stop.set()
            thread.join(2)
    assert r.returncode == 5, (r.stdout, r.stderr)
    [line] = r.stderr.strip().splitlines()
    assert "malformed_reply" in line


@pytest.mark.parametrize(
    "args",
    [
        ["127.0.0.1:99999", "--community", "x"],
        ["127.0.0.1:1161"],  # no community
        ["127.0.0.1:1161", "--community", "x", "--version", "5"],
        ["127.0.0.1:1161", "--version", "3"],  # no user
        ["127.0.0.1:1161", "--v3-user", "u", "--auth-protocol", "sha", "--auth-key", "short"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    r = canhgac("poll", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip()
