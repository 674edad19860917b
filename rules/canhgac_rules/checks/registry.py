"""The check-type registry: one visible registration line per type."""

from __future__ import annotations

from canhgac_rules.checks import CheckType, combine, compare, count, each

REGISTRY: dict[str, CheckType] = {}


def register(check: CheckType) -> None:
    """Add a check type; its `name` is the `type:` packs use."""
    if check.name in REGISTRY:
        raise ValueError(f"check type {check.name!r} registered twice")
    REGISTRY[check.name] = check


register(compare.CHECK)  # a fact path vs a value or input
register(each.CHECK)  # all / any / none of a list's items meet conditions
register(count.CHECK)  # how many list items match, vs a threshold
register(combine.CHECK)  # all_of / any_of over sub-checks
