"""Who hears about an alert: the contacts of the alert's site (or its nearest ancestor with contacts),
on every enabled channel that addresses contacts; each escalation goes one contact-holding site further
up the tree. Channels with a fixed address (webhooks) match by subtree."""

from __future__ import annotations

from dataclasses import dataclass

from canhgac_collector.alerting.channels import CHANNELS
from canhgac_collector.alerting.settings import AlertingConfig
from canhgac_collector.sitetree import SiteNode


@dataclass(frozen=True)
class Recipient:
    channel: str  # the outbox channel: smtp | telegram | webhook:<name> | …
    address: str  # e-mail, chat id, URL
    name: str
    site_code: str | None  # the site whose contact this is (None: a fixed address)


def contact_sites(site_code: str, tree: dict[str, SiteNode]) -> list[str]:
    """The site and its ancestors that have contacts, nearest first."""
    out = []
    code: str | None = site_code
    while code is not None:
        node = tree[code]
        if node.config.contacts:
            out.append(code)
        code = node.parent_code
    return out


def contacts_of(site_code: str, config: AlertingConfig, tree: dict[str, SiteNode]) -> list[Recipient]:
    channels = [
        (plugin.contact_field, e.channel)
        for plugin in CHANNELS.values()
        if plugin.contact_field is not None
        for e in plugin.endpoints(config)
        if e.enabled
    ]
    out = []
    for c in tree[site_code].config.contacts:
        for contact_field, channel in channels:
            address = getattr(c, contact_field, None)
            if address:
                out.append(Recipient(channel, str(address), c.name, site_code))
    return out


def recipients(
    site_code: str, level: int, config: AlertingConfig, tree: dict[str, SiteNode]
) -> list[Recipient]:
    """Contacts for escalation `level` (0: the site's own); empty when the tree has no such level."""
    sites = contact_sites(site_code, tree)
    if level >= len(sites):
        return []
    return contacts_of(sites[level], config, tree)


def subscribers(site_code: str, config: AlertingConfig, tree: dict[str, SiteNode]) -> list[Recipient]:
    """The enabled fixed-address destinations (channels that neither address contacts nor take a feed)
    whose subtree holds the site."""
    path = tree[site_code].path
    out = []
    for plugin in CHANNELS.values():
        if plugin.contact_field is not None or plugin.feed is not None:
            continue
        for e in plugin.endpoints(config):
            if e.enabled and (e.site is None or (e.site in tree and path.startswith(tree[e.site].path))):
                out.append(Recipient(e.channel, e.address, e.label, None))
    return out
