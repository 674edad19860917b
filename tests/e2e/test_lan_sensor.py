"""The LAN guard end to end: a commune LAN in network namespaces (approved dnsmasq, a rogue one, hosts
joining, an ARP spoofer of the gateway) watched by a real `canhgac-agent run` with `[lan] enabled`,
enrolled with the site's key and reporting over HTTP, through its namespace's uplink, to a real
`canhgac serve` that e-mails the commune's officer (aiosmtpd). Needs root, dnsmasq and libpcap0.8."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from tests.e2e.conftest import ServerProcess
from tests.harness.netns import Lan, Machine, NetnsUnavailable, Watch, check_requirements, traffic
from tests.harness.notify import Mail, SmtpServer
from tests.harness.postgres import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

KEY = "commune-lan-key-0123456789"
SITE = "XA-A"
OFFICER = "can-bo-xa-a@example.gov.vn"
PROVINCE_NOC = "noc@example.gov.vn"
GATEWAY = "198.51.100.1"  # also the approved DHCP server
METRICS_TOKEN = "scrape-token-0123456789abcdef"  # as Prometheus scrapes it
DEADLINE_S = 30  # for everything the test waits on after the agent started


class Commune(NamedTuple):
    lan: Lan
    gw: Machine
    sensor: Machine
    printer: Machine  # approved by MAC in server.yaml
    laptop: Machine  # nobody approved it
    evil: Machine  # a rogue DHCP server, then an ARP spoofer of the gateway
    server: ServerProcess
    smtp: SmtpServer
    workdir: Path


def server_config(host: str, port: int, smtp_port: int, commune: dict[str, Machine]) -> dict[str, Any]:
    return {
        "listen": {"host": host, "port": port},
        "database_url": "sqlite:///canhgac.sqlite",
        "metrics": {"bearer_token": METRICS_TOKEN},
        "agent_defaults": {"interval_s": 1, "security_interval_s": 60, "probe_gateway": False},
        "alerting": {
            "evaluate_interval_s": 0.2,
            "retry_initial_s": 0.2,
            "public_url": "https://canhgac.example.gov.vn",
            "smtp": {"enabled": True, "port": smtp_port, "sender": "canhgac@example.gov.vn"},
        },
        "sites": [
            {
                "code": "P",
                "name": "Tỉnh Thử Nghiệm",
                "kind": "province",
                "contacts": [{"name": "Trực vận hành tỉnh", "email": PROVINCE_NOC}],
                "children": [
                    {
                        "code": SITE,
                        "name": "Xã A",
                        "kind": "commune",
                        "enrollment_keys": [KEY],
                        "contacts": [{"name": "Cán bộ xã A", "email": OFFICER}],
                    }
                ],
            }
        ],
        "lan": {
            "sites": {
                SITE: {
                    "approved": [
                        {"mac": commune["gw"].mac, "label": "Router xã"},
                        {"mac": commune["printer"].mac, "label": "Máy in một cửa"},
                    ],
                    "dhcp_servers": [GATEWAY],
                    "gateways": [GATEWAY],
                }
            }
        },
    }


def agent_config(workdir: Path, server_url: str) -> Path:
    state = workdir / "agent"
    path = workdir / "agent.toml"
    path.write_text(
        f'server_url = "{server_url}"\nenrollment_key = "{KEY}"\nstate_dir = "{state}"\ninterval_s = 1\n'
        '[identity]\nmachine_id = "e2e-lan-sensor"\nhostname = "pc-xa-a-sensor"\n'
        "[probes]\ngateway = false\n"
        f'[lan]\nenabled = true\ninterfaces = ["eth0"]\napproved_dhcp_servers = ["{GATEWAY}"]\n'
        f'gateways = ["{GATEWAY}"]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def commune(tmp_path: Path) -> Iterator[Commune]:
    try:
        check_requirements("dnsmasq")
    except NetnsUnavailable as exc:
        pytest.fail(str(exc))
    smtp = SmtpServer()
    smtp.start()
    try:
        with Lan() as lan:
            machines = {
                "gw": lan.add("gw", 1),
                "sensor": lan.add("sensor", 10),
                "printer": lan.add("printer", 20),
                "laptop": lan.add("laptop", 21),
                "evil": lan.add("evil", 66),
            }
            host, _ = lan.uplink(machines["sensor"])
            port = free_port()
            path = tmp_path / "server.yaml"
            config = server_config(host, port, smtp.port, machines)
            path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            server = ServerProcess(path, port, tmp_path / "server.log", host=host)
            try:
                server.start()
                lan.dnsmasq(machines["gw"], tmp_path, gateway=GATEWAY, dns=GATEWAY)
                yield Commune(lan, server=server, smtp=smtp, workdir=tmp_path, **machines)
            finally:
                server.stop()
    finally:
        smtp.stop()


def wait_until(check: Callable[[], bool], what: str, deadline: float) -> None:
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within the deadline: {what}")
        time.sleep(0.2)


def get(commune: Commune, path: str, token: str) -> Any:
    request = urllib.request.Request(commune.server.base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def officer_token(server: ServerProcess) -> str:
    out = subprocess.run(
        [
            *(sys.executable, "-m", "canhgac_collector.cli", "token", "create", "--role", "officer"),
            *("--site", SITE, "--name", "Cán bộ xã A", "--json", "--config", str(server.config_path)),
        ],
        check=True,
        capture_output=True,
        env=server.env,
        timeout=60,
    )
    return str(json.loads(out.stdout)["token"])


def mails(smtp: SmtpServer, rule_words: str, *needles: str) -> list[Mail]:
    """The officer's alert mails whose subject has `rule_words` and every needle."""
    return [m for m in smtp.to(OFFICER) if rule_words in m.subject and all(n in m.subject for n in needles)]


