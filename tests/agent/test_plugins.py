"""The plugin registry: order kept, a duplicate name refused; the agent's two registries."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from canhgac_agent.collectors import COLLECTORS
from canhgac_agent.facts import FACTS
from canhgac_agent.plugins import registry
from canhgac_api.schemas.report import SecurityFacts


@dataclass(frozen=True)
class _Thing:
    name: str
    value: int = 0


def test_registry_keeps_the_listed_order() -> None:
    plugins = [_Thing("zeta", 1), _Thing("alpha", 2), _Thing("mid", 3)]
    found = registry(*plugins)
    assert list(found) == ["zeta", "alpha", "mid"]
    assert [p.value for p in found.values()] == [1, 2, 3]
    assert found["alpha"] is plugins[1]


def test_registry_refuses_a_duplicate_name() -> None:
    with pytest.raises(ValueError, match="'alpha'"):
        registry(_Thing("alpha"), _Thing("beta"), _Thing("alpha", 9))


def test_empty_registry() -> None:
    assert registry() == {}


def test_each_collector_is_registered_under_its_own_name() -> None:
    assert all(name == plugin.name for name, plugin in COLLECTORS.items())


def test_each_fact_family_is_registered_under_its_own_name_in_report_order() -> None:
    assert all(name == plugin.name for name, plugin in FACTS.items())
    assert list(FACTS) == [field for field in SecurityFacts.model_fields if field != "platform"]
