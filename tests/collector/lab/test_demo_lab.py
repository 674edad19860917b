"""The demo's switches: served by snmpsim, listed in a server.yaml the server accepts."""

from __future__ import annotations

from pathlib import Path

from canhgac_collector.config import load_config
from canhgac_collector.lab.demo import DemoLayout, start_switch_lab, write_server_config
from tests.collector.lab.conftest import netsnmp


def test_demo_switches_answer_at_the_configured_address(tmp_path: Path) -> None:
    fleet, devices = start_switch_lab(tmp_path, 6)
    try:
        layout = DemoLayout(tmp_path, 18080, 18081, 5)
        write_server_config(layout, devices)
        cfg = load_config(layout.config_path)
        assert len(cfg.devices) == 8  # 6 generated + 2 real recordings
        assert {d.role for d in cfg.devices} >= {"core", "access", "router"}
        assert {d.site for d in cfg.devices} <= {
            "HT-TTDL",
            "HT-CAMXUYEN",
            "HT-HONGLINH",
            "HT-THACHHA",
            "HT-THACHHA-MC",
        }
        for device in cfg.devices:
            assert device.snmp.community is not None
            r = netsnmp(
                "snmpget",
                "-v2c",
                "-c",
                device.snmp.community.get_secret_value(),
                f"{device.address}:{device.port}",
                "1.3.6.1.2.1.1.5.0",
            )
            assert r.returncode == 0, (device.name, r.stderr)
    finally:
        fleet.stop()
