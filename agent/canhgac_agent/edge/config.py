"""The `[snmp]` section of agent.toml: checked as the server checks its own `devices:` entries.

Names follow the server's device-name pattern, v3 keys are at least 8 characters, privacy needs
`cryptography` (the `edge` extra) and says so at load, not at the first poll. Secrets given as `*_file`
are read here, once, so a missing or unreadable file stops the agent with a message naming the key.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from canhgac_agent.config import (
    SNMP_MAX_DEVICES,
    ConfigError,
    Secret,
    SnmpConfig,
    SnmpDeviceConfig,
    Table,
    type_name,
)

DEVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # the server's inventory names
VERSIONS = ("1", "2c", "3")
AUTH_PROTOCOLS = ("none", "md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("none", "des", "aes128", "aes192", "aes256")
MIN_KEY_LENGTH = 8  # RFC 3414's minimum, as the server demands
MAX_SECRET_LENGTH = 256
DEFAULT_PORT = 161
_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?$")
_V3_KEYS = ("user", "auth_protocol", "auth_key", "priv_protocol", "priv_key", "context_name")


def split_address(address: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address → (host, port). ValueError says why."""
    text = address.strip()
    port_text: str | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("write an IPv6 address with a port as [2001:db8::2]:161")
        port_text = rest[1:] if rest else None
        ipaddress.IPv6Address(host)
    elif text.count(":") > 1:
        host = str(ipaddress.IPv6Address(text))
    else:
        host, _, port_text = text.partition(":")
        port_text = port_text or None
        if not _HOST_NAME.fullmatch(host):
            raise ValueError("not a host name or IP address")
    port = DEFAULT_PORT
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"port must be 1-65535 (got {port_text!r})")
        port = int(port_text)
    return host, port


def _secret(table: Table, key: str) -> Secret | None:
    """`key` inline, or `key_file`: a file holding it on one line (read now). Not both."""
    inline = table.string(key, max_len=MAX_SECRET_LENGTH)
    file_key = f"{key}_file"
    path = table.string(file_key)
    if inline is not None and path is not None:
        raise table.error(file_key, f"give {key} or {file_key}, not both")
    if path is None:
        return Secret(inline) if inline is not None else None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise table.error(file_key, f"cannot read {path}: {reason}") from None
    value = text.rstrip("\r\n")
    if not value.strip() or "\n" in value or "\r" in value:
        raise table.error(file_key, f"{path} must hold the secret on one line")
    if len(value) > MAX_SECRET_LENGTH:
        raise table.error(file_key, f"{path}: the secret must be at most {MAX_SECRET_LENGTH} characters")
    return Secret(value)


def _choice(table: Table, key: str, choices: tuple[str, ...], default: str) -> str:
    value = table.raw(key)
    if value is None:
        return default
    if not isinstance(value, str) or value.lower() not in choices:
        shown = repr(value) if isinstance(value, str) else type_name(value)
        raise table.error(key, f"must be one of {', '.join(choices)} (got {shown})")
    return value.lower()


def _v3(table: Table, enabled: bool) -> dict[str, object]:
    user = table.string("user", max_len=32)
    if user is None:
        raise table.error("user", 'is required for version "3"')
    auth_protocol = _choice(table, "auth_protocol", AUTH_PROTOCOLS, "sha")
    auth_key = _secret(table, "auth_key")
    priv_protocol = _choice(table, "priv_protocol", PRIV_PROTOCOLS, "aes128")
    priv_key = _secret(table, "priv_key")
    context_name = table.string("context_name", max_len=32) or ""
    if auth_protocol != "none" and (auth_key is None or len(auth_key.reveal()) < MIN_KEY_LENGTH):
        raise table.error("auth_key", f"auth_protocol {auth_protocol} needs auth_key of ≥ 8 characters")
    if auth_protocol == "none" and auth_key is not None:
        raise table.error("auth_key", 'is set but auth_protocol is "none"')
    if priv_protocol != "none":
        if auth_protocol == "none":
            raise table.error("priv_protocol", "privacy needs authentication too (set auth_protocol)")
        if priv_key is None or len(priv_key.reveal()) < MIN_KEY_LENGTH:
            raise table.error("priv_key", f"priv_protocol {priv_protocol} needs priv_key of ≥ 8 characters")
        from canhgac_agent.snmp.usm import privacy_missing  # standard library only

        missing = privacy_missing() if enabled else None  # a role that is off needs no extra
        if missing is not None:
            raise table.error(
                "priv_protocol",
                f'{missing} (or set priv_protocol = "none" if the switch\'s user has no privacy)',
            )
    elif priv_key is not None:
        raise table.error("priv_key", 'is set but priv_protocol is "none"')
    return {
        "user": user,
        "auth_protocol": auth_protocol,
        "auth_key": auth_key,
        "priv_protocol": priv_protocol,
        "priv_key": priv_key,
        "context_name": context_name,
    }


