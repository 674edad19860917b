"""One collection cycle (→ a `Report` dict) and the run loop: collect → spool → drain → sleep to the tick.

The loop sleeps on an Event between ticks (no polling), keeps its phase on the monotonic clock, and
between ticks wakes only when the sender's backoff expires with reports waiting. SIGTERM/SIGINT (wired
by the CLI to `Runner.stop`) end it after the current step. Nothing a collector, the spool or the
network does ends the loop: each failure is logged or recorded in `Report.errors`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import random
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from canhgac_agent import __version__
from canhgac_agent.config import AgentConfig, EgressConfig, fields
from canhgac_agent.sender import MAX_BATCH_REPORTS, Backoff, EnrollError, Sender, enroll, save_enrollment
from canhgac_agent.spool import STATE_FILE, Spool, StateFile, read_snapshot

UNENROLLED = "unenrolled"  # agent_id of reports made before enrollment (re-stamped once enrolled)
MAX_ERRORS = 256
MAX_PROBES = 256

_log = logging.getLogger(__name__)


# --- settings ----------------------------------------------------------------------------------------


class Settings(NamedTuple):
    """What is in force: the server's settings (last reply) over the config's; probe targets merged
    with the config's, the local target winning by name."""

    interval_s: float
    security_interval_s: float
    batch_max: int
    probe_gateway: bool
    probe_count: int
    probe_timeout_s: float
    probe_targets: tuple[dict[str, Any], ...]


