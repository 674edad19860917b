"""Log forwarding to another host (`SecurityFacts.log_forwarding`).

Linux: remote targets in rsyslog, syslog-ng and systemd-journal-upload configuration, and running log
shippers. Windows: the Windows Event Forwarding SubscriptionManager policy and shipper processes.

Requirement HS-22 (rules/canhgac_rules/requirements.yaml).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from canhgac_agent.facts.common import any_running, as_list, clip, parse_ini, process_names, read_text
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost

_RSYSLOG_LEGACY = re.compile(r"^\S+\s+-?@@?(?:\([^)]*\))?(\[[0-9A-Fa-f:.]+\]|[^\s:;@\[]+)")
_RSYSLOG_ACTION = re.compile(r"\baction\s*\((.*?)\)", re.S | re.I)
_RS_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_SYSLOG_NG_DEST = re.compile(r"\bdestination\s+[\w.-]+\s*\{(.*?)\}\s*;", re.S)
_SYSLOG_NG_NET = re.compile(r'\b(network|tcp6?|udp6?|syslog)\s*\(\s*"?([^"\s();]+)"?\s*[\s)]')


def _strip_hash_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def rsyslog_targets(text: str) -> list[str]:
    """Remote hosts rsyslog forwards to: legacy `*.* @host`/`@@host:port`/`:omrelp:host:port` and
    RainerScript `action(type="omfwd"|"omrelp" target="host")`."""
    targets: list[str] = []
    text = _strip_hash_comments(text)
    for raw in text.splitlines():
        line = raw.strip()
        match = _RSYSLOG_LEGACY.match(line)
        if match:
            targets.append(match.group(1).strip("[]"))
        relp = re.match(r"^\S+\s+:omrelp:([^:\s;]+)", line)
        if relp:
            targets.append(relp.group(1))
    for action in _RSYSLOG_ACTION.finditer(text):
        params = {k.lower(): v for k, v in _RS_PARAM.findall(action.group(1))}
        if params.get("type", "").lower() in ("omfwd", "omrelp") and params.get("target"):
            targets.append(params["target"])
    return [clip(t) for t in dict.fromkeys(targets)]


def syslog_ng_targets(text: str) -> list[str]:
    """Remote hosts of syslog-ng `destination` blocks using network()/tcp()/udp()/syslog() drivers."""
    targets: list[str] = []
    for block in _SYSLOG_NG_DEST.finditer(_strip_hash_comments(text)):
        targets.extend(m.group(2) for m in _SYSLOG_NG_NET.finditer(block.group(1)))
    return [clip(t) for t in dict.fromkeys(targets)]


# Log shippers whose running process means logs leave the host (their targets are not parsed).
LOG_SHIPPERS = ("filebeat", "fluent-bit", "td-agent-bit", "fluentd", "nxlog", "vector", "promtail",
                "splunkd", "wazuh-agentd", "ossec-agentd", "elastic-agent")  # fmt: skip


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`LogForwarding` on Linux."""
    procs = host.process_names()
    targets: list[dict[str, Any]] = []
    for daemon, patterns, parse in (
        ("rsyslog", ("/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf"), rsyslog_targets),
        (
            "syslog-ng",
            ("/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d/*.conf"),
            syslog_ng_targets,
        ),
    ):
        for pattern in patterns:
            for path in host.glob(pattern):
                text = read_text(path)
                for target in parse(text) if text is not None else []:
                    targets.append({"daemon": daemon, "target": target, "file": clip(path, 2048)})
    upload_texts = [host.read("/etc/systemd/journal-upload.conf") or ""]
    upload_texts += [read_text(p) or "" for p in host.glob("/etc/systemd/journal-upload.conf.d/*.conf")]
    for text in upload_texts:
        url = parse_ini(text).get("upload", {}).get("URL")
        if url:
            targets.append({"daemon": "systemd-journal-upload", "target": clip(url), "file": None})
    daemons = (("rsyslog", "rsyslogd"), ("syslog-ng", "syslog-ng"), ("systemd-journal-upload",) * 2)
    running = [daemon for daemon, proc in daemons if proc in procs]
    running += [s for s in LOG_SHIPPERS if any_running(procs, (s,))]
    forwarding = any(t["daemon"] in running for t in targets) or any(s in running for s in LOG_SHIPPERS)
    return {"running": running, "remote_targets": targets[:64], "forwarding": forwarding}


def parse_wef(subscriptions: Any) -> dict[str, Any]:
    """`LogForwarding` from the Windows Event Forwarding SubscriptionManager policy values
    (`Server=http://wec.tinh.gov.vn:5985/wsman/SubscriptionManager/WEC,Refresh=60`)."""
    targets = []
    for value in as_list(subscriptions):
        if isinstance(value, str):
            match = re.search(r"Server=([^,]+)", value, re.IGNORECASE)
            if match:
                targets.append({"daemon": "wef", "target": clip(match.group(1)), "file": "policy"})
    return {
        "running": ["wef"] if targets else [],
        "remote_targets": targets[:64],
        "forwarding": bool(targets),
    }


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`LogForwarding` on Windows."""
    forwarding = parse_wef(host.powershell("wef"))
    shippers = {"winlogbeat.exe", "nxlog.exe", "splunkd.exe", "wazuh-agent.exe", "fluent-bit.exe"}
    running = sorted(shippers & process_names())
    forwarding["running"] += [clip(r) for r in running]
    forwarding["forwarding"] = forwarding["forwarding"] or bool(running)
    return forwarding


PLUGIN = FactFamily(name="log_forwarding", linux=read_linux, windows=read_windows)
