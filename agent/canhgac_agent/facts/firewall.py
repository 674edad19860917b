"""Host firewall (`SecurityFacts.firewall`).

Linux: ufw's config, `firewall-cmd --state`, then the rulesets (`nft list ruleset`, `iptables-save`;
root only, otherwise unknown) summarised by whether traffic addressed to this host is filtered.
Windows: `netsh advfirewall show allprofiles`, every profile on and its inbound policy.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from canhgac_agent.facts.common import CommandResult, clip, run_command, which
from canhgac_agent.facts.family import FactFamily
from canhgac_agent.facts.linux import LinuxHost

if TYPE_CHECKING:  # the Windows host is only imported on Windows
    from canhgac_agent.facts.windows import WindowsHost


class Ruleset(NamedTuple):
    """What a ruleset dump says about filtering of traffic addressed to this host."""

    rules_count: int = 0
    input_policy: str | None = None  # lower-case "accept"/"drop"; None when no input chain exists
    input_rules: int = 0

    @property
    def input_filtered(self) -> bool:
        return self.input_rules > 0 or self.input_policy in ("drop", "reject")


def parse_nft_ruleset(text: str) -> Ruleset:
    """Summarise `nft list ruleset`: rules in all chains; policy and rules of input-hook chains.

    Several input-hook chains (ip + ip6 tables, iptables-nft + native) are combined: the policy is
    "drop" if any of them drops.
    """
    stack: list[str] = []
    chains: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        net = line.count("{") - line.count("}")
        if net > 0:
            kind = line.split()[0]
            stack.append(kind if kind in ("table", "chain") else "block")
            stack.extend(["block"] * (net - 1))
            if kind == "chain":
                chains.append({"hook": None, "policy": None, "rules": 0})
            continue
        if net < 0:
            del stack[len(stack) + net :]
            continue
        if not stack or stack[-1] != "chain" or not chains:
            continue
        chain = chains[-1]
        if line.startswith("type ") and " hook " in line:
            hook = re.search(r"\bhook\s+(\w+)", line)
            chain["hook"] = hook.group(1) if hook else None
            policy = re.search(r"\bpolicy\s+(\w+)", line)
            chain["policy"] = policy.group(1).lower() if policy else "accept"
        elif line.startswith("policy "):
            policy = re.search(r"\bpolicy\s+(\w+)", line)
            chain["policy"] = policy.group(1).lower() if policy else chain["policy"]
        elif not line.startswith(("comment ", "devices ", "}")):
            chain["rules"] += 1
    inputs = [c for c in chains if c["hook"] == "input"]
    input_policy = None
    if inputs:
        policies = {c["policy"] or "accept" for c in inputs}
        input_policy = "drop" if "drop" in policies else sorted(policies)[0]
    return Ruleset(sum(c["rules"] for c in chains), input_policy, sum(c["rules"] for c in inputs))


def parse_iptables_save(text: str) -> Ruleset:
    """Summarise `iptables-save`: rules of the filter table and the INPUT chain's policy."""
    rules = input_rules = 0
    policy = None
    table = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:].strip()
        elif table != "filter":
            continue
        elif line.startswith(":"):
            parts = line[1:].split()
            if len(parts) >= 2 and parts[0] == "INPUT":
                policy = parts[1].lower()
        elif line.startswith("-A "):
            rules += 1
            if line.split()[1:2] == ["INPUT"]:
                input_rules += 1
    return Ruleset(rules, policy, input_rules)


def parse_ufw_conf(text: str) -> bool | None:
    """`ENABLED=yes|no` from /etc/ufw/ufw.conf; None when absent or unreadable."""
    for raw in text.splitlines():
        key, sep, value = raw.strip().partition("=")
        if sep and key.strip() == "ENABLED":
            value = value.strip().strip("\"'").lower()
            if value in ("yes", "no"):
                return value == "yes"
    return None


def _permission_problem(result: CommandResult) -> bool:
    text = (result.stderr + result.stdout).lower()
    return any(s in text for s in ("permission denied", "operation not permitted", "must be root"))


