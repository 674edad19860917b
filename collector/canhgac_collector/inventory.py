"""`canhgac inventory --ansible`: an Ansible inventory from the site tree and the enrolled hosts.

Groups follow the configured tree (province → districts → communes), one `site_<code>` group per site,
each a child of its parent's group, with `canhgac_site` as a group variable; hosts sit in their site's
group, with `ansible_host` (the hostname the agent reports) and `canhgac_os`. Every host is also in
`canhgac_linux` or `canhgac_windows`, where the connection settings (SSH or WinRM) belong.

Hostnames are reported by agents, so they are untrusted: a name that is not a DNS host name (it would
reach `ssh` as an argument) is left out, with a warning naming the host, and never put in the output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canhgac_collector.config import ServerConfig
from canhgac_collector.sitetree import SiteNode, resolve_tree
from canhgac_collector.store.models import Host, Site

SessionOpener = Callable[[Path | None], sessionmaker[Session]]
ConfigLoader = Callable[[Path | None], ServerConfig]

# RFC 1123 host name: labels of letters, digits and inner hyphens; never starts with '-'.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
_NOT_GROUP_CHAR = re.compile(r"[^A-Za-z0-9_]")
LINUX_GROUP = "canhgac_linux"
WINDOWS_GROUP = "canhgac_windows"


def group_name(site_code: str) -> str:
    """The Ansible group of a site: `site_` and the code with characters Ansible refuses made `_`."""
    return "site_" + _NOT_GROUP_CHAR.sub("_", site_code)


@dataclass(frozen=True)
class InventoryHost:
    hostname: str
    site: str
    os: str | None
    agent_id: str


@dataclass(frozen=True)
class Inventory:
    data: dict[str, Any]
    skipped: list[str]  # one line per host left out, for stderr


def load_hosts(session: Session) -> list[InventoryHost]:
    """Every enrolled host with its site code, ordered by site path then hostname."""
    rows = session.execute(
        select(Host.id, Host.hostname, Host.os_name, Site.code)
        .join(Site, Host.site_id == Site.id)
        .order_by(Site.path, Host.hostname, Host.id)
    ).all()
    return [InventoryHost(hostname=h, site=code, os=os, agent_id=i) for i, h, os, code in rows]


def build_inventory(nodes: dict[str, SiteNode], hosts: list[InventoryHost]) -> Inventory:
    """The YAML-inventory structure (`all.children…`) for `nodes` (parents first) and `hosts`."""
    groups: dict[str, dict[str, Any]] = {}
    roots: dict[str, Any] = {}
    for code, node in nodes.items():
        group: dict[str, Any] = {"vars": {"canhgac_site": code}}
        groups[code] = group
        if node.parent_code is None:
            roots[group_name(code)] = group
        else:
            groups[node.parent_code].setdefault("children", {})[group_name(code)] = group
    skipped: list[str] = []
    by_os: dict[str, dict[str, None]] = {LINUX_GROUP: {}, WINDOWS_GROUP: {}}
    seen: dict[str, str] = {}
    for host in hosts:
        where = f"host {host.agent_id} (site {host.site})"
        if not _HOSTNAME.fullmatch(host.hostname):
            skipped.append(f"{where}: hostname {host.hostname!r} is not a DNS host name: left out")
            continue
        if host.site not in groups:
            skipped.append(f"{where}: its site is no longer in the config: left out")
            continue
        name = host.hostname.lower()
        if name in seen:
            skipped.append(f"{where}: hostname {name} is already used by host {seen[name]}: left out")
            continue
        seen[name] = host.agent_id
        os_group = WINDOWS_GROUP if host.os and "windows" in host.os.lower() else LINUX_GROUP
        groups[host.site].setdefault("hosts", {})[name] = {
            "ansible_host": host.hostname,
            "canhgac_agent_id": host.agent_id,
            "canhgac_os": host.os,
        }
        by_os[os_group][name] = None
    children: dict[str, Any] = {**roots, **{g: {"hosts": h} for g, h in by_os.items()}}
    return Inventory({"all": {"children": children}}, skipped)


def make_inventory_command(load: ConfigLoader, open_sessions: SessionOpener) -> Callable[..., None]:
    """The `inventory` command; `load(config)` reads the server config, `open_sessions` its store."""
    err = Console(stderr=True, soft_wrap=True)

    def inventory(
        ansible: Annotated[
            bool, typer.Option("--ansible", help="Ansible YAML inventory (the only format)")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="the same inventory as JSON")] = False,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="write here, not stdout")] = None,
        config: Annotated[
            Path | None,
            typer.Option("--config", "-c", envvar="CANHGAC_CONFIG", help="server.yaml"),
        ] = None,
    ) -> None:
        """Danh sách máy cho Ansible / Ansible inventory: groups per site subtree, hosts per site."""
        import json

        import yaml

        if not ansible:
            err.print("chọn định dạng / choose a format: --ansible", highlight=False, markup=False)
            raise typer.Exit(2)
        cfg = load(config)
        sessions = open_sessions(config)
        with sessions() as session:
            result = build_inventory(resolve_tree(cfg), load_hosts(session))
        for line in result.skipped:
            err.print(f"cảnh báo / warning: {line}", highlight=False, markup=False)
        if as_json:
            text = json.dumps(result.data, ensure_ascii=False, indent=2) + "\n"
        else:
            text = "# canhgac inventory --ansible\n" + yaml.safe_dump(
                result.data, allow_unicode=True, sort_keys=False, default_flow_style=False
            )
        if output is None:
            print(text, end="")
        else:
            output.write_text(text, encoding="utf-8")

    return inventory
