"""Warnings about a valid server config: settings that run but leave alerts unheard or the API exposed.
`canhgac config check` prints them and `canhgac serve` logs them at start (Vietnamese, then English)."""

from __future__ import annotations

import datetime as dt
import ipaddress

from canhgac_collector.alerting.channels import CHANNELS
from canhgac_collector.config import ServerConfig

CERT_RENEW_WITHIN = dt.timedelta(days=30)


def notification_channels(config: ServerConfig) -> list[str]:
    """The enabled alert channels (outbox names: `smtp`, `webhook:soc`, …)."""
    if not config.alerting.enabled:
        return []
    return [e.channel for plugin in CHANNELS.values() for e in plugin.endpoints(config.alerting) if e.enabled]


def tls_summary(config: ServerConfig) -> str:
    """One line on how the API is served."""
    tls = config.listen.tls
    where = f"{config.listen.host}:{config.listen.port}"
    if tls is None:
        return f"HTTP (không mã hoá / no TLS) on {where}"
    mutual = "; client certificates required (mutual TLS)" if tls.client_ca_file else ""
    expires = _expiry(config)
    until = f", expires {expires:%Y-%m-%d}" if expires else ""
    return f"HTTPS on {where}: {tls.cert_file}{until}{mutual}"


def config_warnings(config: ServerConfig, now: dt.datetime | None = None) -> list[str]:
    """Every warning for `config`, one line each."""
    warnings: list[str] = []
    if not notification_channels(config):
        warnings.append(
            "chưa cấu hình kênh thông báo nào: cảnh báo chỉ được ghi lại, không ai được báo / "
            "no notification channel is configured: alerts are recorded but nobody is told "
            "(alerting: smtp, telegram, webhooks, alertmanager)"
        )
    tls = config.listen.tls
    expires = _expiry(config)
    if tls is not None and expires is not None:
        left = expires - (now or dt.datetime.now(dt.UTC))
        if left <= dt.timedelta(0):
            warnings.append(
                f"chứng chỉ máy chủ đã hết hạn / the server certificate has expired ({expires:%Y-%m-%d}): "
                f"agents refuse it; renew {tls.cert_file}"
            )
        elif left < CERT_RENEW_WITHIN:
            warnings.append(
                f"chứng chỉ máy chủ sắp hết hạn / the server certificate expires on {expires:%Y-%m-%d}: "
                f"renew {tls.cert_file}"
            )
    elif tls is None and not _loopback(config.listen.host):
        warnings.append(
            f"API nghe trên {config.listen.host} không có TLS / the API listens on {config.listen.host} "
            "without TLS: agents' tokens and reports cross the network in clear unless a TLS proxy "
            "fronts it (listen.tls)"
        )
    return warnings


def _expiry(config: ServerConfig) -> dt.datetime | None:
    """notAfter of the server certificate; None without TLS or when `cryptography` cannot read it."""
    tls = config.listen.tls
    if tls is None:
        return None
    try:
        return tls.certificate_expiry()
    except (OSError, ValueError):
        return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
