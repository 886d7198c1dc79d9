"""``[[venues]]`` REST polling keys: read into their fields, every bad value listed."""

from __future__ import annotations

import pytest

from relay.config.errors import ConfigError, ConfigProblem
from relay.config.loader import parse_config
from relay.config.model import RelayConfig
from relay.infrastructure.venues.registry import supported_data_types

VENUE = """
[[venues]]
id = "binance-usdm"
{keys}
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade", "open_interest"]
"""


def parse(text: str) -> RelayConfig:
    return parse_config(text, source="test.toml", venues=supported_data_types(), environ={})


def test_rest_polling_keys_are_read_into_their_fields() -> None:
    keys = "rest_poll_interval_s = 30\nrest_fallback_after_s = 0\nrest_fallback_interval_s = 0.5"

    venue = parse(VENUE.format(keys=keys)).venues[0]

    assert (
        venue.rest_poll_interval_s,
        venue.rest_fallback_after_s,
        venue.rest_fallback_interval_s,
    ) == (30.0, 0.0, 0.5)


def test_rest_polling_keys_default_to_ten_ten_and_two_seconds() -> None:
    venue = parse(VENUE.format(keys="")).venues[0]

    assert (
        venue.rest_poll_interval_s,
        venue.rest_fallback_after_s,
        venue.rest_fallback_interval_s,
    ) == (10.0, 10.0, 2.0)


def test_every_bad_rest_polling_key_is_listed_with_its_path() -> None:
    keys = 'rest_poll_interval_s = 0\nrest_fallback_after_s = -1\nrest_fallback_interval_s = "1s"'

    with pytest.raises(ConfigError) as caught:
        parse(VENUE.format(keys=keys))

    assert caught.value.problems == (
        ConfigProblem("venues[0].rest_poll_interval_s", "must be greater than 0 seconds, got 0"),
        ConfigProblem("venues[0].rest_fallback_after_s", "must be at least 0 seconds, got -1"),
        ConfigProblem(
            "venues[0].rest_fallback_interval_s",
            "expected a number of seconds, got a string '1s'",
        ),
    )
