"""Alert rules over the stored state, with settings resolved per site subtree.

Each rule turns rows (hosts, devices, interfaces, events) into `Condition`s: "this is wrong now". The
engine (engine.py) keeps the lifecycle. Root-cause grouping happens here: the highest site whose whole
subtree is unreachable yields one `site_unreachable` condition listing its hosts and devices as affected,
and none of them raises its own; inside a site still partly up, a down device does the same for the down
members behind it (grouping.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from canhgac_collector.alerting.grouping import group_behind
from canhgac_collector.alerting.outage import member_key
from canhgac_collector.alerting.settings import AlertingConfig, RuleOverride, check_site_references
from canhgac_collector.devices.edge.view import is_edge_polled
from canhgac_collector.sitetree import SiteNode
from canhgac_collector.store.models import Device, DeviceInterface, DeviceNeighbor, Event, Host

log = logging.getLogger("canhgac.alerting")


@dataclass(frozen=True)
class RuleSettings:
    enabled: bool
    threshold: float
    for_s: float
    severity: str


#: Out-of-the-box settings. Units: ratios 0–1, ms, errors/s, °C, reports, seconds (event rules: how long
#: the alert stays after the event).
DEFAULTS: dict[str, RuleSettings] = {
    "site_unreachable": RuleSettings(True, 0, 0, "critical"),
    # A short `for` lets every member of a cut-off site go down before anything fires, so the site
    # alert (root cause) wins over one alert per PC.
    "host_down": RuleSettings(True, 0, 120, "warning"),
    "device_down": RuleSettings(True, 0, 60, "critical"),
    "link_down": RuleSettings(True, 0, 60, "warning"),
    "probe_loss": RuleSettings(True, 0.2, 300, "warning"),
    "probe_latency": RuleSettings(True, 300, 600, "warning"),
    "interface_errors": RuleSettings(True, 1.0, 600, "warning"),
    "interface_utilisation": RuleSettings(True, 0.9, 900, "warning"),
    "disk_usage": RuleSettings(True, 0.9, 600, "warning"),
    "memory_usage": RuleSettings(True, 0.95, 900, "info"),
    "temperature": RuleSettings(True, 75, 300, "warning"),
    "spool_backlog": RuleSettings(True, 500, 600, "warning"),
    "config_changed": RuleSettings(True, 3600, 0, "info"),
    "compliance_drift": RuleSettings(True, 86400, 0, "warning"),
    "cpu_usage": RuleSettings(True, 0.9, 900, "warning"),  # devices: the profile's device CPU value
    "hardware_failed": RuleSettings(True, 0, 120, "critical"),  # a device's fan or power supply failed
    # LAN sensor detections (lan/): one alert per rogue server / spoofer / MAC while it keeps being seen
    "lan_dhcp_rogue": RuleSettings(True, 3600, 0, "critical"),
    "lan_arp_spoof": RuleSettings(True, 3600, 0, "critical"),
    "lan_ip_conflict": RuleSettings(True, 3600, 0, "warning"),
    "lan_mac_flood": RuleSettings(True, 3600, 0, "warning"),
    "lan_device_new": RuleSettings(True, 86400, 0, "warning"),
    # Every agent of a site silent while the data centre still reaches the site's declared address.
    "site_silent_link_up": RuleSettings(True, 0, 0, "warning"),
}
#: Event kinds that raise the event rules (written by the config puller and the compliance scanner).
EVENT_RULES = {
    "config_changed": "device.config_changed",
    "compliance_drift": "compliance.drift",
    "lan_dhcp_rogue": "lan.dhcp_rogue",
    "lan_arp_spoof": "lan.arp_spoof",
    "lan_ip_conflict": "lan.ip_conflict",
    "lan_mac_flood": "lan.mac_flood",
    "lan_device_new": "lan.device_new",
}
#: The event a linkDown trap leaves (devices/traps/): subject "<device>/<ifIndex>", as link_down's.
TRAP_LINK_DOWN = "trap.link_down"


def _apply(base: RuleSettings, o: RuleOverride) -> RuleSettings:
    return RuleSettings(
        o.enabled if o.enabled is not None else base.enabled,
        o.threshold if o.threshold is not None else base.threshold,
        o.for_s if o.for_s is not None else base.for_s,
        o.severity if o.severity is not None else base.severity,
    )


class RuleBook:
    """Rule settings per site: defaults ← `alerting.rules` ← each `overrides` entry from the root down
    to the site (the deepest wins)."""

    def __init__(self, config: AlertingConfig, tree: dict[str, SiteNode]) -> None:
        check_site_references(config, tree)  # an override for an unknown site would never apply
        by_site = {o.site: o for o in config.overrides}
        base = {r: _apply(s, config.rules[r]) if r in config.rules else s for r, s in DEFAULTS.items()}
        self._by_site: dict[str, dict[str, RuleSettings]] = {}
        for code, node in tree.items():  # parents come first
            settings = dict(self._by_site[node.parent_code]) if node.parent_code else dict(base)
            o = by_site.get(code)
            if o is not None:
                for rule, ov in o.rules.items():
                    settings[rule] = _apply(settings[rule], ov)
            self._by_site[code] = settings
        self._base = base

    def get(self, rule: str, site_code: str | None) -> RuleSettings:
        if site_code is not None and site_code in self._by_site:
            return self._by_site[site_code][rule]
        return self._base[rule]


@dataclass
class Condition:
    """Something wrong now. `key` identifies it across evaluations."""

    rule: str
    subject_type: str
    subject_id: str
    subject_name: str
    site_code: str
    since: dt.datetime
    value: float | None = None
    threshold: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # The device itself said so (a linkDown trap): fires at once, without waiting the rule's `for`.
    confirmed: bool = False

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject_type}:{self.subject_id}"


@dataclass(frozen=True)
class _Member:
    kind: str  # host | device
    id: str
    name: str
    site: str
    down: bool
    last_heard: dt.datetime | None
    delayed: bool = False  # an edge-polled device without recent polls: silent, never "down" itself


def _site_unreachable(
    members: list[_Member],
    tree: dict[str, SiteNode],
    book: RuleBook,
    min_members: int,
    link_up: Mapping[str, bool] | None = None,
) -> tuple[list[Condition], set[str]]:
    """Top-down: the highest site whose whole subtree (≥ min_members monitored) is down. A site whose
    declared address the data centre still reaches (`link_up`) is `site_silent_link_up` instead: its
    line works, something inside the site (power, switch) does not."""
    by_path: dict[str, list[_Member]] = {}
    for m in members:
        node = tree.get(m.site)
        if node is not None:
            by_path.setdefault(node.path, []).append(m)
    conditions: list[Condition] = []
    covered: set[str] = set()  # site codes inside a grouped subtree
    for top, top_node in tree.items():
        code, node = top, top_node
        if code in covered or node.parent_code in covered or not book.get("site_unreachable", code).enabled:
            continue
        inside = [m for p, ms in by_path.items() if p.startswith(node.path) for m in ms]
        if len(inside) < min_members or not all(m.down for m in inside):
            continue
        # A district with nothing of its own and one cut-off commune: the commune is the root cause.
        while node.path not in by_path:
            kids = [
                k
                for k, n in tree.items()
                if n.parent_code == code and any(p.startswith(n.path) for p in by_path)
            ]
            if len(kids) != 1:
                break
            code, node = kids[0], tree[kids[0]]
        heard = [m.last_heard for m in inside if m.last_heard is not None]
        since = max(heard) if heard else dt.datetime.now(dt.UTC)
        hosts = sorted(m.name for m in inside if m.kind == "host")
        devices = sorted(m.name for m in inside if m.kind == "device")
        rule = "site_silent_link_up" if (link_up or {}).get(code) is True else "site_unreachable"
        covered.add(code)
        covered.update(k for k, n in tree.items() if n.path.startswith(node.path))
        if not book.get(rule, code).enabled:
            continue
        conditions.append(
            Condition(
                rule,
                "site",
                code,
                node.config.name,
                code,
                since,
                value=float(len(inside)),
                data={
                    "hosts": len(hosts),
                    "devices": len(devices),
                    "affected": {"hosts": hosts, "devices": devices},
                    "members": sorted(member_key(m.kind, m.id) for m in inside),
                },
            )
        )
    # descendants of a covered site are covered too (tree order: parents first)
    for code, node in tree.items():
        if node.parent_code in covered:
            covered.add(code)
    return conditions, covered


def collect_conditions(
    session: Session,
    config: AlertingConfig,
    book: RuleBook,
    tree: dict[str, SiteNode],
    site_codes: dict[int, str],
    now: dt.datetime,
    confined: Counter[str] | None = None,
    held: set[str] | None = None,
    link_up: Mapping[str, bool] | None = None,
) -> list[Condition]:
    """Every condition true now, across all rules (grouped by root cause). A host, device, interface or
    event whose stored data cannot be read is skipped alone (logged, counted in `confined` by stage):
    one poisoned record never blinds alerting for the rest of the province. Members in `held` (an open
    outage's, see outage.py) raise no down alert of their own; `link_up`: site code → whether the data
    centre reaches the site's declared address now."""
    confined = confined if confined is not None else Counter()
    hosts = session.execute(
        select(Host.id, Host.hostname, Host.site_id, Host.state, Host.last_report_at, Host.latest_report)
    ).all()
    devices = session.scalars(select(Device)).all()
    members: list[_Member] = []
    for h in hosts:
        if h.state == "new" or h.site_id not in site_codes:
            continue
        members.append(
            _Member("host", h.id, h.hostname, site_codes[h.site_id], h.state == "down", h.last_report_at)
        )
    down_hosts = {h.id for h in hosts if h.state == "down"}
    for d in devices:
        if d.state == "unknown" or d.site_id not in site_codes:
            continue
        # An edge-polled device whose agent is down is as silent as its agent, before its delay window.
        delayed = d.state == "delayed" or (is_edge_polled(d) and d.edge_host_id in down_hosts)
        down = delayed or d.state == "down" or (d.state == "error" and d.state_reason == "timeout")
        code = site_codes[d.site_id]
        members.append(_Member("device", d.name, d.name, code, down, d.last_ok_at, delayed))
    out, covered = _site_unreachable(members, tree, book, config.site_min_members, link_up)
    held = held or set()

    def on(rule: str, site: str) -> RuleSettings | None:
        s = book.get(rule, site)
        return s if s.enabled and site not in covered else None

    # A down device and the down members behind it: one alert (grouping.py), members grouped silent.
    site_ids = {code: site_id for site_id, code in site_codes.items()}
    may_group = {
        m.id: site_ids[m.site]
        for m in members
        if m.kind == "device"
        and m.down
        and not m.delayed
        and on("device_down", m.site)
        and member_key(m.kind, m.id) not in held
    }
    # Late hosts (stale, not yet down) count as silent here, so the switch's first message can list them.
    late = {h.id for h in hosts if h.state == "stale"}
    keyed = {member_key(m.kind, m.id): (m.name, m.down or m.id in late) for m in members}
    try:
        behind, grouped = group_behind(session, keyed, may_group)
    except Exception:  # a map that cannot be drawn only loses the grouping
        _confine(confined, "topology", "devices behind down devices")
        behind, grouped = {}, set()
    for m in members:
        key = member_key(m.kind, m.id)
        if (
            m.down
            and not m.delayed
            and on(f"{m.kind}_down", m.site)
            and key not in held
            and key not in grouped
        ):
            data = behind.get(m.id, {}) if m.kind == "device" else {}
            out.append(
                Condition(f"{m.kind}_down", m.kind, m.id, m.name, m.site, m.last_heard or now, data=data)
            )
    # host metrics from each live host's newest report
    for h in hosts:
        site = site_codes.get(h.site_id)
        if site is None or site in covered or h.state not in ("up", "stale") or not h.latest_report:
            continue
        try:
            report: dict[str, Any] = orjson.loads(h.latest_report)
            out.extend(_host_metric_conditions(h.id, h.hostname, site, report, on, now))
        except Exception:
            _confine(confined, "host", h.id)
    # devices: temperature, CPU, memory, failed fans/PSUs; interfaces: link down, errors, utilisation
    dev_by_id = {d.id: d for d in devices}
    for d in devices:
        site = site_codes.get(d.site_id)
        if site is None or d.state != "up":
            continue
        try:
            s = on("temperature", site)
            temps = (d.resources or {}).get("temperatures_c") or {}
            values = list(temps.values()) if isinstance(temps, dict) else list(temps)
            hot = max((float(t) for t in values if isinstance(t, int | float)), default=None)
            if s and hot is not None and hot >= s.threshold:
                out.append(Condition("temperature", "device", d.name, d.name, site, now, hot, s.threshold))
            out.extend(_device_health_conditions(d.name, site, d.resources or {}, on, now))
        except Exception:
            _confine(confined, "device", d.name)
    linked = {
        (dev, idx)
        for dev, idx in session.execute(select(DeviceNeighbor.device_id, DeviceNeighbor.local_if_index))
        if idx is not None
    }
    # Only the interfaces some rule could fire on (48-port switches × 1,000: most rows are quiet).
    util_min = min(book.get("interface_utilisation", c).threshold for c in tree) if tree else 1.0
    candidates = select(DeviceInterface).where(
        or_(
            and_(
                DeviceInterface.admin_status == "up",
                DeviceInterface.oper_status.in_(("down", "lowerLayerDown")),
            ),
            DeviceInterface.in_errors_ps > 0,
            DeviceInterface.out_errors_ps > 0,
            DeviceInterface.utilisation >= util_min,
        )
    )
    # Links whose device sent a linkDown trap within the rule's `for`: the device's word needs no wait.
    longest_for = max(book.get("link_down", c).for_s for c in tree) if tree else 0.0
    trapped = set(
        session.scalars(
            select(Event.subject_id).where(
                Event.kind == TRAP_LINK_DOWN, Event.at >= now - dt.timedelta(seconds=longest_for)
            )
        )
    )
    for itf in session.scalars(candidates):
        owner = dev_by_id.get(itf.device_id)
        if owner is None or owner.state != "up" or owner.site_id not in site_codes:
            continue
        try:
            found = _interface_conditions(itf, owner.name, site_codes[owner.site_id], linked, on, now)
            for c in found:
                c.confirmed = c.rule == "link_down" and c.subject_id in trapped
            out.extend(found)
        except Exception:
            _confine(confined, "interface", f"{owner.name}/{itf.if_index}")
    # event rules: an event of the kind within the hold time (threshold seconds) keeps the alert
    longest = max(book.get(r, None).threshold for r in EVENT_RULES)
    events = session.scalars(
        select(Event).where(
            Event.kind.in_(list(EVENT_RULES.values())), Event.at >= now - dt.timedelta(seconds=longest)
        )
    ).all()
    for rule, kind in EVENT_RULES.items():
        for e in events:
            site = site_codes.get(e.site_id or -1)
            s = on(rule, site) if site else None
            if e.kind != kind or site is None or s is None:
                continue
            if e.at >= now - dt.timedelta(seconds=s.threshold):
                # an event may name its subject for people (composed by the server, e.g. "IP (MAC)")
                shown = (e.data or {}).get("subject_name")
                out.append(
                    Condition(
                        rule,
                        e.subject_type,
                        e.subject_id,
                        shown if isinstance(shown, str) and shown else e.subject_id,
                        site,
                        e.at,
                        data={"event_id": e.id, "message": e.message},
                    )
                )
    return _dedupe(out)


def _device_health_conditions(
    device: str, site: str, resources: dict[str, Any], on: Any, now: dt.datetime
) -> list[Condition]:
    """CPU and memory above threshold, and one condition per failed fan or power supply."""
    out: list[Condition] = []
    for rule, key in (("cpu_usage", "cpu_percent"), ("memory_usage", "memory_percent")):
        s = on(rule, site)
        percent = resources.get(key)
        if s and isinstance(percent, int | float) and percent / 100 >= s.threshold:
            out.append(Condition(rule, "device", device, device, site, now, percent / 100, s.threshold))
    s = on("hardware_failed", site)
    for kind in ("fans", "power_supplies") if s else ():
        for part in (resources.get(kind) or [])[:64]:
            if isinstance(part, dict) and part.get("state") == "failed":
                name = str(part.get("name"))[:64]
                out.append(
                    Condition(
                        "hardware_failed",
                        "device",
                        f"{device}/{kind}/{name}",
                        f"{device} {name}",
                        site,
                        now,
                        data={"part": kind, "name": name},
                    )
                )
    return out


def _interface_conditions(
    itf: DeviceInterface,
    device: str,
    site: str,
    linked: set[tuple[int, int]],
    on: Any,
    now: dt.datetime,
) -> list[Condition]:
    out: list[Condition] = []
    name = f"{device} {itf.if_name or itf.if_descr or itf.if_index}"
    sid = f"{device}/{itf.if_index}"
    # A "link" is a port with a neighbour (LLDP/CDP) or a description: access ports going down when a PC
    # is switched off are not news.
    is_link = (itf.device_id, itf.if_index) in linked or bool(itf.if_alias)
    if (
        is_link
        and itf.admin_status == "up"
        and itf.oper_status in ("down", "lowerLayerDown")
        and on("link_down", site)
    ):
        out.append(Condition("link_down", "interface", sid, name, site, now, data={"alias": itf.if_alias}))
    s = on("interface_errors", site)
    errs = (itf.in_errors_ps or 0.0) + (itf.out_errors_ps or 0.0)
    if s and errs >= s.threshold and errs > 0:
        out.append(Condition("interface_errors", "interface", sid, name, site, now, errs, s.threshold))
    s = on("interface_utilisation", site)
    if s and itf.utilisation is not None and itf.utilisation >= s.threshold:
        out.append(
            Condition(
                "interface_utilisation", "interface", sid, name, site, now, itf.utilisation, s.threshold
            )
        )
    return out


def _confine(confined: Counter[str], stage: str, subject: str) -> None:
    confined[stage] += 1
    log.exception("alert evaluation skipped %s %s: its stored data cannot be read", stage, subject)


def _dedupe(conditions: list[Condition]) -> list[Condition]:
    """One condition per key (the newest event of an event rule wins)."""
    seen: dict[str, Condition] = {}
    for c in conditions:
        old = seen.get(c.key)
        if old is None or c.since > old.since:
            seen[c.key] = c
    return list(seen.values())


def _host_metric_conditions(
    host_id: str, hostname: str, site: str, report: dict[str, Any], on: Any, now: dt.datetime
) -> list[Condition]:
    out: list[Condition] = []
    metrics = report.get("metrics") or {}
    s = on("disk_usage", site)
    fss = metrics.get("filesystems") or []
    if s and fss:
        worst = max(fss, key=lambda f: f.get("percent", 0))
        ratio = float(worst.get("percent", 0)) / 100
        if ratio >= s.threshold:
            out.append(
                Condition(
                    "disk_usage",
                    "host",
                    host_id,
                    hostname,
                    site,
                    now,
                    ratio,
                    s.threshold,
                    {"mountpoint": worst.get("mountpoint")},
                )
            )
    s = on("memory_usage", site)
    mem = metrics.get("memory") or {}
    if s and "percent" in mem and float(mem["percent"]) / 100 >= s.threshold:
        out.append(
            Condition(
                "memory_usage", "host", host_id, hostname, site, now, float(mem["percent"]) / 100, s.threshold
            )
        )
    s = on("temperature", site)
    temps = [t.get("current_c") for t in ((metrics.get("sensors") or {}).get("temperatures") or [])]
    hot = max((float(t) for t in temps if isinstance(t, int | float)), default=None)
    if s and hot is not None and hot >= s.threshold:
        out.append(Condition("temperature", "host", host_id, hostname, site, now, hot, s.threshold))
    loss_s, lat_s = on("probe_loss", site), on("probe_latency", site)
    for p in report.get("probes") or []:
        pname = f"{hostname} → {p.get('name')}"
        pid = f"{host_id}/{p.get('name')}"
        loss = p.get("loss_ratio")
        if loss_s and isinstance(loss, int | float) and loss >= loss_s.threshold and loss > 0:
            out.append(Condition("probe_loss", "probe", pid, pname, site, now, float(loss), loss_s.threshold))
        rtt = p.get("rtt_avg_ms")
        if lat_s and isinstance(rtt, int | float) and rtt >= lat_s.threshold:
            out.append(
                Condition("probe_latency", "probe", pid, pname, site, now, float(rtt), lat_s.threshold)
            )
    s = on("spool_backlog", site)
    backlog = (report.get("agent") or {}).get("spool_backlog")
    if s and isinstance(backlog, int) and backlog >= s.threshold:
        out.append(
            Condition("spool_backlog", "host", host_id, hostname, site, now, float(backlog), s.threshold)
        )
    return out
