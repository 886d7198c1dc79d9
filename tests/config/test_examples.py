"""The shipped configs: each one loads, and together they show every registered venue."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay.bootstrap import load
from relay.infrastructure.venues.registry import registered_venues

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
CONFIGS = sorted([*CONFIG_DIR.glob("*.toml"), *CONFIG_DIR.glob("examples/*.toml")])


def test_there_are_shipped_configs() -> None:
    assert {path.name for path in CONFIGS} >= {"relay.toml", "simulate.toml"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_a_shipped_config_loads_without_problems(path: Path) -> None:
    config = load(path)
    assert config.venues
    assert all(venue.subscriptions for venue in config.venues)


def test_every_registered_venue_has_a_config_example() -> None:
    shown = {venue.id for path in CONFIGS for venue in load(path).venues}
    assert sorted(set(registered_venues()) - shown) == []
