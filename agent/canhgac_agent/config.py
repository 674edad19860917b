"""Agent configuration: one TOML file (stdlib `tomllib`), validated by hand into immutable NamedTuples.

The agent cannot depend on pydantic or PyYAML (it runs on old commune PCs with psutil alone), so this
module does what the server's pydantic models do: unknown keys are errors naming the file and the dotted
key, types and ranges are checked, and `CANHGAC_AGENT_<KEY>` environment variables override top-level
scalars. Secrets are wrapped in `Secret` so they never reach a repr or a log line.

It also holds the agent's logging setup (key=value lines on stderr), shared by every agent module.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

DEFAULT_CONFIG_PATH = Path("/etc/canhgac-agent/agent.toml")
DEFAULT_STATE_DIR = (
    Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "canhgac-agent"
    if os.name == "nt"
    else Path("/var/lib/canhgac-agent")
)
ENV_PREFIX = "CANHGAC_AGENT_"
ENV_CONFIG = ENV_PREFIX + "CONFIG"  # path of the config file; not a config key
PROBE_KINDS = ("icmp", "tcp", "http", "dns")
LOG_LEVELS = ("debug", "info", "warning", "error")
MiB = 1024 * 1024


class ConfigError(ValueError):
    """A config problem, rendered as `<file>: <dotted.key>: <what is wrong>`."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


