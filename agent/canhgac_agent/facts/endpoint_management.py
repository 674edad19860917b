"""Centrally managed anti-malware/EDR (`SecurityFacts.endpoint_management`, HS-02).

Which endpoint-protection products are installed, running, and connected to their management server
where the product leaves that readable without privileges: the Wazuh agent's state file (`status=
'connected'`, refreshed every few seconds) and manager address (ossec.conf); Microsoft Defender for
Endpoint's onboarding state (Windows registry). Other agents (Kaspersky Network Agent, ESET Management
Agent, CrowdStrike…) keep their connection state behind root-only tools: running, connection unknown.
ClamAV has no manager at all. Windows also lists the SecurityCenter2 antivirus products.

`managed`: True when a running product is connected to its manager, None when one runs whose connection
cannot be read here, False otherwise; the rules engine turns None into an error, never a pass.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from canhgac_agent.facts.common import any_running, as_list, clip, iso_mtime, read_text
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

MAX_PRODUCTS = 64


class Product(NamedTuple):
    """A known endpoint agent: how it shows on Linux (processes, install paths) and Windows (services)."""

    name: str
    kind: str  # antivirus | edr | management (an agent that reports the host to a console)
    processes: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


WAZUH = "Wazuh agent"
MDE = "Microsoft Defender for Endpoint"
PRODUCTS: tuple[Product, ...] = (
    Product(WAZUH, "edr", ("wazuh-agentd",), ("/var/ossec/bin/wazuh-agentd",), ("wazuhsvc",)),
    Product(MDE, "edr", ("wdavdaemon",), ("/opt/microsoft/mdatp",), ("sense",)),
    Product(
        "CrowdStrike Falcon", "edr", ("falcon-sensor", "falcond"), ("/opt/CrowdStrike",), ("csfalconservice",)
    ),
    Product(
        "SentinelOne", "edr", ("sentinelone-agent", "s1-agent"), ("/opt/sentinelone",), ("sentinelagent",)
    ),
    Product(
        "Kaspersky Endpoint Security", "antivirus", ("kesl", "wdserver"), ("/opt/kaspersky/kesl",), ("avp",)
    ),
    Product(
        "Kaspersky Security Center Network Agent",
        "management",
        ("klnagent",),
        ("/opt/kaspersky/klnagent64", "/opt/kaspersky/klnagent"),
        ("klnagent",),
    ),
    Product(
        "ESET Endpoint/Server Security",
        "antivirus",
        ("esets_daemon", "oaeventmap"),
        ("/opt/eset/efs", "/opt/eset/esets"),
        ("ekrn",),
    ),
    Product(
        "ESET Management Agent",
        "management",
        ("eraagent",),
        ("/opt/eset/RemoteAdministrator/Agent",),
        ("eraagentsvc",),
    ),
    Product("Sophos", "edr", ("sophos_managementagent",), ("/opt/sophos-spl",), ("sophos mcs agent",)),
    Product("Trend Micro", "antivirus", ("ds_agent",), ("/opt/ds_agent",), ("tmlisten", "ds_agent")),
    Product("Symantec Endpoint Protection", "antivirus", (), (), ("sepmasterservice",)),
    Product("Bkav", "antivirus", (), (), ("bkavservice",)),
    Product(
        "Elastic Endpoint", "edr", ("elastic-endpoint",), ("/opt/Elastic/Endpoint",), ("elastic endpoint",)
    ),
)
WAZUH_STATE = "/var/ossec/var/run/wazuh-agentd.state"
WAZUH_CONF = "/var/ossec/etc/ossec.conf"
NO_MANAGER = "ClamAV không có máy chủ quản lý / ClamAV has no central manager"
UNKNOWN = "trạng thái kết nối cần quyền quản trị / connection state needs administrator rights"


def parse_wazuh_state(text: str) -> dict[str, str]:
    """`key='value'` lines of wazuh-agentd.state (status, last_keepalive, last_ack…)."""
    values: dict[str, str] = {}
    for line in text.splitlines()[:200]:
        match = re.fullmatch(r"\s*([a-z_]+)\s*=\s*'([^']*)'\s*", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def parse_wazuh_manager(text: str) -> str | None:
    """The first `<client><server><address>` of ossec.conf (older agents: `<server-ip>`)."""
    client = re.search(r"<client>(.*?)</client>", text, re.S)
    scope = client.group(1) if client else text
    match = re.search(r"<address>\s*([^<\s]+)\s*</address>", scope) or re.search(
        r"<server-(?:ip|hostname)>\s*([^<\s]+)\s*</server-", scope
    )
    return clip(match.group(1)) if match else None


def wazuh_entry(running: bool | None, state_text: str | None, conf_text: str | None) -> dict[str, Any]:
    """The Wazuh agent's entry: connected from its state file (None when the file cannot be read)."""
    entry: dict[str, Any] = {"name": WAZUH, "kind": "edr", "running": running, "connected": None}
    entry["manager"] = parse_wazuh_manager(conf_text) if conf_text else None
    if state_text is None:
        entry["detail"] = f"không đọc được tệp trạng thái / state file not readable ({WAZUH_STATE})"
        return entry
    status = parse_wazuh_state(state_text).get("status")
    entry["connected"] = status == "connected" if status in ("connected", "disconnected", "pending") else None
    entry["detail"] = clip(f"wazuh-agentd status={status}")
    return entry


