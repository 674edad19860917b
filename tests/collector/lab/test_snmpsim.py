"""SnmpsimFleet: real snmpsim processes on loopback, checked with net-snmp's snmpget/snmpbulkwalk."""

from __future__ import annotations

import bz2
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from canhgac_collector.lab.snmpsim import (
    SnmpsimError,
    SnmpsimFleet,
    SnmpsimV3User,
    snmpsim_data_dir,
    snmpsim_data_recordings,
)
from tests.collector.lab.conftest import netsnmp

CHOSEN = ("network/switch/cisco-c3560", "network/switch/dlink-des3038", "network/router/huawei-s5720")
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_TABLE = "1.3.6.1.2.1.2.2"


def recording_lines(path: Path) -> list[tuple[str, str, str]]:
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        rows = [line.rstrip("\n").split("|", 2) for line in fh if line.strip() and not line.startswith("#")]
    return [(oid, tag, value) for oid, tag, value in rows]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimFleet]:
    recordings = snmpsim_data_recordings()
    chosen = {c: recordings[c] for c in CHOSEN}
    with SnmpsimFleet(chosen, tmp_path_factory.mktemp("fleet"), per_process=2) as f:
        yield f


def test_snmpsim_data_recordings_are_keyed_by_community() -> None:
    recordings = snmpsim_data_recordings()
    assert snmpsim_data_dir().is_dir()
    assert recordings["network/switch/cisco-c3560"].name == "cisco-c3560.snmprec.bz2"
    assert "network/router/huawei-s5720" in recordings
    assert all(c.startswith(("network/switch/", "network/router/")) for c in recordings)
    assert set(snmpsim_data_recordings(["switch"])) < set(recordings)
    small = snmpsim_data_recordings(max_bytes=3_000_000)
    assert "network/router/huawei-acu2" not in small
    assert "network/switch/cisco-c3560" in small


def test_each_recording_answers_under_its_community(fleet: SnmpsimFleet) -> None:
    assert fleet.communities == list(CHOSEN)
    assert len(fleet.ports) == 2  # 3 recordings, 2 per process
    served_by = Counter(fleet.endpoint(c) for c in CHOSEN)
    assert sorted(served_by.values()) == [1, 2]
    recordings = snmpsim_data_recordings()
    for community in CHOSEN:
        host, port = fleet.endpoint(community)
        expected = next(v for oid, _, v in recording_lines(recordings[community]) if oid == SYS_NAME)
        r = netsnmp("snmpget", "-v2c", "-c", community, f"{host}:{port}", SYS_NAME)
        assert r.returncode == 0, r.stderr
        assert f'.{SYS_NAME} = STRING: "{expected}"' in r.stdout or expected in r.stdout


def test_a_process_serves_only_its_own_recordings(fleet: SnmpsimFleet) -> None:
    host, other_port = fleet.endpoint(CHOSEN[2])
    r = netsnmp("snmpget", "-v2c", "-c", CHOSEN[0], f"{host}:{other_port}", SYS_NAME)
    assert r.returncode != 0
    assert "Timeout" in r.stderr  # snmpsim ignores unknown communities


def test_bulkwalk_returns_the_whole_recorded_iftable(fleet: SnmpsimFleet) -> None:
    community = "network/switch/cisco-c3560"
    host, port = fleet.endpoint(community)
    recorded = [
        oid
        for oid, _, _ in recording_lines(snmpsim_data_recordings()[community])
        if oid.startswith(IF_TABLE + ".")
    ]
    r = netsnmp("snmpbulkwalk", "-v2c", "-c", community, f"{host}:{port}", IF_TABLE)
    assert r.returncode == 0, r.stderr
    walked = [line.split(" = ", 1)[0].lstrip(".") for line in r.stdout.splitlines() if " = " in line]
    assert len(recorded) > 400
    assert walked == recorded


def test_v3_users_reach_recordings_by_context_name(tmp_path: Path) -> None:
    source = snmpsim_data_recordings()["network/switch/dlink-des3038"]
    user = SnmpsimV3User(
        "lab-v3", auth_key="auth-secret-1", auth_proto="SHA", priv_key="priv-secret-1", priv_proto="AES"
    )
    with SnmpsimFleet({"dlink": source}, tmp_path, v3_users=[user]) as f:
        host, port = f.endpoint("dlink")
        common = ["-v3", "-l", "authPriv", "-u", "lab-v3", "-a", "SHA", "-x", "AES", "-X", "priv-secret-1"]
        ok = netsnmp("snmpget", *common, "-A", "auth-secret-1", "-n", "dlink", f"{host}:{port}", SYS_NAME)
        assert ok.returncode == 0, ok.stderr
        assert "STRING" in ok.stdout
        bad = netsnmp("snmpget", *common, "-A", "wrong-secret-9", "-n", "dlink", f"{host}:{port}", SYS_NAME)
        assert bad.returncode != 0


def test_exit_stops_every_process(tmp_path: Path) -> None:
    source = snmpsim_data_recordings()["network/switch/dlink-des3038"]
    with SnmpsimFleet({"a": source, "b": source}, tmp_path, per_process=1) as f:
        pids = f.pids
        ports = f.ports
        assert len(pids) == 2
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    r = netsnmp("snmpget", "-v2c", "-c", "a", f"127.0.0.1:{ports[0]}", SYS_NAME)
    assert r.returncode != 0


def test_processes_die_with_a_killed_parent(tmp_path: Path) -> None:
    """A test run or demo killed with SIGKILL must not leave snmpsim processes behind."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from canhgac_collector.lab.snmpsim import SnmpsimFleet, snmpsim_data_recordings\n"
        "src = snmpsim_data_recordings()['network/switch/dlink-des3038']\n"
        "f = SnmpsimFleet({'a': src}, Path(sys.argv[1])).start()\n"
        "print(*f.pids, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pids = [int(x) for x in parent.stdout.readline().split()]
        assert pids
        os.kill(pids[0], 0)  # running
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pids[0], 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)


def test_reused_work_dir_serves_only_the_new_selection(tmp_path: Path) -> None:
    recordings = snmpsim_data_recordings()
    with SnmpsimFleet({"old": recordings["network/switch/dlink-des3038"]}, tmp_path):
        pass
    with SnmpsimFleet({"new": recordings["network/switch/dlink-des3038"]}, tmp_path) as f:
        host, port = f.endpoint("new")
        assert netsnmp("snmpget", "-v2c", "-c", "new", f"{host}:{port}", SYS_NAME).returncode == 0
        assert netsnmp("snmpget", "-v2c", "-c", "old", f"{host}:{port}", SYS_NAME).returncode != 0


def test_a_broken_recording_fails_startup_naming_the_log(tmp_path: Path) -> None:
    bad = tmp_path / "bad.snmprec"
    bad.write_text("1.3.6.1.2.1.1.1.0|4|fine\nnot a record\n")
    with pytest.raises(SnmpsimError) as info:
        SnmpsimFleet({"bad": bad}, tmp_path / "work", startup_timeout_s=60).start()
    message = str(info.value)
    assert str(tmp_path / "work" / "snmpsim-0.log") in message
    assert "broken record" in message


def test_only_loopback_and_relative_communities_are_accepted(tmp_path: Path) -> None:
    source = snmpsim_data_recordings()["network/switch/dlink-des3038"]
    with pytest.raises(ValueError, match="loopback"):
        SnmpsimFleet({"a": source}, tmp_path, host="0.0.0.0")
    with pytest.raises(ValueError, match="community"):
        SnmpsimFleet({"../escape": source}, tmp_path)