class Secret:
    """A string that prints as `***`; call `reveal()` where the real value is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ProbeTarget(NamedTuple):
    """One connectivity target, in the shape of the server settings' `probe_targets` entries."""

    name: str
    kind: str  # icmp | tcp | http | dns
    host: str | None = None
    port: int | None = None
    url: str | None = None

    def as_setting(self) -> dict[str, Any]:
        """The target as the server sends it (keys with no value left out)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for key in ("host", "port", "url"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


class IdentityConfig(NamedTuple):
    """Overrides of the host identity; the demo uses them to run several simulated hosts on one machine."""

    machine_id: str | None = None
    hostname: str | None = None


class SpoolConfig(NamedTuple):
    max_bytes: int = 64 * MiB  # compressed report bodies kept while the server is unreachable
    max_age_s: float = 14 * 86400.0  # older reports are dropped (and counted)


_SPOOL_DEFAULTS = SpoolConfig()
# The default with `[snmp] enabled` (and no `[spool] max_bytes`): 3 days of two 48-port switches polled every
# minute fit, with the host's own reports (docs/edge-polling.md has the measurement).
SNMP_SPOOL_MAX_BYTES = 256 * MiB


class ProbesConfig(NamedTuple):
    gateway: bool = True
    count: int = 4  # type: ignore[assignment]  # shadows tuple.count, harmlessly: never called
    timeout_s: float = 2.0
    targets: tuple[ProbeTarget, ...] = ()  # merged with the server's targets; local wins by name


class EgressConfig(NamedTuple):
    """The outbound filtering test (NW-27): TCP connections to `endpoint` on `ports` must fail.

    `endpoint`: host name or IP of a test server outside the agency network that listens on the ports;
    None (the default) turns the test off: the agent then sends nothing.
    """

    endpoint: str | None = None
    ports: tuple[int, ...] = (445, 3389)
    timeout_s: float = 3.0


EGRESS_MAX_PORTS = 8  # with timeout_s ≤ 10, at most 80 s of the hourly security cycle
_ENDPOINT = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]+)$")


class TlsConfig(NamedTuple):
    ca_file: str | None = None  # PEM bundle to trust instead of the system store
    verify: bool = True
    cert_file: str | None = None  # the agent's own certificate, for a server requiring one (mutual TLS)
    key_file: str | None = None  # … and its unencrypted key

    @property
    def client_cert(self) -> tuple[str, str] | None:
        return (self.cert_file, self.key_file) if self.cert_file and self.key_file else None


class LanConfig(NamedTuple):
    """The LAN sensor role (`lan` extra, CAP_NET_RAW): off unless `enabled`. See docs/lan-sensor.md."""

    enabled: bool = False
    interfaces: tuple[str, ...] = ()
    approved_dhcp_servers: tuple[str, ...] = ()  # IPv4; empty: rogue DHCP detection off
    gateways: tuple[str, ...] = ()  # IPv4 addresses whose MAC must not change
    approved_macs: tuple[str, ...] = ()  # never announced as new devices
    subnets: tuple[str, ...] = ()  # the only subnets the active sweep may touch (each /22 or smaller)
    sweep_interval_s: float = 0.0  # 0: no active ARP sweep
    sweep_rate_pps: float = 20.0
    mac_flood_per_min: int = 200
    hold_s: float = 600.0  # a detection with the same key is not repeated within this time


LAN_MAX_LIST = 64
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")


SNMP_MAX_DEVICES = 64


class SnmpDeviceConfig(NamedTuple):
    """One switch the agent polls (`[[snmp.devices]]`); `*_file` keys are read into the secrets at load."""

    name: str  # the device's name in the server's inventory (same site as the agent)
    address: str  # host, host:port or [v6]:port
    version: str = "2c"  # "1" | "2c" | "3"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: str = "sha"
    auth_key: Secret | None = None
    priv_protocol: str = "aes128"
    priv_key: Secret | None = None
    context_name: str = ""


class SnmpConfig(NamedTuple):
    """The edge poller role: off unless `enabled`. See docs/edge-polling.md."""

    enabled: bool = False
    interval_s: float = 60.0
    timeout_s: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    topology_every_s: float = 3600.0  # neighbors/fdb/arp sent when changed, and at least this often
    devices: tuple[SnmpDeviceConfig, ...] = ()


# NamedTuples, not dataclasses: `dataclasses` imports `inspect` (with ast, dis, tokenize), ~1 MB of RSS
# in an agent budgeted at 25 MB.
class RetryConfig(NamedTuple):
    """Sending after failures. While backing off from a lost link the agent checks every ~`link_check_s`
    (±25 %) whether the server accepts a TCP connection (no request sent); once it does, the spool
    drains after a random 0–`resume_jitter_s` s, so a commune's PCs do not all send at the same
    moment, instead of waiting out a backoff of up to `max_delay_s`."""

    max_delay_s: float = 300.0  # the backoff cap (the server's reconnect window assumes 300 s + 60 s)
    link_check: bool = True
    link_check_s: float = 15.0
    resume_jitter_s: float = 10.0


class AgentConfig(NamedTuple):
    server_url: str | None = None
    enrollment_key: Secret | None = None  # lets `run` enroll by itself on first start
    state_dir: Path = DEFAULT_STATE_DIR
    interval_s: float = 30.0  # until the server's settings say otherwise
    security_interval_s: float = 3600.0
    log_level: str = "info"
    identity: IdentityConfig = IdentityConfig()
    spool: SpoolConfig = SpoolConfig()
    probes: ProbesConfig = ProbesConfig()
    tls: TlsConfig = TlsConfig()
    egress: EgressConfig = EgressConfig()
    lan: LanConfig = LanConfig()
    retry: RetryConfig = RetryConfig()
    snmp: SnmpConfig = SnmpConfig()
    source: str = "<defaults>"  # where it was read from, for messages; not part of equality

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AgentConfig) and self[:-1] == other[:-1]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:-1])


# --- parsing ---------------------------------------------------------------------------------------

# Top-level scalars that CANHGAC_AGENT_<KEY> may override, with how to read the variable's text.
_ENV_KEYS: dict[str, type] = {
    "server_url": str,
    "enrollment_key": str,
    "state_dir": str,
    "interval_s": float,
    "security_interval_s": float,
    "log_level": str,
}


class Table:
    """Reads one TOML table, checking each key as it is taken; `done()` rejects the keys nobody took."""

    def __init__(
        self, data: Mapping[str, Any], source: str, path: str, origins: dict[str, str] | None = None
    ):
        self.data = data
        self.source = source
        self.path = path
        self.origins = origins or {}
        self.taken: set[str] = set()

    def error(self, key: str, message: str) -> ConfigError:
        if key in self.origins:  # came from an environment variable: name that instead of the file
            return ConfigError(self.origins[key], None, message)
        return ConfigError(self.source, f"{self.path}{key}", message)

    def raw(self, key: str) -> Any:
        self.taken.add(key)
        return self.data.get(key)

    def string(self, key: str, *, max_len: int = 2048) -> str | None:
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {type_name(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty (leave the key out instead)")
        if len(value) > max_len:
            raise self.error(key, f"must be at most {max_len} characters")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {type_name(value)}")
        return value

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.optional_integer(key, lo, hi)
        return default if value is None else value

    def optional_integer(self, key: str, lo: int, hi: int) -> int | None:
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, not {type_name(value)}")
        if not lo <= value <= hi:
            raise self.error(key, f"must be between {lo} and {hi} (got {value})")
        return value

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, not {type_name(value)}")
        if not (lo < value <= hi):
            raise self.error(key, f"must be greater than {lo:g} and at most {hi:g} (got {value})")
        return float(value)

    def table(self, key: str) -> Table:
        value = self.raw(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{self.path}{key}]), not {type_name(value)}")
        return Table(value, self.source, f"{self.path}{key}.")

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.taken)
        if unknown:
            key = unknown[0]
            known = ", ".join(sorted(self.taken))
            raise self.error(key, f"unknown key (known keys here: {known})")


def type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "a table" if isinstance(value, dict) else type(value).__name__
    )


def _url(table: Table, key: str) -> str | None:
    value = table.string(key)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise table.error(key, f"must be an http:// or https:// URL with a host (got {value!r})")
    return value


def _parse_target(item: Any, source: str, path: str) -> ProbeTarget:
    if not isinstance(item, dict):
        raise ConfigError(source, path, "must be a table ([[probes.targets]])")
    t = Table(item, source, path + ".")
    name = t.string("name", max_len=256)
    kind = t.string("kind")
    host = t.string("host", max_len=255)
    if host is not None and not _ENDPOINT.fullmatch(host):
        raise t.error("host", f"must be a host name or an IP address, not a URL (got {host!r})")
    port = t.optional_integer("port", 1, 65535)
    url = _url(t, "url")
    t.done()
    if name is None:
        raise t.error("name", "is required")
    if kind not in PROBE_KINDS:
        raise t.error("kind", f"must be one of {', '.join(PROBE_KINDS)} (got {kind!r})")
    needs = {"icmp": ("host",), "tcp": ("host", "port"), "http": ("url",), "dns": ("host",)}[kind]
    allowed = {"icmp": {"host", "port"}, "tcp": {"host", "port"}, "http": {"url"}, "dns": {"host"}}[kind]
    given = {"host": host, "port": port, "url": url}
    for key in needs:
        if given[key] is None:
            raise t.error(key, f"is required for kind {kind!r}")
    for key, value in given.items():
        if value is not None and key not in allowed:
            raise t.error(key, f"does not apply to kind {kind!r} (use {', '.join(sorted(allowed))})")
    return ProbeTarget(name=name, kind=kind, host=host, port=port, url=url)


def _egress(table: Table) -> EgressConfig:
    endpoint = table.string("endpoint", max_len=253)
    if endpoint is not None and not _ENDPOINT.fullmatch(endpoint.strip("[]")):
        raise table.error("endpoint", f"must be a host name or an IP address, not a URL (got {endpoint!r})")
    raw_ports = table.raw("ports")
    ports = EgressConfig().ports
    if raw_ports is not None:
        if not isinstance(raw_ports, list) or not 1 <= len(raw_ports) <= EGRESS_MAX_PORTS:
            raise table.error("ports", f"must be an array of 1 to {EGRESS_MAX_PORTS} port numbers")
        for port in raw_ports:
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise table.error("ports", f"must hold port numbers 1-65535 (got {port!r})")
        if len(set(raw_ports)) != len(raw_ports):
            raise table.error("ports", "repeats a port")
        ports = tuple(raw_ports)
    timeout_s = table.number("timeout_s", EgressConfig().timeout_s, 0.0, 10.0)
    table.done()
    return EgressConfig(endpoint=endpoint.strip("[]") if endpoint else None, ports=ports, timeout_s=timeout_s)


def _retry(table: Table) -> RetryConfig:
    d = RetryConfig()
    retry = RetryConfig(
        max_delay_s=table.number("max_delay_s", d.max_delay_s, 0.0, 3600.0),
        link_check=table.boolean("link_check", d.link_check),
        link_check_s=table.number("link_check_s", d.link_check_s, 0.0, 600.0),
        resume_jitter_s=table.number("resume_jitter_s", d.resume_jitter_s, 0.0, 600.0),
    )
    table.done()
    return retry


def _tls(table: Table) -> TlsConfig:
    files: dict[str, str | None] = {}
    for key in ("ca_file", "cert_file", "key_file"):
        path = files[key] = table.string(key)
        if path is not None and not Path(path).is_file():
            raise table.error(key, f"no such file: {path}")
    if (files["cert_file"] is None) != (files["key_file"] is None):
        raise table.error("cert_file", "cert_file and key_file go together (the agent's client certificate)")
    tls = TlsConfig(verify=table.boolean("verify", True), **files)
    table.done()
    return tls


def _strings(table: Table, key: str, check: Callable[[str], str]) -> tuple[str, ...]:
    """An array of strings, each normalised by `check` (ValueError: its message names the entry)."""
    raw = table.raw(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > LAN_MAX_LIST:
        raise table.error(key, f"must be an array of at most {LAN_MAX_LIST} strings")
    out: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise table.error(key, f"must hold strings, not {type_name(item)}")
        try:
            value = check(item)
        except ValueError as exc:
            raise table.error(key, f"{item!r}: {exc}") from None
        if value not in out:
            out.append(value)
    return tuple(out)


def _ipv4(text: str) -> str:
    import ipaddress  # only when the [lan] table lists addresses

    return str(ipaddress.IPv4Address(text))


def _mac(text: str) -> str:
    mac = text.lower().replace("-", ":")
    if not _MAC.fullmatch(mac):
        raise ValueError("not a MAC address (aa:bb:cc:dd:ee:ff)")
    return mac


def _interface(text: str) -> str:
    if not _INTERFACE.fullmatch(text):
        raise ValueError("not an interface name")
    return text


def _subnet(text: str) -> str:
    from canhgac_agent.lan.sweep import parse_subnet  # no scapy: ipaddress only

    return str(parse_subnet(text))


def _lan(table: Table) -> LanConfig:
    defaults = LanConfig()
    raw_sweep = table.data.get("sweep_interval_s")
    if isinstance(raw_sweep, int | float) and not isinstance(raw_sweep, bool) and raw_sweep == 0:
        table.raw("sweep_interval_s")
        sweep_interval_s = 0.0  # explicitly off
    else:  # at least a minute between sweeps
        sweep_interval_s = table.number("sweep_interval_s", 0.0, 59.0, 7 * 86400.0)
    lan = LanConfig(
        enabled=table.boolean("enabled", False),
        interfaces=_strings(table, "interfaces", _interface),
        approved_dhcp_servers=_strings(table, "approved_dhcp_servers", _ipv4),
        gateways=_strings(table, "gateways", _ipv4),
        approved_macs=_strings(table, "approved_macs", _mac),
        subnets=_strings(table, "subnets", _subnet),
        sweep_interval_s=sweep_interval_s,
        sweep_rate_pps=table.number("sweep_rate_pps", defaults.sweep_rate_pps, 0.0, 200.0),
        mac_flood_per_min=table.integer("mac_flood_per_min", defaults.mac_flood_per_min, 1, 100_000),
        hold_s=table.number("hold_s", defaults.hold_s, 0.0, 7 * 86400.0),
    )
    if lan.enabled and not lan.interfaces:
        raise table.error("interfaces", 'is required when enabled = true (e.g. ["eth0"])')
    if lan.sweep_interval_s > 0 and not lan.subnets:
        raise table.error("subnets", "is required for the sweep (sweep_interval_s > 0)")
    table.done()
    return lan


def _snmp(table: Table) -> SnmpConfig:
    from canhgac_agent.edge.config import parse_snmp  # only the section's own checks; no SNMP code

    return parse_snmp(table)


def parse_config(data: Mapping[str, Any], source: str, env: Mapping[str, str] | None = None) -> AgentConfig:
    """Validate a parsed TOML document (plus environment overrides) into an `AgentConfig`."""
    merged = dict(data)
    origins: dict[str, str] = {}
    for name, value in (env if env is not None else os.environ).items():
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in _ENV_KEYS:
            raise ConfigError(
                f"environment variable {name}",
                None,
                "unknown setting (known: "
                + ", ".join(ENV_PREFIX + k.upper() for k in [*_ENV_KEYS, "config"])
                + ")",
            )
        origin = f"environment variable {name}"
        if _ENV_KEYS[key] is float:
            try:
                merged[key] = float(value)
            except ValueError:
                raise ConfigError(origin, None, f"must be a number (got {value!r})") from None
        else:
            merged[key] = value
        origins[key] = origin

    top = Table(merged, source, "", origins)
    server_url = _url(top, "server_url")
    enrollment_key = top.string("enrollment_key", max_len=512)
    state_dir = top.string("state_dir")
    interval_s = top.number("interval_s", 30.0, 0.0, 86400.0)
    security_interval_s = top.number("security_interval_s", 3600.0, 0.0, 30 * 86400.0)
    log_level = (top.string("log_level") or "info").lower()
    if log_level not in LOG_LEVELS:
        raise top.error("log_level", f"must be one of {', '.join(LOG_LEVELS)} (got {log_level!r})")

    ident = top.table("identity")
    identity = IdentityConfig(
        machine_id=ident.string("machine_id", max_len=128), hostname=ident.string("hostname", max_len=255)
    )
    ident.done()

    sp = top.table("spool")
    spool = SpoolConfig(
        max_bytes=sp.integer("max_bytes", _SPOOL_DEFAULTS.max_bytes, 64 * 1024, 1 << 40),
        max_age_s=sp.number("max_age_s", _SPOOL_DEFAULTS.max_age_s, 0.0, 10 * 365 * 86400.0),
    )
    sp.done()

    pr = top.table("probes")
    raw_targets = pr.raw("targets")
    if raw_targets is None:
        raw_targets = []
    if not isinstance(raw_targets, list):
        raise pr.error("targets", "must be an array of tables ([[probes.targets]])")
    targets = tuple(_parse_target(t, source, f"probes.targets[{i}]") for i, t in enumerate(raw_targets))
    seen: set[str] = set()
    for i, target in enumerate(targets):
        if target.name in seen:
            raise ConfigError(source, f"probes.targets[{i}].name", f"duplicate target name {target.name!r}")
        seen.add(target.name)
    probes = ProbesConfig(
        gateway=pr.boolean("gateway", True),
        count=pr.integer("count", 4, 1, 100),
        timeout_s=pr.number("timeout_s", 2.0, 0.0, 60.0),
        targets=targets,
    )
    pr.done()

    tls = _tls(top.table("tls"))
    egress = _egress(top.table("egress"))
    lan = _lan(top.table("lan"))
    retry = _retry(top.table("retry"))
    snmp = _snmp(top.table("snmp"))
    if snmp.enabled and sp.data.get("max_bytes") is None:
        spool = spool._replace(max_bytes=SNMP_SPOOL_MAX_BYTES)
    top.done()

    return AgentConfig(
        server_url=server_url,
        enrollment_key=Secret(enrollment_key) if enrollment_key else None,
        state_dir=Path(state_dir) if state_dir else DEFAULT_STATE_DIR,
        interval_s=interval_s,
        security_interval_s=security_interval_s,
        log_level=log_level,
        identity=identity,
        spool=spool,
        probes=probes,
        tls=tls,
        egress=egress,
        lan=lan,
        retry=retry,
        snmp=snmp,
        source=source,
    )


def load_config(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> AgentConfig:
    """Read the config file. With no path: `$CANHGAC_AGENT_CONFIG`, else the default path if it exists,
    else built-in defaults (so `canhgac-agent once` works on a bare machine). A path that was asked for
    explicitly must exist."""
    environ = env if env is not None else os.environ
    explicit = path is not None or bool(environ.get(ENV_CONFIG))
    file = Path(path if path is not None else environ.get(ENV_CONFIG) or DEFAULT_CONFIG_PATH)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(str(file), None, "config file not found") from None
        return parse_config({}, "<defaults>", environ)
    except OSError as exc:
        raise ConfigError(str(file), None, f"cannot read config file: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(file), None, f"not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), None, f"invalid TOML: {exc}") from None
    return parse_config(data, str(file), environ)


# --- logging ---------------------------------------------------------------------------------------


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: key=value pairs appended to the line (`extra=fields(n=3)`)."""
    return {"kv": values}


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and not any(c in text for c in ' ="\\\n\t') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """One line per record: `ts=… level=… logger=… msg="…" key=value …` (logfmt, greppable)."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        parts = [
            f"ts={ts}.{int(record.msecs):03d}Z",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        kv = getattr(record, "kv", None)
        if isinstance(kv, dict):
            parts.extend(f"{k}={_quote(v)}" for k, v in kv.items())
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def configure_logging(level: str = "info") -> None:
    """Send the agent's logs to stderr as key=value lines (journald adds its own timestamp)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
