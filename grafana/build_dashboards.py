"""Writes grafana/dashboards/*.json: the Canh Gác dashboards, generated so uids, ids, variables and
datasource references stay consistent. Run after editing: `.venv/bin/python grafana/build_dashboards.py`
(tests/grafana checks the committed files equal what this produces, and runs every query on Prometheus).

Variables chain province → subtree → sites → host/device → interface: `subtree` is a site path from
`canhgac_site_info`, `site` every site code under it (multi-value, "All" by default), so every query
filters with `site=~"$site"` and a commune's officer picks their subtree once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PROM = {"type": "prometheus", "uid": "canhgac-prometheus"}
INFLUX = {"type": "influxdb", "uid": "canhgac-influxdb"}
SCHEMA_VERSION = 39
OUT = Path(__file__).parent / "dashboards"
SITE = 'site=~"$site"'


def variable(
    name: str, label: str, query: str, *, multi: bool = False, include_all: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROM,
        "query": {"query": query, "refId": f"var-{name}"},
        "definition": query,
        "refresh": 2,  # on time range change
        "sort": 1,
        "multi": multi,
        "includeAll": include_all,
        "current": {},
        "hide": 0,
    }


SUBTREE = variable("subtree", "Địa bàn / Subtree", "label_values(canhgac_site_info, site_path)")
SITES = variable(
    "site",
    "Đơn vị / Site",
    'label_values(canhgac_site_info{site_path=~"$subtree.*"}, site)',
    multi=True,
    include_all=True,
)
HOST = variable(
    "host", "Máy / Host", f"label_values(canhgac_host_up{{{SITE}}}, host)", multi=True, include_all=True
)
DEVICE = variable("device", "Thiết bị / Device", f"label_values(canhgac_device_up{{{SITE}}}, device)")
INTERFACE = variable(
    "interface",
    "Cổng / Interface",
    f'label_values(canhgac_interface_oper_up{{{SITE},device=~"$device"}}, ifname)',
    multi=True,
    include_all=True,
)


class Board:
    def __init__(self, uid: str, title: str, tags: list[str], variables: list[dict[str, Any]]) -> None:
        self.uid = uid
        self.title = title
        self.tags = tags
        self.variables = variables
        self.panels: list[dict[str, Any]] = []
        self._x = 0
        self._y = 0
        self._row_h = 0

    def _place(self, w: int, h: int) -> dict[str, int]:
        if self._x + w > 24:
            self._x = 0
            self._y += self._row_h
            self._row_h = 0
        pos = {"x": self._x, "y": self._y, "w": w, "h": h}
        self._x += w
        self._row_h = max(self._row_h, h)
        return pos

    def panel(
        self,
        kind: str,
        title: str,
        targets: list[tuple[str, str]],  # (PromQL, legend)
        *,
        unit: str = "short",
        w: int = 12,
        h: int = 8,
        instant: bool = False,
        thresholds: list[tuple[float, str]] | None = None,
        description: str = "",
        datasource: dict[str, str] = PROM,
    ) -> None:
        steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
        steps += [{"color": color, "value": value} for value, color in (thresholds or [])]
        panel: dict[str, Any] = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": datasource,
            "gridPos": self._place(w, h),
            "fieldConfig": {
                "defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
                "overrides": [],
            },
            "options": {},
            "targets": [],
        }
        for i, (expr, legend) in enumerate(targets):
            ref = chr(ord("A") + i)
            if datasource is INFLUX:
                panel["targets"].append({"refId": ref, "datasource": datasource, "query": expr})
            else:
                panel["targets"].append(
                    {
                        "refId": ref,
                        "datasource": datasource,
                        "expr": expr,
                        "legendFormat": legend,
                        "instant": instant,
                        "range": not instant,
                        "format": "table" if kind == "table" else "time_series",
                    }
                )
        if kind == "table":
            panel["transformations"] = [{"id": "merge", "options": {}}]
        self.panels.append(panel)

    def json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "tags": ["canhgac", *self.tags],
            "timezone": "browser",
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": self.variables},
            "annotations": {"list": []},
            "links": [
                {
                    "type": "dashboards",
                    "tags": ["canhgac"],
                    "asDropdown": True,
                    "title": "Canh Gác",
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "panels": self.panels,
        }


def province() -> Board:
    b = Board("canhgac-province", "Tổng quan tỉnh / Province overview", ["province"], [SUBTREE, SITES])
    b.panel(
        "stat",
        "Máy hoạt động / Hosts up",
        [(f'sum(canhgac_host_state{{{SITE},state="up"}})', "up")],
        w=6,
        h=4,
        instant=True,
    )
    b.panel(
        "stat",
        "Máy mất liên lạc / Hosts down",
        [(f'sum(canhgac_host_state{{{SITE},state="down"}})', "down")],
        w=6,
        h=4,
        instant=True,
        thresholds=[(1, "red")],
    )
    b.panel(
        "stat",
        "Thiết bị hoạt động / Devices up",
        [(f"sum(canhgac_device_up{{{SITE}}})", "up")],
        w=6,
        h=4,
        instant=True,
    )
    b.panel(
        "stat",
        "Thiết bị lỗi / Devices not up",
        [(f'sum(canhgac_device_state{{{SITE},state!="up"}})', "not up")],
        w=6,
        h=4,
        instant=True,
        thresholds=[(1, "red")],
    )
    b.panel(
        "table",
        "Máy theo đơn vị và trạng thái / Hosts by site and state",
        [(f"sum by (site, state) (canhgac_host_state{{{SITE}}})", "")],
        instant=True,
    )
    b.panel(
        "table",
        "Thiết bị theo đơn vị và trạng thái / Devices by site and state",
        [(f"sum by (site, state) (canhgac_device_state{{{SITE}}})", "")],
        instant=True,
    )
    b.panel(
        "bargauge",
        "Đường truyền mất gói nhiều nhất / Worst links by loss",
        [
            (
                f"topk(10, max by (site, host, target) (canhgac_probe_loss_ratio{{{SITE}}}))",
                "{{site}} {{host}} → {{target}}",
            )
        ],
        unit="percentunit",
        instant=True,
        thresholds=[(0.05, "orange"), (0.2, "red")],
    )
    b.panel(
        "bargauge",
        "Đường truyền trễ nhất / Worst links by latency",
        [
            (
                f"topk(10, max by (site, host, target) (canhgac_probe_latency_seconds{{{SITE}}}))",
                "{{site}} {{host}} → {{target}}",
            )
        ],
        unit="s",
        instant=True,
        thresholds=[(0.1, "orange"), (0.3, "red")],
    )
    b.panel(
        "bargauge",
        "Cổng quá tải / Saturated ports",
        [(f"topk(10, canhgac_interface_utilisation_ratio{{{SITE}}})", "{{device}} {{ifname}}")],
        unit="percentunit",
        instant=True,
        thresholds=[(0.7, "orange"), (0.9, "red")],
    )
    b.panel(
        "bargauge",
        "Cổng lỗi nhiều nhất / Ports with most errors",
        [
            (
                f"topk(10, sum by (site, device, ifname) (canhgac_interface_errors_per_second{{{SITE}}}))",
                "{{device}} {{ifname}}",
            )
        ],
        unit="pps",
        instant=True,
        thresholds=[(1, "orange"), (10, "red")],
    )
    b.panel(
        "bargauge",
        "Máy sắp đầy đĩa / Hosts running out of disk",
        [
            (
                f"topk(10, max by (site, host, mountpoint) (canhgac_host_filesystem_usage_ratio{{{SITE}}}))",
                "{{host}} {{mountpoint}}",
            )
        ],
        unit="percentunit",
        instant=True,
        thresholds=[(0.8, "orange"), (0.95, "red")],
    )
    b.panel(
        "bargauge",
        "Tuân thủ theo cấp độ / Compliance by level",
        [(f"avg by (level) (canhgac_compliance_score_ratio{{{SITE}}})", "cấp độ / level {{level}}")],
        unit="percentunit",
        instant=True,
        description="Trống cho tới khi có kết quả kiểm tra tuân thủ. Empty until compliance scans report.",
    )
    return b


def site() -> Board:
    b = Board("canhgac-site", "Đơn vị / Site", ["site"], [SUBTREE, SITES])
    b.panel(
        "timeseries",
        "Máy hoạt động theo đơn vị / Hosts up by site",
        [(f"sum by (site) (canhgac_host_up{{{SITE}}})", "{{site}}")],
    )
    b.panel(
        "timeseries",
        "Thiết bị hoạt động theo đơn vị / Devices up by site",
        [(f"sum by (site) (canhgac_device_up{{{SITE}}})", "{{site}}")],
    )
    b.panel(
        "timeseries",
        "Mất gói trung bình / Mean probe loss by site",
        [(f"avg by (site) (canhgac_probe_loss_ratio{{{SITE}}})", "{{site}}")],
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Độ trễ trung bình / Mean probe latency by site",
        [(f"avg by (site) (canhgac_probe_latency_seconds{{{SITE}}})", "{{site}}")],
        unit="s",
    )
    b.panel(
        "table",
        "Máy và thời gian báo cáo / Hosts and report age",
        [(f"canhgac_host_last_report_age_seconds{{{SITE}}}", "")],
        unit="s",
        instant=True,
    )
    b.panel("table", "Thiết bị / Devices", [(f"canhgac_device_up{{{SITE}}}", "")], instant=True)
    b.panel(
        "timeseries",
        "Hàng đợi của tác tử / Agent spool backlog",
        [(f"sum by (site) (canhgac_agent_spool_backlog{{{SITE}}})", "{{site}}")],
    )
    b.panel(
        "timeseries",
        "CPU cao nhất / Busiest hosts (CPU)",
        [(f"topk(5, canhgac_host_cpu_usage_ratio{{{SITE}}})", "{{host}}")],
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Thiết bị: quạt, nguồn không ổn / Device fans and PSUs not ok",
        [
            (
                f'sum by (site) ({family}{{{SITE},state!="ok"}}) or sum by (site) ({family}{{{SITE}}}) * 0',
                "{{site}} " + legend,
            )
            for family, legend in (
                ("canhgac_device_fan_state", "quạt / fans"),
                ("canhgac_device_power_supply_state", "nguồn / PSUs"),
            )
        ],
        thresholds=[(1, "red")],
    )
    b.panel(
        "timeseries",
        "Thiết bị nóng nhất / Hottest devices",
        [(f"topk(5, max by (site, device) (canhgac_device_temperature_celsius{{{SITE}}}))", "{{device}}")],
        unit="celsius",
    )
    return b


def device() -> Board:
    b = Board(
        "canhgac-device",
        "Thiết bị và cổng / Device & interfaces",
        ["device"],
        [SUBTREE, SITES, DEVICE, INTERFACE],
    )
    dev = f'{SITE},device="$device"'
    itf = f'{dev},ifname=~"$interface"'
    b.panel(
        "stat",
        "Trạng thái / State",
        [(f"canhgac_device_up{{{dev}}}", "up")],
        w=6,
        h=4,
        instant=True,
        thresholds=[(0, "red"), (1, "green")],
    )
    b.panel(
        "stat",
        "Thời gian thăm dò / Poll duration",
        [(f"canhgac_device_poll_duration_seconds{{{dev}}}", "")],
        w=6,
        h=4,
        unit="s",
        instant=True,
    )
    b.panel(
        "stat",
        "Cổng hoạt động / Ports up",
        [(f"sum(canhgac_interface_oper_up{{{dev}}})", "")],
        w=6,
        h=4,
        instant=True,
    )
    b.panel(
        "stat",
        "Lần thăm dò cuối / Last poll",
        [(f"time() - canhgac_device_last_poll_timestamp_seconds{{{dev}}}", "")],
        w=6,
        h=4,
        unit="s",
        instant=True,
    )
    b.panel(
        "timeseries",
        "Lưu lượng vào / Inbound",
        [(f"canhgac_interface_in_bytes_per_second{{{itf}}}", "{{ifname}}")],
        unit="Bps",
    )
    b.panel(
        "timeseries",
        "Lưu lượng ra / Outbound",
        [(f"canhgac_interface_out_bytes_per_second{{{itf}}}", "{{ifname}}")],
        unit="Bps",
    )
    b.panel(
        "timeseries",
        "Mức sử dụng / Utilisation",
        [(f"canhgac_interface_utilisation_ratio{{{itf}}}", "{{ifname}}")],
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Lỗi và hủy gói / Errors and discards",
        [
            (f"canhgac_interface_errors_per_second{{{itf}}}", "{{ifname}} lỗi/errors {{direction}}"),
            (f"canhgac_interface_discards_per_second{{{itf}}}", "{{ifname}} hủy/discards {{direction}}"),
        ],
        unit="pps",
    )
    b.panel(
        "table",
        "Trạng thái cổng / Port status",
        [
            (f"canhgac_interface_oper_up{{{itf}}}", ""),
            (f"canhgac_interface_speed_bytes_per_second{{{itf}}}", ""),
        ],
        instant=True,
        w=24,
    )
    b.panel(
        "timeseries",
        "CPU và bộ nhớ / CPU and memory",
        [
            (f"canhgac_device_cpu_usage_ratio{{{dev}}}", "CPU"),
            (f"canhgac_device_memory_usage_ratio{{{dev}}}", "bộ nhớ / memory"),
        ],
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Nhiệt độ / Temperature",
        [(f"canhgac_device_temperature_celsius{{{dev}}}", "{{sensor}}")],
        unit="celsius",
    )
    _device_parts(b, dev)
    _device_optics(b, dev)
    return b


PART_STATES = {  # fan/PSU state → (colour, text): a failed part stands out in red
    "ok": ("green", "ổn / ok"),
    "warning": ("orange", "cảnh báo / warning"),
    "failed": ("red", "hỏng / failed"),
    "absent": ("text", "không có / absent"),
    "unknown": ("text", "không rõ / unknown"),
}


def _device_parts(b: Board, dev: str) -> None:
    """Fans and power supplies: how many are not ok (red from one), and each part with its state."""
    not_ok = [
        (f'sum({family}{{{dev},state!="ok"}}) or sum({family}{{{dev}}}) * 0', legend)
        for family, legend in (
            ("canhgac_device_fan_state", "quạt / fans"),
            ("canhgac_device_power_supply_state", "nguồn / power supplies"),
        )
    ]
    b.panel(
        "stat",
        "Quạt, nguồn không ổn / Fans and PSUs not ok",
        not_ok,
        w=6,
        instant=True,
        thresholds=[(1, "red")],
    )
    b.panel(
        "table",
        "Quạt và nguồn / Fans and power supplies",
        [
            (f"canhgac_device_fan_state{{{dev}}} == 1", ""),
            (f"canhgac_device_power_supply_state{{{dev}}} == 1", ""),
        ],
        w=18,
        instant=True,
    )
    options = {
        state: {"color": c, "index": i, "text": t} for i, (state, (c, t)) in enumerate(PART_STATES.items())
    }
    mapping = {"type": "value", "options": options}
    b.panels[-1]["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byName", "options": "state"},
            "properties": [
                {"id": "mappings", "value": [mapping]},
                {"id": "custom.cellOptions", "value": {"type": "color-text"}},
            ],
        }
    ]


def _device_optics(b: Board, dev: str) -> None:
    """Transceiver levels per port, and the ports that receive no light (red from one)."""
    b.panel(
        "timeseries",
        "Công suất quang / Optical power",
        [
            (f"canhgac_device_optic_rx_dbm{{{dev}}}", "{{port}} thu / rx"),
            (f"canhgac_device_optic_tx_dbm{{{dev}}}", "{{port}} phát / tx"),
        ],
        unit="dBm",
        w=18,
    )
    b.panel(
        "stat",
        "Cổng quang mất tín hiệu / Optical ports without light",
        [(f'sum(canhgac_device_optic_no_light{{{dev},direction="rx"}})', "")],
        w=6,
        instant=True,
        thresholds=[(1, "red")],
    )


def host() -> Board:
    b = Board("canhgac-host", "Máy trạm và máy chủ / Host", ["host"], [SUBTREE, SITES, HOST])
    h = f'{SITE},host=~"$host"'
    b.panel(
        "stat",
        "Trạng thái / Up",
        [(f"canhgac_host_up{{{h}}}", "{{host}}")],
        w=8,
        h=4,
        instant=True,
        thresholds=[(0, "red"), (1, "green")],
    )
    b.panel(
        "stat",
        "Báo cáo cách đây / Last report",
        [(f"canhgac_host_last_report_age_seconds{{{h}}}", "{{host}}")],
        w=8,
        h=4,
        unit="s",
        instant=True,
        thresholds=[(120, "orange"), (600, "red")],
    )
    b.panel(
        "stat",
        "Hàng đợi của tác tử / Spool backlog",
        [(f"canhgac_agent_spool_backlog{{{h}}}", "{{host}}")],
        w=8,
        h=4,
        instant=True,
    )
    b.panel("timeseries", "CPU", [(f"canhgac_host_cpu_usage_ratio{{{h}}}", "{{host}}")], unit="percentunit")
    b.panel(
        "timeseries",
        "Bộ nhớ / Memory",
        [(f"canhgac_host_memory_usage_ratio{{{h}}}", "{{host}}")],
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Dung lượng đĩa / Filesystem usage",
        [(f"canhgac_host_filesystem_usage_ratio{{{h}}}", "{{host}} {{mountpoint}}")],
        unit="percentunit",
    )
    b.panel("timeseries", "Tải hệ thống / Load (1 min)", [(f"canhgac_host_load1{{{h}}}", "{{host}}")])
    b.panel(
        "timeseries",
        "Kết nối từ máy / Probes from this host",
        [(f"canhgac_probe_latency_seconds{{{h}}}", "{{host}} → {{target}}")],
        unit="s",
        w=24,
    )
    b.panel(
        "timeseries",
        "Lịch sử CPU 30 ngày (InfluxDB) / 30-day CPU history (InfluxDB)",
        [
            (
                'from(bucket: "canhgac") |> range(start: -30d) '
                '|> filter(fn: (r) => r._measurement == "host" and r._field == "cpu_usage_ratio") '
                "|> filter(fn: (r) => r.host =~ /^${host:regex}$/) "
                "|> aggregateWindow(every: 1h, fn: mean, createEmpty: false)",
                "",
            )
        ],
        unit="percentunit",
        w=24,
        datasource=INFLUX,
        description="Lịch sử dài hạn từ InfluxDB của tỉnh. Long-term history from the province's InfluxDB.",
    )
    return b


def connectivity() -> Board:
    b = Board("canhgac-connectivity", "Kết nối / Connectivity", ["connectivity"], [SUBTREE, SITES, HOST])
    h = f'{SITE},host=~"$host"'
    b.panel(
        "timeseries",
        "Mất gói / Loss",
        [(f"canhgac_probe_loss_ratio{{{h}}}", "{{host}} → {{target}}")],
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Độ trễ / Latency",
        [(f"canhgac_probe_latency_seconds{{{h}}}", "{{host}} → {{target}}")],
        unit="s",
    )
    b.panel(
        "timeseries",
        "Độ dao động / Jitter",
        [(f"canhgac_probe_jitter_seconds{{{h}}}", "{{host}} → {{target}}")],
        unit="s",
    )
    b.panel(
        "table",
        "Tỷ lệ sẵn sàng (SLA) / Availability (SLA %)",
        [(f"100 * avg_over_time(canhgac_probe_up{{{h}}}[$__range])", "{{host}} → {{target}}")],
        unit="percent",
        instant=True,
        thresholds=[(99, "green")],
        description="Tỷ lệ các lượt thăm dò thành công trong khoảng thời gian đang xem. "
        "Share of probe rounds that reached their target over the selected range.",
    )
    b.panel(
        "table",
        "Tỷ lệ gói đến đích / Delivery (100% - loss)",
        [(f"100 * (1 - avg_over_time(canhgac_probe_loss_ratio{{{h}}}[$__range]))", "{{host}} → {{target}}")],
        unit="percent",
        instant=True,
    )
    return b


def compliance() -> Board:
    b = Board("canhgac-compliance", "Tuân thủ cấp độ / Compliance", ["compliance"], [SUBTREE, SITES])
    note = (
        "Trống cho tới khi có kết quả kiểm tra tuân thủ. Empty until compliance scans report "
        "(canhgac_compliance_* families)."
    )
    b.panel(
        "table",
        "Điểm theo đơn vị và cấp độ / Score by site and level",
        [(f"canhgac_compliance_score_ratio{{{SITE}}}", "")],
        unit="percentunit",
        instant=True,
        description=note,
    )
    b.panel(
        "bargauge",
        "Điểm theo cấp độ / Score by level",
        [(f"avg by (level) (canhgac_compliance_score_ratio{{{SITE}}})", "cấp độ / level {{level}}")],
        unit="percentunit",
        instant=True,
        description=note,
    )
    b.panel(
        "table",
        "Điểm theo điều khoản / Score by clause",
        [(f"avg by (clause) (canhgac_compliance_clause_score_ratio{{{SITE}}})", "{{clause}}")],
        unit="percentunit",
        instant=True,
        description=note,
        w=24,
    )
    b.panel(
        "timeseries",
        "Diễn biến / Trend",
        [(f"avg by (site) (canhgac_compliance_score_ratio{{{SITE}}})", "{{site}}")],
        unit="percentunit",
        description=note,
        w=24,
    )
    return b


BOARDS = [province, site, device, host, connectivity, compliance]


def render() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    out = {}
    for build in BOARDS:
        board = build()
        out[f"{board.uid.removeprefix('canhgac-')}.json"] = (
            json.dumps(board.json(), ensure_ascii=False, indent=2) + "\n"
        )
    return out


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
