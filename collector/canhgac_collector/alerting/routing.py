"""Who hears about an alert: the contacts of the alert's site (or its nearest ancestor with contacts);
each escalation goes one contact-holding site further up the tree. Webhooks match by subtree."""

from __future__ import annotations

from dataclasses import dataclass

from canhgac_collector.alerting.settings import AlertingConfig
from canhgac_collector.sitetree import SiteNode


@dataclass(frozen=True)
class Recipient:
    channel: str  # smtp | telegram | webhook:<name>
    address: str  # e-mail, chat id, URL
    name: str
    site_code: str | None  # the site whose contact this is (None: a webhook)


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
    out = []
    for c in tree[site_code].config.contacts:
        if c.email and config.smtp.enabled:
            out.append(Recipient("smtp", c.email, c.name, site_code))
        if c.telegram_chat_id and config.telegram.enabled:
            out.append(Recipient("telegram", c.telegram_chat_id, c.name, site_code))
    return out


def recipients(
    site_code: str, level: int, config: AlertingConfig, tree: dict[str, SiteNode]
) -> list[Recipient]:
    """Contacts for escalation `level` (0: the site's own); empty when the tree has no such level."""
    sites = contact_sites(site_code, tree)
    if level >= len(sites):
        return []
    return contacts_of(sites[level], config, tree)


def webhooks(site_code: str, config: AlertingConfig, tree: dict[str, SiteNode]) -> list[Recipient]:
    path = tree[site_code].path
    out = []
    for hook in config.webhooks:
        if hook.site is None or (hook.site in tree and path.startswith(tree[hook.site].path)):
            out.append(Recipient(f"webhook:{hook.name}", hook.url, hook.name, None))
    return out