def managed(products: list[dict[str, Any]]) -> bool | None:
    """True: a running product is connected; None: a running one's connection is unknown; else False."""
    running = [p for p in products if p.get("running") and p.get("name") != "ClamAV"]
    if any(p.get("connected") is True for p in running):
        return True
    if any(p.get("connected") is None for p in running):
        return None
    return False


def section(products: list[dict[str, Any]], detail: str | None = None) -> dict[str, Any]:
    products = products[:MAX_PRODUCTS]
    return {"products": products, "managed": managed(products), "detail": detail}


def read_linux(host: LinuxHost) -> dict[str, Any]:
    """`EndpointManagement` on Linux: processes, install paths, state files under the host's root."""
    procs = host.process_names()
    found: list[dict[str, Any]] = []
    if any_running(procs, ("clamd", "freshclam")) or host.glob("/var/lib/clamav/*.c[vl]d"):
        found.append(
            {
                "name": "ClamAV",
                "kind": "antivirus",
                "running": any_running(procs, ("clamd", "freshclam")),
                "connected": None,
                "definitions_updated": iso_mtime(host.glob("/var/lib/clamav/*.c[vl]d")),
                "detail": NO_MANAGER,
            }
        )
    for product in PRODUCTS:
        running = any_running(procs, product.processes) if product.processes else False
        if not running and not any(os.path.exists(host.path(p)) for p in product.paths):
            continue
        if product.name == WAZUH:
            found.append(wazuh_entry(running, host.read(WAZUH_STATE), host.read(WAZUH_CONF)))
            continue
        found.append(
            {
                "name": product.name,
                "kind": product.kind,
                "running": running,
                "connected": None,
                "detail": UNKNOWN,
            }
        )
    return section(found)


def security_center_entries(products: Any) -> list[dict[str, Any]]:
    """Entries from SecurityCenter2 `AntiVirusProduct` (client Windows): productState bits 12-15 == 1
    is real-time protection on; bits 4-7 == 0 is definitions up to date (no date is given)."""
    entries = []
    for product in as_list(products)[:MAX_PRODUCTS]:
        if not isinstance(product, dict) or not isinstance(product.get("displayName"), str):
            continue
        raw = product.get("productState")
        state = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        entry: dict[str, Any] = {
            "name": clip(product["displayName"]),
            "kind": "antivirus",
            "running": (state >> 12) & 0xF == 1 if state is not None else None,
            "connected": None,
            "detail": "Security Center",
        }
        if state is not None:
            entry["definitions_current"] = (state >> 4) & 0xF == 0
        entries.append(entry)
    return entries


def windows_service_entries(
    services: dict[str, str], mde_onboarding: Any, wazuh_state: str | None, wazuh_conf: str | None
) -> list[dict[str, Any]]:
    """Entries for the known agents among the Windows services; Defender for Endpoint is connected when
    onboarded (OnboardingState 1), the Wazuh agent as its state file says."""
    entries = []
    for product in PRODUCTS:
        present = [s for s in product.services if s in services]
        if not present:
            continue
        running = any(services[s].lower() == "running" for s in present)
        if product.name == WAZUH:
            entries.append(wazuh_entry(running, wazuh_state, wazuh_conf))
        elif product.name == MDE:
            onboarded = mde_onboarding == 1 if isinstance(mde_onboarding, int) else None
            detail = f"OnboardingState={mde_onboarding}" if mde_onboarding is not None else UNKNOWN
            entries.append(
                {"name": MDE, "kind": "edr", "running": running, "connected": onboarded, "detail": detail}
            )
        else:
            entries.append(
                {
                    "name": product.name,
                    "kind": product.kind,
                    "running": running,
                    "connected": None,
                    "detail": UNKNOWN,
                }
            )
    return entries


def read_windows(host: WindowsHost) -> dict[str, Any]:
    """`EndpointManagement` on Windows: Security Center products, then known agents' services."""
    failures: list[str] = []
    found: list[dict[str, Any]] = []
    try:
        found.extend(security_center_entries(host.powershell("av")))
    except RuntimeError as exc:  # no SecurityCenter2 on Windows Server: a normal answer
        failures.append(f"SecurityCenter2: {exc}")
    try:
        mde = host.powershell("mde")
    except RuntimeError:
        mde = None
    base = os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)") + r"\ossec-agent"
    services = host.services()  # raises when the service list itself failed: the fact is then unknown
    agents = windows_service_entries(
        services, mde, read_text(base + r"\wazuh-agent.state"), read_text(base + r"\ossec.conf")
    )
    names = {entry["name"].lower() for entry in agents}
    found = [e for e in found if e["name"].lower() not in names] + agents
    return section(found, clip("; ".join(failures), 2048) if failures else None)


PLUGIN = FactFamily(name="endpoint_management", linux=read_linux, windows=read_windows)