def read_linux(host: LinuxHost) -> dict[str, Any] | None:
    """`FirewallState` on Linux."""
    details: list[str] = []
    ufw_text = host.read("/etc/ufw/ufw.conf")
    ufw_enabled = parse_ufw_conf(ufw_text) if ufw_text is not None else None
    if ufw_text is not None:
        details.append(
            f"ufw.conf ENABLED={'unset' if ufw_enabled is None else 'yes' if ufw_enabled else 'no'}"
        )

    firewalld_running = None
    if which("firewall-cmd"):
        res = run_command(["firewall-cmd", "--state"])
        if res is not None:
            firewalld_running = res.stdout.strip() == "running"
            details.append(f"firewalld {res.stdout.strip() or res.stderr.strip()[:80]}")

    denied: list[str] = []
    seen: list[tuple[str, Ruleset]] = []
    for backend, argv, parser in (
        ("nftables", ["nft", "list", "ruleset"], parse_nft_ruleset),
        ("iptables", ["iptables-save"], parse_iptables_save),
    ):
        if not which(argv[0]):
            continue
        res = run_command(argv)
        if res is None:
            continue
        if res.returncode != 0:
            (denied if _permission_problem(res) else details).append(f"{argv[0]}: exit {res.returncode}")
            continue
        ruleset = parser(res.stdout)
        seen.append((backend, ruleset))
        details.append(f"{argv[0]}: {ruleset.rules_count} rules, input policy {ruleset.input_policy}")
        if ruleset.input_filtered:
            break  # iptables-nft rules already appear in the nft ruleset
    details.extend(f"{d} (needs root)" for d in denied)
    filtered = next(((b, r) for b, r in seen if r.input_filtered), None)
    view = filtered or (seen[0] if seen else None)

    state: dict[str, Any] = {
        "backend": "none",
        "enabled": False,
        "default_input_policy": view[1].input_policy if view else None,
        "rules_count": view[1].rules_count if view else None,
        "detail": clip("; ".join(details), 2048) or None,
    }
    if ufw_enabled:
        state.update(backend="ufw", enabled=True)
    elif firewalld_running:
        state.update(backend="firewalld", enabled=True)
    elif filtered:
        state.update(backend=filtered[0], enabled=True)
    elif denied and not seen:
        state.update(backend="unknown", enabled=None)
    elif seen:
        state.update(backend=seen[0][0], enabled=False)
    elif ufw_text is not None:
        state.update(backend="ufw", enabled=False)
    elif firewalld_running is False:
        state.update(backend="firewalld", enabled=False)
    else:
        state["detail"] = "no firewall tooling found (nft, iptables, ufw, firewalld)"
    return state


def parse_netsh_allprofiles(text: str) -> list[dict[str, Any]]:
    """Profiles from `netsh advfirewall show allprofiles`: [{"profile", "on", "inbound"}].

    Each section is a header line ending in ':', a dashed rule, then `Name  Value` lines; the first is
    the state (ON/OFF), the second the policy (`BlockInbound,AllowOutbound`). `on` is None when the
    state value is not ON/OFF (localised output); `inbound` is "block"/"allow" or None.
    """
    lines = text.splitlines()
    profiles: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line.strip().startswith("-----") or i == 0:
            continue
        header = lines[i - 1].strip().rstrip(":").strip()
        body = [ln.split() for ln in lines[i + 1 : i + 3] if ln.strip()]
        if len(body) < 1:
            continue
        state = body[0][-1].upper() if body[0] else ""
        policy = body[1][-1] if len(body) > 1 and body[1] else ""
        inbound = None
        match = re.search(r"(Block|Allow)Inbound", policy, re.IGNORECASE)
        if match:
            inbound = match.group(1).lower()
        profiles.append(
            {
                "profile": clip(header.replace(" Profile Settings", "").replace(" Settings", "")),
                "on": True if state == "ON" else False if state == "OFF" else None,
                "inbound": inbound,
            }
        )
    return profiles


def firewall_from_profiles(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """`FirewallState`: enabled only when every profile is on; the most permissive inbound policy."""
    if not profiles:
        return {"backend": "windows", "enabled": None, "detail": "netsh output not understood"}
    states = [p["on"] for p in profiles]
    enabled = None if None in states else all(states)
    inbound = {p["inbound"] for p in profiles}
    policy = "allow" if "allow" in inbound else "block" if inbound == {"block"} else None
    detail = ", ".join(
        f"{p['profile']}={'ON' if p['on'] else 'OFF' if p['on'] is False else '?'}({p['inbound'] or '?'})"
        for p in profiles
    )
    return {
        "backend": "windows",
        "enabled": enabled,
        "default_input_policy": policy,
        "detail": clip(detail, 2048),
    }


def read_windows(host: WindowsHost) -> dict[str, Any] | None:
    """`FirewallState` on Windows."""
    return firewall_from_profiles(
        parse_netsh_allprofiles(host.command(["netsh", "advfirewall", "show", "allprofiles"]))
    )


PLUGIN = FactFamily(name="firewall", linux=read_linux, windows=read_windows)