ROGUE = "Phát hiện máy chủ DHCP lạ"
SPOOF = "Nghi giả mạo ARP"
NEW = "Thiết bị lạ"


def test_sensor_to_officer_mail_inventory_and_metrics(commune: Commune) -> None:
    c = commune
    sensor = Watch(c.sensor, ["run", "--config", str(agent_config(c.workdir, c.server.base))])
    try:
        sensor.wait_ready()
        deadline = time.monotonic() + DEADLINE_S
        traffic(c.gw, "announce", "--mac", c.gw.mac, "--ip", GATEWAY, "--count", "2")
        traffic(c.printer, "announce", "--mac", c.printer.mac, "--ip", c.printer.ip or "")
        joined = traffic(c.printer, "join", "--mac", c.printer.mac, "--hostname", "may-in-mot-cua")
        assert '"ack": "198.51.100.1' in joined, joined  # only the approved server answered
        rogue = c.lan.dnsmasq(c.evil, c.workdir, gateway=c.evil.ip or "", dns=c.evil.ip or "")
        try:
            traffic(c.laptop, "join", "--mac", c.laptop.mac, "--hostname", "laptop-ca-nhan")
        finally:
            c.lan.stop(rogue)
        traffic(c.laptop, "announce", "--mac", c.laptop.mac, "--ip", c.laptop.ip or "")
        spoof = ("--mac", c.evil.mac, "--ip", GATEWAY, "--target", c.laptop.ip or "", "--count", "8")
        traffic(c.evil, "spoof", *spoof)
        traffic(c.gw, "announce", "--mac", c.gw.mac, "--ip", GATEWAY, "--count", "2")  # flips back

        wait_until(lambda: bool(mails(c.smtp, ROGUE, c.evil.ip or "")), "the rogue DHCP mail", deadline)
        wait_until(lambda: bool(mails(c.smtp, SPOOF, GATEWAY)), "the ARP spoofing mail", deadline)
        wait_until(lambda: bool(mails(c.smtp, NEW, c.laptop.mac)), "the new device mail", deadline)
        time.sleep(3)  # three more reports and many evaluation rounds: nothing is sent twice
    finally:
        assert sensor.finish() == 0, "\n".join(sensor.stderr[-30:])

    # Exactly one mail per alert, in Vietnamese first, to the commune's officer; nothing for approved ones.
    [rogue_mail] = mails(c.smtp, ROGUE)
    assert rogue_mail.subject.startswith(f"[Canh Gác] CẢNH BÁO: {ROGUE} {c.evil.ip} ({c.evil.mac}")
    assert "tại Xã A" in rogue_mail.subject
    assert f"Rogue DHCP server {c.evil.ip}" in rogue_mail.body  # the English beside it
    [spoof_mail] = mails(c.smtp, SPOOF)
    assert GATEWAY in spoof_mail.subject
    assert c.evil.mac in spoof_mail.subject
    new_mails = mails(c.smtp, NEW)
    assert len([m for m in new_mails if c.laptop.mac in m.subject]) == 1
    for approved in (c.gw, c.printer, c.sensor):  # approved, or the sensor's own enrolled host
        assert not [m for m in new_mails if approved.mac in m.subject], approved.role
    assert not [m for m in c.smtp.to(OFFICER) if "DHCP" in m.subject and GATEWAY + " " in m.subject]

    # The merged inventory, as the commune's officer reads it: what the sensor saw, known or not.
    inventory = get(c, f"/api/v1/sites/{SITE}/lan", officer_token(c.server))
    devices = {d["mac"]: d for d in inventory["devices"]}
    for machine in (c.gw, c.printer, c.laptop, c.evil):
        assert "lan" in devices[machine.mac]["sources"], machine.role  # the sensor's source
        assert devices[machine.mac]["seen_by"] == ["pc-xa-a-sensor"]
    assert (devices[c.printer.mac]["status"], devices[c.printer.mac]["approved"]) == (
        "known",
        "Máy in một cửa",
    )
    assert devices[c.laptop.mac]["status"] == "unknown"
    assert c.laptop.ip in devices[c.laptop.mac]["ips"]
    assert devices[c.evil.mac]["status"] == "unknown"
    assert devices[c.sensor.mac]["status"] == "known"  # the enrolled agent's own interface

    # /metrics: the sensor's capture counters and the events, per site.
    scrape = urllib.request.Request(
        c.server.base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(scrape, timeout=5) as response:
        metrics = response.read().decode()
    packets = re.search(rf'canhgac_lan_sensor_packets_total\{{site="{SITE}",[^}}]*\}} (\S+)', metrics)
    assert packets is not None, metrics[-3000:]
    assert float(packets.group(1)) >= 20  # ARP announcements, DHCP exchanges and the spoof
    assert f'canhgac_lan_events_total{{site="{SITE}",type="dhcp_rogue"}} 1' in metrics
    assert f'canhgac_lan_events_total{{site="{SITE}",type="arp_spoof"}} 1' in metrics
    assert c.smtp.to(PROVINCE_NOC) == []  # the commune's alerts go to the commune, not escalated yet