def _device(table: Table, enabled: bool) -> SnmpDeviceConfig:
    name = table.string("name", max_len=64)
    if name is None:
        raise table.error("name", "is required (the device's name in the server's inventory)")
    if not DEVICE_NAME.fullmatch(name):
        raise table.error(
            "name",
            f"must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit (got {name!r})",
        )
    address = table.string("address", max_len=262)
    if address is None:
        raise table.error("address", "is required: host, host:port or [v6]:port")
    try:
        split_address(address)
    except ValueError as exc:
        raise table.error("address", f"{address!r}: {exc}") from None
    version = table.raw("version")
    if version is None:
        version = "2c"
    if not isinstance(version, str) or version.lower() not in VERSIONS:
        raise table.error("version", f'must be "1", "2c" or "3" (a string; got {version!r})')
    version = version.lower()
    device: dict[str, object] = {"name": name, "address": address.strip(), "version": version}
    if version == "3":
        for key in ("community", "community_file"):
            if table.raw(key) is not None:
                raise table.error(key, 'does not apply to version "3" (use user and keys)')
        device.update(_v3(table, enabled))
    else:
        for key in (*_V3_KEYS, "auth_key_file", "priv_key_file"):
            if table.raw(key) is not None:
                raise table.error(key, f'applies to version "3" only (this device is version "{version}")')
        community = _secret(table, "community")
        if community is None:
            raise table.error("community", f'is required for version "{version}" (or community_file)')
        device["community"] = community
    table.done()
    return SnmpDeviceConfig(**device)  # type: ignore[arg-type]


def _inclusive(table: Table, key: str, default: float, lo: float, hi: float) -> float:
    value = table.raw(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise table.error(key, f"must be a number, not {type_name(value)}")
    if not lo <= value <= hi:
        raise table.error(key, f"must be between {lo:g} and {hi:g} (got {value})")
    return float(value)


def parse_snmp(table: Table) -> SnmpConfig:
    """Validate the `[snmp]` table (empty: the role is off)."""
    d = SnmpConfig()
    enabled = table.boolean("enabled", d.enabled)
    interval_s = _inclusive(table, "interval_s", d.interval_s, 10, 3600)
    config = SnmpConfig(
        enabled=enabled,
        interval_s=interval_s,
        timeout_s=table.number("timeout_s", d.timeout_s, 0.0, 60.0),
        retries=table.integer("retries", d.retries, 0, 10),
        max_repetitions=table.integer("max_repetitions", d.max_repetitions, 1, 200),
        topology_every_s=_inclusive(table, "topology_every_s", d.topology_every_s, interval_s, 7 * 86400),
    )
    raw = table.raw("devices")
    if raw is None:
        raw = []
    if not isinstance(raw, list) or len(raw) > SNMP_MAX_DEVICES:
        raise table.error("devices", f"must be at most {SNMP_MAX_DEVICES} [[snmp.devices]] tables")
    devices: list[SnmpDeviceConfig] = []
    for i, item in enumerate(raw):
        path = f"{table.path}devices[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(table.source, path, "must be a table ([[snmp.devices]])")
        device = _device(Table(item, table.source, path + "."), enabled)
        if any(other.name == device.name for other in devices):
            raise ConfigError(table.source, f"{path}.name", f"duplicate device name {device.name!r}")
        devices.append(device)
    if enabled and not devices:
        raise table.error("devices", "at least one [[snmp.devices]] is required when enabled = true")
    table.done()
    return config._replace(devices=tuple(devices))
