"""In-memory self-metrics and state snapshots, rendered for `/metrics` without any I/O at scrape time.

Counters are plain integers updated by the event loop or the ingest writer thread (a lost increment
under a race is acceptable for metrics; correctness never depends on them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class Telemetry:
    ingest_requests: Counter[str] = field(default_factory=Counter)  # by HTTP status code
    ingest_reports: Counter[str] = field(default_factory=Counter)  # accepted | duplicate | refused
    ingest_batches_committed: int = 0
    ingest_commit_seconds_sum: float = 0.0
    ingest_queue_depth: int = 0
    # (site code, state) → hosts; refreshed by the host-state loop.
    hosts_by_site_state: dict[tuple[str, str], int] = field(default_factory=dict)
    # (site code, host id, hostname) → reports waiting in that agent's spool, from its last report.
    agent_spool_backlog: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # SNMP poller: polls by outcome (ok or an SnmpError reason), time spent, devices by site and state.
    snmp_polls: Counter[str] = field(default_factory=Counter)
    snmp_poll_seconds_sum: float = 0.0
    snmp_varbinds: int = 0
    snmp_record_queue_depth: int = 0
    devices_by_site_state: dict[tuple[str, str], int] = field(default_factory=dict)

    def render(self) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        family("canhgac_ingest_requests_total", "counter", "Agent report requests answered, by HTTP status.")
        for code, n in sorted(self.ingest_requests.items()):
            out.append(f'canhgac_ingest_requests_total{{code="{code}"}} {n}')
        family("canhgac_ingest_reports_total", "counter", "Agent reports by outcome.")
        for outcome in ("accepted", "duplicate", "refused"):
            out.append(f'canhgac_ingest_reports_total{{outcome="{outcome}"}} {self.ingest_reports[outcome]}')
        family("canhgac_ingest_commits_total", "counter", "Group commits of the ingest writer.")
        out.append(f"canhgac_ingest_commits_total {self.ingest_batches_committed}")
        family("canhgac_ingest_commit_seconds_total", "counter", "Time spent in ingest group commits.")
        out.append(f"canhgac_ingest_commit_seconds_total {self.ingest_commit_seconds_sum:.6f}")
        family("canhgac_ingest_queue_depth", "gauge", "Ingest jobs waiting for the writer.")
        out.append(f"canhgac_ingest_queue_depth {self.ingest_queue_depth}")
        family("canhgac_hosts", "gauge", "Hosts by site and state (up, stale, down, new).")
        for (site, state), n in sorted(self.hosts_by_site_state.items()):
            out.append(f'canhgac_hosts{{site="{_escape(site)}",state="{state}"}} {n}')
        family(
            "canhgac_agent_spool_backlog", "gauge", "Reports waiting in an agent's spool, as it last said."
        )
        for (site, host_id, hostname), n in sorted(self.agent_spool_backlog.items()):
            out.append(
                f'canhgac_agent_spool_backlog{{site="{_escape(site)}",host_id="{host_id}",'
                f'host="{_escape(hostname)}"}} {n}'
            )
        family("canhgac_snmp_polls_total", "counter", "Device polls by outcome (ok, or why it failed).")
        for outcome, n in sorted(self.snmp_polls.items()):
            out.append(f'canhgac_snmp_polls_total{{outcome="{_escape(outcome)}"}} {n}')
        family("canhgac_snmp_poll_seconds_total", "counter", "Wall time spent polling devices.")
        out.append(f"canhgac_snmp_poll_seconds_total {self.snmp_poll_seconds_sum:.6f}")
        family("canhgac_snmp_varbinds_total", "counter", "Varbinds received from devices.")
        out.append(f"canhgac_snmp_varbinds_total {self.snmp_varbinds}")
        family("canhgac_snmp_record_queue_depth", "gauge", "Device polls waiting to be stored.")
        out.append(f"canhgac_snmp_record_queue_depth {self.snmp_record_queue_depth}")
        family("canhgac_devices", "gauge", "Devices by site and state (up, down, error, unknown).")
        for (site, state), n in sorted(self.devices_by_site_state.items()):
            out.append(f'canhgac_devices{{site="{_escape(site)}",state="{state}"}} {n}')
        return "\n".join(out) + "\n"
