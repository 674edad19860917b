"""The check-type registry: one visible registration line per type (each module's `PLUGIN`)."""

from __future__ import annotations

from canhgac_agent.plugins import registry
from canhgac_rules.checks import CheckType, combine, compare, config_change, count, each, score

REGISTRY: dict[str, CheckType] = registry(
    compare.PLUGIN,  # a fact path vs a value or input
    each.PLUGIN,  # all / any / none of a list's items meet conditions
    count.PLUGIN,  # how many list items match, vs a threshold
    combine.PLUGIN,  # all_of / any_of over sub-checks
    score.PLUGIN,  # share of the target's findings for some requirements that pass, vs a threshold
    config_change.PLUGIN,  # the running config is the approved version (server config history)
)
