"""The LAN sensor against real traffic: namespaces bridged into one LAN, dnsmasq as the approved DHCP
server (and a second one as the rogue), scapy hosts and attackers, and `canhgac-agent lan watch --json`
(or `run`) as a real process in its own namespace. Needs root, dnsmasq and libpcap0.8."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from canhgac_agent.spool import STATE_FILE, Spool, StateFile
from canhgac_api.schemas.report import LanEvent, Report
from tests.harness.netns import Lan, Machine, NetnsUnavailable, Watch, check_requirements, traffic

pytestmark = pytest.mark.timeout(120)

GATEWAY = "198.51.100.1"
ROGUE_DNS = "203.0.113.53"
WATCH = ("lan", "watch", "--interface", "eth0", "--json")
NOBODY = 65534
# No user privileges and no capabilities at all, as an unprivileged service without the drop-in.
AS_NOBODY = (
    "setpriv",
    f"--reuid={NOBODY}",
    f"--regid={NOBODY}",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
)


class Site(NamedTuple):
    lan: Lan
    gw: Machine  # the gateway and approved DHCP server
    sensor: Machine
    host: Machine
    other: Machine
    evil: Machine
    workdir: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    try:
        check_requirements("dnsmasq", "setpriv")
    except NetnsUnavailable as exc:
        pytest.fail(str(exc))
    workdir = tmp_path_factory.mktemp("lan")
    with Lan() as lan:
        gw = lan.add("gw", 1)
        site = Site(
            lan,
            gw,
            lan.add("sensor", 10),
            lan.add("host", 20),
            lan.add("other", 21),
            lan.add("evil", 66),
            workdir,
        )
        lan.dnsmasq(gw, workdir, gateway=GATEWAY, dns=GATEWAY)
        yield site


def watch(site: Site, *args: str) -> Watch:
    sensor = Watch(site.sensor, [*WATCH, *args])
    sensor.wait_ready()
    return sensor


def finish(sensor: Watch) -> list[dict[str, Any]]:
    time.sleep(0.5)  # frames still in flight reach the sensor
    assert sensor.finish() == 0, sensor.stderr
    events = sensor.events()
    for event in events:
        LanEvent.model_validate(event)
        assert {"type", "time", "mac", "ip", "interface", "message"} <= set(event)
    return events


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def test_rogue_dhcp_server_reported_once_with_what_it_offers(site: Site) -> None:
    rogue = site.lan.dnsmasq(site.evil, site.workdir, gateway=site.evil.ip or "", dns=ROGUE_DNS)
    try:
        sensor = watch(site, "--dhcp-server", GATEWAY)
        for _ in range(2):
            traffic(site.host, "join", "--mac", site.host.mac)
        events = finish(sensor)
    finally:
        site.lan.stop(rogue)
    rogue_events = of(events, "dhcp_rogue")
    assert len(rogue_events) == 1, events
    (event,) = rogue_events
    assert (event["mac"], event["ip"]) == (site.evil.mac, site.evil.ip)
    assert event["detail"]["offered_gateway"] == site.evil.ip
    assert event["detail"]["offered_dns"] == ROGUE_DNS
    assert event["message"].startswith(f"Phát hiện máy chủ DHCP lạ {site.evil.ip} ({site.evil.mac})")


def test_approved_dhcp_server_reports_nothing_and_duration_ends_with_0(site: Site) -> None:
    sensor = watch(site, "--dhcp-server", GATEWAY, "--gateway", GATEWAY, "--duration", "6")
    joined = traffic(site.other, "join", "--mac", site.other.mac, "--hostname", "ketoan-pc")
    assert '"ack": "198.51.100.1' in joined, joined  # the approved server answered
    assert sensor.process.wait(timeout=20) == 0  # the duration ended it
    events = finish(sensor)
    assert not [e for e in events if e["type"] in ("dhcp_rogue", "arp_spoof", "ip_conflict", "mac_flood")]


def test_gateway_arp_spoofing_reported_once(site: Site) -> None:
    sensor = watch(site, "--gateway", GATEWAY)
    traffic(site.gw, "announce", "--mac", site.gw.mac, "--ip", GATEWAY, "--count", "2")
    traffic(
        site.evil,
        "spoof",
        "--mac",
        site.evil.mac,
        "--ip",
        GATEWAY,
        "--target",
        "198.51.100.20",
        "--count",
        "8",
    )
    traffic(site.gw, "announce", "--mac", site.gw.mac, "--ip", GATEWAY, "--count", "2")  # flips back
    spoofs = of(finish(sensor), "arp_spoof")
    assert len(spoofs) == 1, spoofs
    assert spoofs[0]["ip"] == GATEWAY
    assert {spoofs[0]["detail"]["old_mac"], spoofs[0]["detail"]["new_mac"]} == {site.gw.mac, site.evil.mac}


def test_two_hosts_claiming_one_address_is_an_ip_conflict(site: Site) -> None:
    sensor = watch(site)
    traffic(site.host, "announce", "--mac", site.host.mac, "--ip", "198.51.100.30")
    traffic(site.other, "announce", "--mac", site.other.mac, "--ip", "198.51.100.30")
    traffic(site.host, "announce", "--mac", site.host.mac, "--ip", "198.51.100.30")
    conflicts = of(finish(sensor), "ip_conflict")
    assert len(conflicts) == 1, conflicts
    assert conflicts[0]["ip"] == "198.51.100.30"
    assert {conflicts[0]["detail"]["holder_mac"], conflicts[0]["detail"]["claimant_mac"]} == {
        site.host.mac,
        site.other.mac,
    }


def test_mac_flood_reported_once(site: Site) -> None:
    sensor = watch(site, "--mac-flood-per-min", "50")
    traffic(site.evil, "flood", "--count", "300")
    events = finish(sensor)
    floods = of(events, "mac_flood")
    assert len(floods) == 1, [e["type"] for e in events]
    assert int(floods[0]["detail"]["count"]) > 50
    assert len(of(events, "device_new")) <= 60  # the flood's MACs are not announced one by one


def test_new_device_once_then_known_across_runs_and_approved_never(site: Site, tmp_path: Path) -> None:
    sensor = watch(site, "--state-dir", str(tmp_path))
    traffic(site.host, "announce", "--mac", site.host.mac, "--ip", "198.51.100.40", "--count", "3")
    first = [e for e in of(finish(sensor), "device_new") if e["mac"] == site.host.mac]
    assert len(first) == 1
    assert first[0]["ip"] == "198.51.100.40"

    sensor = watch(site, "--state-dir", str(tmp_path), "--approved-mac", site.other.mac)
    traffic(site.host, "announce", "--mac", site.host.mac, "--ip", "198.51.100.40")
    traffic(site.other, "announce", "--mac", site.other.mac, "--ip", "198.51.100.41")
    again = [e["mac"] for e in of(finish(sensor), "device_new")]
    assert site.host.mac not in again
    assert site.other.mac not in again


def test_capture_without_permission_exits_3_naming_the_capability(site: Site) -> None:
    sensor = Watch(site.sensor, [*WATCH, "--duration", "5"], prefix=AS_NOBODY)
    sensor.process.wait(timeout=30)  # it ends by itself, long before the duration
    code = sensor.finish()
    message = "\n".join(sensor.stderr)
    assert code == 3, message
    assert "CAP_NET_RAW" in message
    assert "AmbientCapabilities=CAP_NET_RAW" in message


def test_agent_role_reports_a_lan_section_through_the_spool(site: Site, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "agent.toml"
    config.write_text(
        f'state_dir = "{state}"\ninterval_s = 1\n[probes]\ngateway = false\n'
        f'[lan]\nenabled = true\ninterfaces = ["eth0"]\ngateways = ["{GATEWAY}"]\n'
        f'approved_dhcp_servers = ["{GATEWAY}"]\n'
        # the active sweep: at 200 requests/s the /24 takes 1.3 s; the kernels of the namespaces answer
        'subnets = ["198.51.100.0/24"]\nsweep_interval_s = 3600\nsweep_rate_pps = 200\n',
        encoding="utf-8",
    )
    agent = Watch(site.sensor, ["run", "--config", str(config)])
    agent.wait_ready()
    traffic(site.gw, "announce", "--mac", site.gw.mac, "--ip", GATEWAY, "--count", "2")
    traffic(site.host, "announce", "--mac", site.host.mac, "--ip", "198.51.100.50")
    traffic(site.evil, "spoof", "--mac", site.evil.mac, "--ip", GATEWAY, "--target", "198.51.100.50")
    time.sleep(0.5)
    assert agent.finish() == 0, agent.stderr  # what was not reported yet goes in a last report

    spool = Spool(state, StateFile(state / STATE_FILE))
    try:
        reports = [Report.model_validate_json(p.json_bytes()) for p in spool.peek(1000, max_bytes=1 << 30)]
    finally:
        spool.close()
    sections = [r.lan for r in reports if r.lan is not None]
    assert sections, "no report carried a lan section"
    assert len(sections) == len(reports)
    events = [e for s in sections for e in s.events]
    assert [e.mac for e in events if e.type == "device_new"].count(site.host.mac) == 1
    assert [e.ip for e in events if e.type == "arp_spoof"] == [GATEWAY]
    devices = {d.mac: d for s in sections for d in s.devices}
    assert "198.51.100.50" in devices[site.host.mac].ips
    assert "sweep" in devices[site.other.mac].sources  # only the sweep made it speak
    assert "198.51.100.21" in devices[site.other.mac].ips
    assert all(c.interface == "eth0" and c.error is None for s in sections for c in s.captures)
    seen = [s.captures[0].packets_seen for s in sections]  # a counter since the sensor started
    assert seen == sorted(seen)
    assert seen[-1] >= 5


def test_agent_without_the_capability_reports_why_in_its_lan_section(site: Site) -> None:
    with tempfile.TemporaryDirectory(prefix="lan-nobody-") as tmp:  # pytest's tmp_path is root's alone
        home = Path(tmp)
        os.chown(home, NOBODY, NOBODY)
        state = home / "state"
        config = home / "agent.toml"
        config.write_text(
            f'state_dir = "{state}"\ninterval_s = 1\n[probes]\ngateway = false\n'
            '[lan]\nenabled = true\ninterfaces = ["eth0"]\n',
            encoding="utf-8",
        )
        agent = Watch(site.sensor, ["run", "--config", str(config)], prefix=AS_NOBODY)
        agent.wait_ready()  # "capture started" on no interface: the agent keeps running
        time.sleep(1.0)
        assert agent.finish() == 0, agent.stderr
        spool = Spool(state, StateFile(state / STATE_FILE))
        try:
            reports = [
                Report.model_validate_json(p.json_bytes()) for p in spool.peek(1000, max_bytes=1 << 30)
            ]
        finally:
            spool.close()
    assert reports
    for report in reports:
        assert report.lan is not None
        (capture,) = report.lan.captures
        assert capture.error is not None
        assert "CAP_NET_RAW" in capture.error
        assert "AmbientCapabilities=CAP_NET_RAW" in capture.error
