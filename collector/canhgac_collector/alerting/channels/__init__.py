"""The alert channels, one module each (see `base.ChannelPlugin` for what a channel provides). A new
channel is its module plus one entry in `CHANNELS`; the settings, routing, engine and outbox find it here.
"""

from __future__ import annotations

from typing import Any

from canhgac_agent.plugins import registry
from canhgac_collector.alerting.channels import alertmanager, smtp, telegram, webhook
from canhgac_collector.alerting.channels.base import ChannelPlugin

CHANNELS: dict[str, ChannelPlugin[Any]] = registry(
    smtp.PLUGIN,
    webhook.PLUGIN,
    telegram.PLUGIN,
    alertmanager.PLUGIN,
)


def plugin_of(channel: str) -> ChannelPlugin[Any] | None:
    """The channel of an outbox row's `channel` ("smtp", "webhook:soc"); None for one not registered."""
    return CHANNELS.get(channel.partition(":")[0])
