"""The id registry keeps the last registration per id and imports its modules on lookup."""

from __future__ import annotations

import pytest

from relay.application.registry import Registry
from relay.infrastructure.venues.registry import VENUE_MODULES


def test_a_second_registration_replaces_the_first_and_pop_removes_it() -> None:
    registry: Registry[int] = Registry(())
    assert registry.register("a", 1) == 1
    assert registry.register("a", 2) == 2
    assert registry.register("b", 3) == 3
    assert dict(registry.entries()) == {"a": 2, "b": 3}
    assert registry.pop("a") == 2
    assert dict(registry.entries()) == {"b": 3}
    with pytest.raises(KeyError):
        registry.pop("a")


def test_entries_is_a_read_only_view() -> None:
    registry: Registry[int] = Registry(())
    registry.register("a", 1)
    with pytest.raises(TypeError):
        registry.entries()["b"] = 2  # type: ignore[index]


def test_a_missing_module_is_an_import_error_at_lookup_not_at_construction() -> None:
    registry: Registry[int] = Registry(["relay.no_such_module"])
    with pytest.raises(ModuleNotFoundError, match=r"relay\.no_such_module"):
        registry.entries()


def test_every_venue_package_has_a_simulated_side_of_the_same_name() -> None:
    from relay.infrastructure.venues.registry import registered_venues
    from relay.sim.venues.registry import simulated_venue_ids

    assert len(VENUE_MODULES) == 15
    assert simulated_venue_ids() == registered_venues()