def effective_settings(config: AgentConfig, server: Any) -> tuple[Settings, list[str]]:
    """Combine config and server settings; returns the settings and the server values ignored as invalid."""
    given: Mapping[str, Any] = server if isinstance(server, Mapping) else {}
    problems: list[str] = []

    def number(key: str, default: float, lo: float, hi: float, integral: bool = False) -> Any:
        if key not in given:
            return default
        value = given[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi
        if ok and integral and not isinstance(value, int):
            ok = False
        if not ok:
            problems.append(f"{key}={value!r}")
            return default
        return value

    gateway = given.get("probe_gateway", config.probes.gateway)
    if not isinstance(gateway, bool):
        problems.append(f"probe_gateway={gateway!r}")
        gateway = config.probes.gateway

    merged: dict[str, dict[str, Any]] = {}
    raw_targets = given.get("probe_targets", [])
    if not isinstance(raw_targets, list):
        problems.append("probe_targets (not a list)")
        raw_targets = []
    for target in raw_targets:
        if (
            isinstance(target, dict)
            and isinstance(target.get("name"), str)
            and isinstance(target.get("kind"), str)
        ):
            merged[target["name"]] = dict(target)
        else:
            problems.append(f"probe_targets entry {target!r}")
    for local in config.probes.targets:
        merged[local.name] = local.as_setting()

    settings = Settings(
        interval_s=float(number("interval_s", config.interval_s, 0.05, 86400.0)),
        security_interval_s=float(
            number("security_interval_s", config.security_interval_s, 1.0, 30 * 86400.0)
        ),
        batch_max=int(number("batch_max", 100, 1, MAX_BATCH_REPORTS, integral=True)),
        probe_gateway=gateway,
        probe_count=int(number("probe_count", config.probes.count, 1, 100, integral=True)),
        probe_timeout_s=float(number("probe_timeout_s", config.probes.timeout_s, 0.05, 60.0)),
        probe_targets=tuple(list(merged.values())[:MAX_PROBES]),
    )
    return settings, problems


# --- one report --------------------------------------------------------------------------------------


def _error(collector: str, exc: BaseException) -> dict[str, str]:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return {"collector": collector[:256], "error": text[:2048]}


def _fallback_identity(config: AgentConfig) -> dict[str, Any]:
    """A minimal valid `HostIdentity` for when the identity collector fails: a report still goes out."""
    machine_id = config.identity.machine_id
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        if machine_id:
            break
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                machine_id = f.read(128).strip() or None
        except OSError:
            pass
    from canhgac_agent.collectors.identity import sha256_hex

    hostname = config.identity.hostname or socket.gethostname() or "unknown"
    return {
        "machine_id": (machine_id or "derived-" + sha256_hex(hostname.encode())[:32])[:128],
        "hostname": hostname[:255],
        "os": {
            "system": (platform.system() or "unknown")[:256],
            "release": platform.release()[:256],
            "version": platform.version()[:2048],
            "arch": (platform.machine() or "unknown")[:256],
        },
        "hardware": {},
    }


def host_identity(config: AgentConfig, errors: list[dict[str, str]]) -> dict[str, Any]:
    """`Report.host` from the identity collector, or a minimal one (and an entry in `errors`) if it fails."""
    try:
        from canhgac_agent.collectors import identity

        host = identity.collect(config.identity.machine_id, config.identity.hostname)
        if not isinstance(host, dict):
            raise TypeError(f"identity.collect returned {type(host).__name__}, not a dict")
        return host
    except Exception as exc:
        errors.append(_error("identity", exc))
        return _fallback_identity(config)


def _security_facts(
    errors: list[dict[str, str]], cache_dir: Path | None, egress: EgressConfig
) -> dict[str, Any] | None:
    try:
        from canhgac_agent.facts import collect_security_facts

        facts, fact_errors = collect_security_facts(cache_dir, egress)
    except Exception as exc:
        errors.append(_error("security", exc))
        return None
    errors.extend(fact_errors)  # one failed fact is reported; the others still go out
    return facts


def build_report(
    config: AgentConfig,
    settings: Settings,
    *,
    agent_id: str,
    seq: int,
    include_security: bool,
    status: Mapping[str, Any],
    collected_at: float | None = None,
    facts_cache_dir: Path | None = None,
    lan: dict[str, Any] | None = None,
    snmp: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Collect everything and return a dict matching `canhgac_api.schemas.report.Report`.

    `facts_cache_dir`: where the security facts may cache the package manager's answer (state dir).
    `lan`: the LAN sensor's section, when the role is enabled.
    `snmp`: the edge poller's section, when the role is enabled.
    """
    from canhgac_agent.collectors import COLLECTORS

    at = time.time() if collected_at is None else collected_at
    errors: list[dict[str, str]] = []
    host = host_identity(config, errors)
    metrics: dict[str, Any] = {}
    for name, collector in COLLECTORS.items():  # the registry's names are the Report.metrics sections
        try:
            metrics[name] = collector.collect()
        except Exception as exc:
            metrics[name] = None
            errors.append(_error(name, exc))
    probes: list[dict[str, Any]] = []
    if settings.probe_gateway or settings.probe_targets:
        try:
            from canhgac_agent.probes import run_probes

            probes = run_probes(
                list(settings.probe_targets),
                gateway=settings.probe_gateway,
                count=settings.probe_count,
                timeout_s=settings.probe_timeout_s,
            )[:MAX_PROBES]
        except Exception as exc:
            errors.append(_error("probes", exc))
    security = _security_facts(errors, facts_cache_dir, config.egress) if include_security else None
    report = {
        "schema_version": 1,
        "agent_id": agent_id,
        "seq": seq,
        "collected_at": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds"),
        "interval_s": settings.interval_s,
        "host": host,
        "metrics": metrics,
        "probes": probes,
        "security": security,
        "agent": dict(status),
        "errors": errors[:MAX_ERRORS],
    }
    if lan is not None:
        report["lan"] = lan
    if snmp is not None:
        report["snmp"] = snmp
    return report


def agent_status(backlog: int, dropped_total: int, rejected_total: int, cycle_cpu_s: float) -> dict[str, Any]:
    return {
        "version": __version__,
        "spool_backlog": backlog,
        "spool_dropped_total": dropped_total,
        "rejected_total": rejected_total,
        "cycle_cpu_s": round(max(0.0, cycle_cpu_s), 6),
    }


def once_report(config: AgentConfig) -> dict[str, Any]:
    """One report as `run` would make it next, touching nothing: no spool write, no send, no state write.

    Works with no state at all (agent_id "unenrolled", seq 1).
    """
    state: dict[str, Any] = {}
    try:
        loaded = json.loads((config.state_dir / STATE_FILE).read_bytes())
        state = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        pass
    snapshot = read_snapshot(config.state_dir)
    high_water = state.get("seq_high_water")
    seq = max(
        high_water + 1 if isinstance(high_water, int) and not isinstance(high_water, bool) else 1,
        snapshot.counters.next_seq if snapshot else 1,
    )
    settings, _ = effective_settings(config, state.get("settings"))
    c = snapshot.counters if snapshot else None
    agent_id = state.get("agent_id")
    return build_report(
        config,
        settings,
        agent_id=agent_id if isinstance(agent_id, str) and agent_id else UNENROLLED,
        seq=seq,
        include_security=True,
        status=agent_status(
            c.backlog if c else 0, c.dropped_total if c else 0, c.rejected_total if c else 0, 0.0
        ),
    )


# --- the loop ----------------------------------------------------------------------------------------


class Runner:
    """The agent process: owns the state file, the spool and the sender."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        state: StateFile | None = None,
        spool: Spool | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.state = state or StateFile(config.state_dir / STATE_FILE)
        self.spool = spool or Spool(
            config.state_dir, self.state, max_bytes=config.spool.max_bytes, max_age_s=config.spool.max_age_s
        )
        self.stop = stop or threading.Event()
        self._server_settings: Any = object()  # forces the first computation
        self.settings, _ = effective_settings(config, None)
        self.sender = Sender(
            self.spool,
            self.state,
            ca_file=config.tls.ca_file,
            verify=config.tls.verify,
            client_cert=config.tls.client_cert,
            on_settings=self._use_server_settings,
            backoff=Backoff(cap_s=config.retry.max_delay_s),
        )
        self._next_link_check: float | None = None  # monotonic time of the next "is the link back?"
        self._jitter = random.Random()  # noqa: S311  (spreading PCs in time, not cryptography)
        self._use_server_settings(self.state.get("settings"))
        self._agent_id: str | None = None
        self._enroll_backoff = Backoff(base_s=5.0)
        self._enroll_retry_at = 0.0
        self._last_security: float | None = None
        self.last_cycle_cpu_s = 0.0
        self.lan_sensor: Any = None
        self.lan_error: str | None = None
        self.edge_poller: Any = None
        self.edge_error: str | None = None
        self._adopt_enrollment()

    # -- state and settings ------------------------------------------------------------------------

    def _use_server_settings(self, server: Any) -> None:
        if server == self._server_settings:
            return
        self._server_settings = server
        self.settings, problems = effective_settings(self.config, server)
        self.sender.batch_max = self.settings.batch_max
        if problems:
            _log.warning("ignoring invalid server settings", extra=fields(values="; ".join(problems)))

    def _adopt_enrollment(self) -> None:
        """Pick up agent_id/token changes (ours or a concurrent `canhgac-agent enroll`)."""
        agent_id = self.state.get("agent_id")
        agent_id = agent_id if isinstance(agent_id, str) and agent_id else None
        if agent_id != self._agent_id:
            self._agent_id = agent_id
            if agent_id:
                self.sender.retry_at = 0.0  # a new token deserves a try now, not after the 401 backoff
                self.sender.backoff.reset()
                self.spool.restamp(agent_id)
        self._use_server_settings(self.state.get("settings"))

    def _maybe_enroll(self) -> None:
        cfg = self.config
        if self._agent_id or not cfg.enrollment_key or not cfg.server_url:
            return
        now = time.monotonic()
        if now < self._enroll_retry_at:
            return
        host = host_identity(cfg, [])
        try:
            reply = enroll(
                cfg.server_url,
                cfg.enrollment_key.reveal(),
                machine_id=host["machine_id"],
                hostname=host["hostname"],
                http=self.sender.http,
            )
        except EnrollError as exc:
            delay = self._enroll_backoff.cap_s if exc.refused else self._enroll_backoff.next_delay()
            self._enroll_retry_at = now + delay
            _log.error(
                "enrollment refused; check enrollment_key" if exc.refused else "cannot enroll yet",
                extra=fields(error=str(exc), retry_in_s=round(delay, 1)),
            )
            return
        save_enrollment(self.state, cfg.server_url, reply)
        _log.info("enrolled", extra=fields(agent_id=reply["agent_id"], site=reply.get("site")))
        self._adopt_enrollment()

    # -- a cycle -----------------------------------------------------------------------------------

    def _security_due(self, now: float) -> bool:
        if self._last_security is None:
            return True
        # Half an interval of slack so an hourly collection does not slip a whole cycle each hour.
        return now - self._last_security >= self.settings.security_interval_s - self.settings.interval_s / 2

    def collect(self) -> dict[str, Any]:
        """Make one report and spool it (before any send); returns it."""
        counters = self.spool.counters()
        now = time.monotonic()
        security = self._security_due(now)
        if security:
            self._last_security = now
        seq = self.spool.allocate_seq()
        at = time.time()
        report = build_report(
            self.config,
            self.settings,
            agent_id=self._agent_id or UNENROLLED,
            seq=seq,
            include_security=security,
            status=agent_status(
                counters.backlog, counters.dropped_total, counters.rejected_total, self.last_cycle_cpu_s
            ),
            collected_at=at,
            facts_cache_dir=self.config.state_dir,
            lan=self._lan_section(),
            snmp=self.edge_poller.section() if self.edge_poller is not None else None,
        )
        if self.edge_error is not None:
            failed = {"collector": "snmp", "error": self.edge_error}
            report["errors"] = [*report["errors"], failed][:MAX_ERRORS]
        self.spool.add(seq, report, collected_at=at)
        return report

    # -- the LAN sensor role -------------------------------------------------------------------------

    def start_lan(self) -> None:
        """Start the LAN sensor's threads when `[lan] enabled` (scapy is imported only then)."""
        if not self.config.lan.enabled:
            return
        from canhgac_agent.lan import LanUnavailable

        try:
            from canhgac_agent.lan.sensor import LanSensor, settings_from_config

            sensor = LanSensor(settings_from_config(self.config.lan, self.config.state_dir))
            sensor.start()
        except LanUnavailable as exc:
            self.lan_error = str(exc)
            _log.error("LAN sensor unavailable", extra=fields(error=self.lan_error))
            return
        self.lan_sensor = sensor

    def stop_lan(self) -> None:
        """Stop the sensor; what it saw since the last report goes into one last spooled report."""
        if self.lan_sensor is None:
            return
        self.lan_sensor.stop()
        if self.lan_sensor.has_news():
            try:
                self.collect()
            except Exception:
                _log.exception("spooling the LAN sensor's last report failed")

    def _lan_section(self) -> dict[str, Any] | None:
        if self.lan_sensor is not None:
            section: dict[str, Any] = self.lan_sensor.section()
            return section
        if self.lan_error is not None:
            from canhgac_agent.lan.sensor import unavailable_section

            return unavailable_section(self.config.lan.interfaces, self.lan_error)
        return None

    # -- the edge poller role ----------------------------------------------------------------------------

    def start_edge(self) -> None:
        """Start polling the site's switches when `[snmp] enabled` (the SNMP code is imported only then)."""
        if not self.config.snmp.enabled:
            return
        try:
            from canhgac_agent.edge.poller import EdgePoller

            poller = EdgePoller(self.config.snmp)
            poller.start()
        except Exception as exc:  # e.g. no UDP socket: the agent's own reports still go out, saying so
            self.edge_error = _error("snmp", exc)["error"]
            _log.error("edge poller unavailable", extra=fields(error=self.edge_error))
            return
        self.edge_poller = poller

    def stop_edge(self) -> None:
        """Stop polling; polls not yet in a report go into one last spooled report."""
        if self.edge_poller is None:
            return
        self.edge_poller.stop()
        if self.edge_poller.has_news():
            try:
                self.collect()
            except Exception:
                _log.exception("spooling the edge poller's last report failed")

    def drain(self, deadline: float) -> None:
        try:
            self.sender.drain(deadline=deadline, should_stop=self.stop.is_set)
        except Exception:
            _log.exception("sending failed unexpectedly; reports stay in the spool")
        if self.settings.interval_s > self.sender.http.max_idle_s:
            self.sender.http.close()  # it would not be reused after the sleep anyway

    def cycle(self) -> None:
        """refresh state → (enroll) → collect and spool → drain, each step guarded."""
        try:
            if self.state.refresh():
                self._adopt_enrollment()
            self._maybe_enroll()
        except Exception:
            _log.exception("state/enrollment step failed; continuing")
        try:
            self.collect()
        except Exception:
            _log.exception("collecting or spooling a report failed; continuing")
        if not self.stop.is_set():
            # Bounded so a long backlog cannot starve collection; a slow collection still leaves a slot.
            self.drain(time.monotonic() + max(0.5, min(self.settings.interval_s * 0.8, 120.0)))

    def run(self) -> None:
        """Cycle until `stop` is set."""
        _log.info(
            "agent started",
            extra=fields(
                version=__version__,
                pid=os.getpid(),
                state_dir=str(self.config.state_dir),
                interval_s=self.settings.interval_s,
                agent_id=self._agent_id or UNENROLLED,
                backlog=self.spool.backlog,
            ),
        )
        stored_url = self.state.get("server_url")
        if self._agent_id and self.config.server_url and stored_url and stored_url != self.config.server_url:
            _log.warning(
                "config server_url differs from the one the agent enrolled with; sending to the enrolled one "
                "(re-enroll to change)",
                extra=fields(config=self.config.server_url, enrolled=stored_url),
            )
        if not self._agent_id and not (self.config.enrollment_key and self.config.server_url):
            _log.warning("not enrolled: reports are kept in the spool until `canhgac-agent enroll` is run")
        self.start_lan()
        self.start_edge()
        next_tick = time.monotonic()
        try:
            while not self.stop.is_set():
                cpu = time.process_time()
                self.cycle()
                self.last_cycle_cpu_s = time.process_time() - cpu
                next_tick = self._next_tick(next_tick)
                self._wait_for(next_tick)
        finally:
            self.stop_edge()
            self.stop_lan()
            self.spool.close()
            _log.info("agent stopped")

    def _next_tick(self, previous: float) -> float:
        interval = self.settings.interval_s
        tick = previous + interval
        now = time.monotonic()
        if tick < now:  # the cycle overran: skip the missed ticks, keep the phase
            tick += math.ceil((now - tick) / interval) * interval
        return tick

    def _wait_for(self, tick: float) -> None:
        """Sleep until `tick`, waking early only to retry sending once the backoff has expired, or, while
        the link is lost, to check whether it is back (then sending at once: see `_link_back`)."""
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= tick:
                return
            retry = self.sender.retry_at
            waiting = self.sender.enrolled and self.spool.backlog > 0
            early = waiting and now < retry < tick
            wake = retry if early else tick
            check = self._link_check_at(now) if waiting and now < retry else None
            if check is not None and check < wake:
                if self.stop.wait(check - now):
                    return
                if self._link_back():
                    self.drain(tick)
                continue
            if self.stop.wait(wake - now) or not early:
                return
            self.drain(tick)

    def _link_check_at(self, now: float) -> float | None:
        """When to check next whether a lost link is back (None: not backing off from a lost link)."""
        retry = self.config.retry
        if not (retry.link_check and self.sender.link_lost):
            self._next_link_check = None
            return None
        if self._next_link_check is None:
            self._next_link_check = now + retry.link_check_s * self._jitter.uniform(0.75, 1.25)
        return self._next_link_check

    def _link_back(self) -> bool:
        """A bounded TCP connect to the server; when it answers, wait a random 0–resume_jitter_s (so a
        commune's PCs spread out) and lift the backoff. True when the spool should drain now."""
        self._next_link_check = None
        retry = self.config.retry
        if not self.sender.server_answers(timeout_s=min(5.0, retry.link_check_s)):
            return False
        delay = self._jitter.uniform(0.0, retry.resume_jitter_s)
        _log.info(
            "server reachable again; sending the spool",
            extra=fields(in_s=round(delay, 1), backlog=self.spool.backlog),
        )
        if self.stop.wait(delay):
            return False
        self.sender.resume()
        return True
